//! The `request` parameter (JAR, RFC 9101) at `/oauth/authorize` and `/oauth/par`: the
//! authorization request comes as a JWT signed by the client ([`crate::domain::request_object`]
//! verifies it). Only its parameters count (§6.3): outer parameters that the request object
//! also holds must agree with it (openid-client sends `client_id` and `request` alone; a
//! relying party following OpenID Connect Core §6.1 repeats `response_type` and `scope`
//! unchanged), and outer parameters it does not hold are ignored. A refusal is
//! `invalid_request_object`, sent back to the application when the client is known and the
//! `redirect_uri` named (outside, or inside the unverified object) is registered for it, else
//! shown as a page; each is on record as an `oauth.request_object` failure.

use serde_json::{json, Value};

use super::authorize::{return_to, Refusal};
use super::form::Form;
use super::OAuthError;
use crate::db::ids::ClientId;
use crate::db::{self, Conn};
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::domain::authn::Origin;
use crate::domain::clients::{Client, ClientView};
use crate::domain::request_object;
use crate::error::Result;
use crate::shell::AppState;

pub const ERROR: &str = "invalid_request_object";

/// Outer parameters that are not part of the request object's authorization request.
const OUTER_ONLY: [&str; 5] = ["request", "client_id", "client_secret", "client_assertion", "client_assertion_type"];

/// A request object refused: how to answer, and the failure event for the audit log.
pub struct Refused {
    pub refusal: Refusal,
    pub event: NewEvent,
}

fn failure(client_id: Option<&str>, client: Option<&Client>, reason: &str, origin: &Origin) -> NewEvent {
    let mut event = NewEvent::new(Actor::anonymous(), "oauth.request_object")
        .outcome(Outcome::Failure)
        .request(origin.request_id.clone(), origin.ip.clone())
        .changes(
            json!({ "reason": reason, "client_id": client_id.map(|id| id.chars().take(100).collect::<String>()) }),
        );
    if let Some(client) = client {
        event = event.target("client", client.id);
    }
    event
}

/// The authorization request a front-channel `request` carries, for the client `client_id`
/// names: its parameters (with `client_id`), or why it is refused.
pub fn unpack(
    conn: &mut Conn,
    state: &AppState,
    form: &Form,
    origin: &Origin,
) -> Result<std::result::Result<Form, Refused>> {
    let jwt = form.get("request").unwrap_or_default();
    let claimed = request_object::unverified_claims(jwt);
    let claimed_iss = claimed.as_ref().and_then(|c| c.get("iss")).and_then(Value::as_str);
    let client_id = form.get("client_id").or(claimed_iss);
    let page = |message: &str, client: Option<&Client>| {
        Ok(Err(Refused {
            refusal: Refusal::Page(message.to_owned()),
            event: failure(client_id, client, message, origin),
        }))
    };
    let Some(id) = client_id else { return page("The request names no application (client_id is missing).", None) };
    let Some(view) = db::clients::get_by_client_id(conn, ClientId(id))? else {
        return page("The application is not known here.", None);
    };
    if !view.signs_users_in() {
        return page("The application is disabled.", Some(&view.client));
    }
    let accepted =
        request_object::accept(&state.db, conn, &state.client_keys, &view.client, jwt, &state.oauth.settings.issuer)?;
    let parameters = match accepted {
        Ok(parameters) => parameters,
        Err(reason) => {
            // Back to the application only at an address registered for it.
            let outer = Form::from_pairs(form.pairs().map(|(n, v)| (n.into(), v.into())).collect());
            let inner = claimed.as_ref().map(string_claims);
            let to = [inner.as_ref(), Some(&outer)].into_iter().flatten().find_map(|f| registered(&view, f));
            let refusal = match to {
                Some(to) => Refusal::Back { to, error: ERROR, description: reason.to_owned() },
                None => Refusal::Page(format!("The application's request object was refused: {reason}.")),
            };
            return Ok(Err(Refused { refusal, event: failure(client_id, Some(&view.client), reason, origin) }));
        }
    };
    let unpacked = Form::from_pairs(parameters);
    if let Some(name) = disagreement(form, &unpacked) {
        let reason = format!("the request object and the outer parameters disagree on {name}");
        let refusal = match registered(&view, &unpacked) {
            Some(to) => Refusal::Back { to, error: ERROR, description: reason.clone() },
            None => Refusal::Page(format!("The application's request was refused: {reason}.")),
        };
        return Ok(Err(Refused { refusal, event: failure(client_id, Some(&view.client), &reason, origin) }));
    }
    Ok(Ok(unpacked))
}

/// The parameters of a request object pushed to `/oauth/par` by the authenticated `client`
/// (the outer `client_id`, when given, was checked to be its). Refusals are recorded here.
pub async fn unpack_pushed(
    state: &actix_web::web::Data<AppState>,
    client_uuid: uuid::Uuid,
    form: &Form,
    origin: &Origin,
) -> std::result::Result<Form, OAuthError> {
    let worker = state.clone();
    let (jwt, outer, origin_) = (form.get("request").unwrap_or_default().to_owned(), form.clone(), origin.clone());
    let outcome = state
        .db
        .run(move |conn| {
            let Some(view) = db::clients::get(conn, db::ids::ClientUuid(client_uuid))? else {
                return Ok(Err(("the client is not known".to_owned(), None)));
            };
            let issuer = &worker.oauth.settings.issuer;
            let accepted = request_object::accept(&worker.db, conn, &worker.client_keys, &view.client, &jwt, issuer)?;
            let unpacked = match accepted {
                Ok(parameters) => Form::from_pairs(parameters),
                Err(reason) => return Ok(Err((reason.to_owned(), Some(view.client)))),
            };
            match disagreement(&outer, &unpacked) {
                Some(name) => Ok(Err((
                    format!("the request object and the outer parameters disagree on {name}"),
                    Some(view.client),
                ))),
                None => Ok(Ok(unpacked)),
            }
        })
        .await?;
    match outcome {
        Ok(unpacked) => Ok(unpacked),
        Err((reason, client)) => {
            let client_id = client.as_ref().map(|c| c.client_id.clone());
            let event = failure(client_id.as_deref(), client.as_ref(), &reason, &origin_);
            state.audit.record(vec![event]).await?;
            Err(OAuthError::new(ERROR, reason))
        }
    }
}

/// The first outer parameter whose value the request object contradicts.
fn disagreement<'a>(outer: &'a Form, unpacked: &Form) -> Option<&'a str> {
    outer
        .pairs()
        .filter(|(name, _)| !OUTER_ONLY.contains(name))
        .find(|(name, value)| unpacked.get(name).is_some_and(|inner| inner != *value))
        .map(|(name, _)| name)
}

/// The string claims of an unverified request object, as parameters.
fn string_claims(claims: &Value) -> Form {
    let pairs = claims
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| value.as_str().map(|v| (name.clone(), v.to_owned())))
        .take(64)
        .collect();
    Form::from_pairs(pairs)
}

/// Where to send `form`'s refusal: its `redirect_uri`, when it is registered for the client.
fn registered(view: &ClientView, form: &Form) -> Option<super::response::ReturnTo> {
    let uri = form.get("redirect_uri")?;
    view.client.redirect_uris.iter().any(|u| u == uri).then(|| return_to(form, uri))
}
