//! Around every Management API request: its audit event, unless the change it made recorded its
//! own in its transaction.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use serde_json::json;

use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::error::Error;
use crate::shell::{client_ip, AppState, AuthRecord, RequestId};

/// Records the request's audit event before the response goes out (ADR 0003): a refusal, failure
/// or replay committed by the group-committing writer, a successful read as `--audit-reads`
/// says (by default counted in its minute's access summary). Successful changes are skipped:
/// they append their own event in the transaction that makes them.
pub async fn audit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let Some(auth) = res.request().extensions().get::<AuthRecord>().cloned() else {
        // No authentication was attempted: a public or unknown route.
        return Ok(res);
    };
    let method = res.request().method().clone();
    let status = res.status();
    let replayed = res.headers().contains_key("idempotent-replayed");
    let is_change = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if is_change && status.is_success() && !replayed {
        return Ok(res);
    }
    let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() else { return Ok(res) };

    let (actor, verified_now, reason, bearer, presented) = match &auth {
        AuthRecord::Accepted { actor, verified_now } => (actor.clone(), *verified_now, None, false, None),
        AuthRecord::Rejected { reason, actor, bearer, client_id } => {
            (actor.clone().unwrap_or_else(Actor::anonymous), false, Some(*reason), *bearer, client_id.clone())
        }
    };
    let request_id = res.request().extensions().get::<RequestId>().map(|r| r.0.clone());
    let ip = client_ip(res.request(), state.trust_forwarded_for);
    let error = res.response().error().and_then(|e| e.as_error::<Error>());

    let mut events = Vec::new();
    if verified_now {
        events.push(NewEvent::new(actor.clone(), "auth.basic.success").request(request_id.clone(), ip.clone()));
    }
    let quiet_read = !is_change && status.is_success() && reason.is_none() && !replayed;
    if quiet_read {
        let read = described(NewEvent::new(actor, &action_of(route(&res), &method)), &res);
        let recorded = match state.audit.record(events).await {
            Ok(()) => state.audit.read(read.request(request_id, ip)).await,
            Err(e) => Err(e),
        };
        return answer_once_recorded(res, recorded);
    }
    let event = if let Some(reason) = reason {
        let outcome = if status == StatusCode::TOO_MANY_REQUESTS { Outcome::Denied } else { Outcome::Failure };
        let action = if bearer { "auth.bearer.failure" } else { "auth.basic.failure" };
        let changes = match presented {
            Some(client_id) => json!({ "reason": reason, "client_id": client_id }),
            None => json!({ "reason": reason }),
        };
        NewEvent::new(actor, action).outcome(outcome).changes(changes)
    } else {
        let mut event = described(NewEvent::new(actor, &action_of(route(&res), &method)), &res);
        let outcome = match status {
            s if s.is_success() => Outcome::Success,
            StatusCode::FORBIDDEN => Outcome::Denied,
            _ => Outcome::Failure,
        };
        event = event.outcome(outcome);
        match (error, replayed) {
            (_, true) => event.changes(json!({ "idempotent_replay": true })),
            (Some(Error::Forbidden { detail, missing }), _) => {
                event.changes(json!({ "missing_grant": missing, "detail": detail }))
            }
            (Some(e), _) => event.changes(json!({ "status": status.as_u16(), "detail": e.to_problem().detail })),
            (None, _) => event,
        }
    };
    events.push(event.request(request_id, ip));
    let recorded = state.audit.record(events).await;
    answer_once_recorded(res, recorded)
}

fn route(res: &ServiceResponse<actix_web::body::BoxBody>) -> &str {
    match crate::shell::route(res.request()) {
        Some(route) => route.name,
        None => res.request().match_name().unwrap_or("unknown"),
    }
}

/// The namespace and target of the request's route.
fn described(mut event: NewEvent, res: &ServiceResponse<actix_web::body::BoxBody>) -> NewEvent {
    let info = res.request().match_info();
    if let Some(ns) = info.get("ns") {
        event = event.namespace(ns);
    }
    if let Some((kind, id)) = target_of(route(res), info.get("ns"), info.get("id")) {
        event = event.target(kind, id);
    }
    event
}

/// The response, or, when its audit events could not be recorded, a refusal in its place.
fn answer_once_recorded(
    res: ServiceResponse<actix_web::body::BoxBody>,
    recorded: crate::error::Result<()>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    match recorded {
        Ok(()) => Ok(res),
        Err(e) => {
            log::error!("audit event lost, refusing the response: {e}");
            let (req, _) = res.into_parts();
            Ok(ServiceResponse::new(req, e.error_response()))
        }
    }
}

/// The audit action of a request to a named route.
fn action_of(route: &str, method: &Method) -> String {
    let verb = match *method {
        Method::GET | Method::HEAD => "read",
        Method::POST => "create",
        Method::PUT => "set",
        Method::PATCH => "update",
        Method::DELETE => "delete",
        _ => "request",
    };
    let action = match (route, verb) {
        ("namespaces", "read") => "namespace.list",
        ("users", "read") => "user.list",
        ("clients", "read") => "client.list",
        ("audit_events", _) => "audit.list",
        ("audit_export", _) => "audit.export",
        ("audit_keys", _) => "audit.keys.list",
        ("log_streams", "read") => "log_stream.list",
        ("me", "read") => "me.read",
        ("me", _) => "user.profile.update",
        ("me_password", _) => "user.password.change",
        ("me_consents", _) => "user.consent.list",
        ("me_consent", _) => "user.consent.withdraw",
        ("keys", _) => "keys.list",
        ("keys_rotate", _) => "keys.rotate",
        ("users_import", _) => "user.import",
        ("client_secrets", _) => "client.secret.rotate",
        ("client_effective_permissions", _) => "client.permissions.read",
        ("user_password", _) => "user.password.set",
        ("user_permissions", "read") => "user.permissions.read",
        ("user_groups", _) => "user.groups.list",
        ("groups", "read") => "group.list",
        ("group_permissions", "read") => "group.permissions.read",
        ("group_permissions", _) => "group.permissions.set",
        ("group_members", _) => "group.member.list",
        ("group_member", "set") => "group.member.add",
        ("group_member", _) => "group.member.remove",
        ("user_permissions", _) => "user.permissions.set",
        // SCIM (ADR 0018): the same actions as the Management API's for the same resources.
        ("scim_users", "read") | ("scim_users_search", _) => "user.list",
        ("scim_users", _) => "user.create",
        ("scim_user", "set") => "user.update",
        ("scim_user", verb) => return format!("user.{verb}"),
        ("scim_groups", "read") | ("scim_groups_search", _) => "group.list",
        ("scim_groups", _) => "group.create",
        ("scim_group", "set") => "group.update",
        ("scim_group", verb) => return format!("group.{verb}"),
        ("scim_search", _) => "scim.search",
        ("scim_bulk", _) => "scim.bulk",
        (r, _) if r.starts_with("scim_discovery") => "scim.discovery.read",
        ("namespaces" | "namespace", verb) => return format!("namespace.{verb}"),
        ("users" | "user", verb) => return format!("user.{verb}"),
        ("clients" | "client", verb) => return format!("client.{verb}"),
        ("groups" | "group", verb) => return format!("group.{verb}"),
        ("log_streams" | "log_stream", verb) => return format!("log_stream.{verb}"),
        (other, verb) => return format!("{other}.{verb}"),
    };
    action.to_owned()
}

fn target_of<'a>(route: &str, ns: Option<&'a str>, id: Option<&'a str>) -> Option<(&'static str, &'a str)> {
    match (route, ns, id) {
        (r, _, Some(id)) if r.starts_with("client") => Some(("client", id)),
        (r, _, Some(id)) if r.starts_with("log_stream") => Some(("log_stream", id)),
        (r, _, Some(id)) if r.starts_with("group") || r == "scim_group" => Some(("group", id)),
        (_, _, Some(id)) => Some(("account", id)),
        ("namespace", Some(ns), None) => Some(("namespace", ns)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_audit_actions() {
        assert_eq!(action_of("user", &Method::GET), "user.read");
        assert_eq!(action_of("users", &Method::GET), "user.list");
        assert_eq!(action_of("users", &Method::POST), "user.create");
        assert_eq!(action_of("client_secrets", &Method::POST), "client.secret.rotate");
        assert_eq!(action_of("namespace", &Method::DELETE), "namespace.delete");
        assert_eq!(action_of("log_streams", &Method::GET), "log_stream.list");
        assert_eq!(action_of("log_stream", &Method::PATCH), "log_stream.update");
        assert_eq!(action_of("audit_export", &Method::GET), "audit.export");
        assert_eq!(target_of("log_stream", None, Some("s1")), Some(("log_stream", "s1")));
        assert_eq!(action_of("group_member", &Method::PUT), "group.member.add");
        assert_eq!(action_of("group", &Method::PATCH), "group.update");
        assert_eq!(target_of("group_members", Some("ns"), Some("g1")), Some(("group", "g1")));
        assert_eq!(action_of("scim_users", &Method::GET), "user.list");
        assert_eq!(action_of("scim_users_search", &Method::POST), "user.list");
        assert_eq!(action_of("scim_users", &Method::POST), "user.create");
        assert_eq!(action_of("scim_user", &Method::PUT), "user.update");
        assert_eq!(action_of("scim_user", &Method::PATCH), "user.update");
        assert_eq!(action_of("scim_group", &Method::DELETE), "group.delete");
        assert_eq!(action_of("scim_discovery_schemas", &Method::GET), "scim.discovery.read");
        assert_eq!(target_of("scim_group", Some("ns"), Some("g1")), Some(("group", "g1")));
        assert_eq!(target_of("scim_user", Some("ns"), Some("u1")), Some(("account", "u1")));
    }
}
