//! `POST /scim/v2/{ns}/Bulk` (RFC 7644 §3.7): many User and Group changes in one request, each
//! made exactly as its own request would be (the same domain call and grants, its own audit
//! event, a refusal on record), in order. Operations are committed in groups, each in its own
//! savepoint: one that fails undoes only its own work. `bulkId:<id>` in a path or anywhere in `data` names the
//! resource an earlier operation created; the request stops once `failOnErrors` operations
//! failed.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde_json::{json, Map, Value};

use super::filter::member;
use super::groups::Groups;
use super::resource::{Change, Resource};
use super::users::Users;
use super::{base_url, error_body, parse_id, respond, scim_error, version_tag, ScimType, SCIM_JSON};
use crate::db::{self, Conn};
use crate::domain::audit::{self, Outcome};
use crate::domain::{Context, Precondition};
use crate::error::{Error, Result};
use crate::http::auth::Api;
use crate::http::extract::Path;
use crate::shell::read_body;

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub const MAX_OPERATIONS: usize = 1000;
pub const MAX_PAYLOAD: usize = 1024 * 1024;
/// Operations made in one transaction, each in its own savepoint: PostgreSQL commits once per
/// hundred users, not once per user, and SQLite's write lock is held for one group at a time.
const OPERATIONS_PER_TRANSACTION: usize = 100;

/// Replaces each `bulkId:<id>` string in `value` by the id created for it.
fn resolve(value: &mut Value, created: &Map<String, Value>) -> Result<()> {
    match value {
        Value::String(text) => {
            if let Some(bulk_id) = text.strip_prefix("bulkId:") {
                let id = created.get(bulk_id).and_then(Value::as_str).ok_or_else(|| {
                    scim_error(ScimType::InvalidValue, format!("bulkId:{bulk_id} names no resource created before"))
                })?;
                *text = id.to_owned();
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| resolve(v, created)),
        Value::Object(members) => members.values_mut().try_for_each(|v| resolve(v, created)),
        _ => Ok(()),
    }
}

enum Kind {
    Users,
    Groups,
}

/// What one operation asks for: the resource kind and the change.
fn parse(op: &Value, created: &Map<String, Value>) -> Result<(Kind, Change, Option<Precondition>)> {
    let method = member(op, "method").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
    let mut path = member(op, "path").and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some((head, bulk_id)) = path.split_once("/bulkId:") {
        let id = created.get(bulk_id).and_then(Value::as_str).ok_or_else(|| {
            scim_error(ScimType::InvalidValue, format!("bulkId:{bulk_id} names no resource created before"))
        })?;
        path = format!("{head}/{id}");
    }
    let mut data = member(op, "data").cloned().unwrap_or(Value::Null);
    resolve(&mut data, created)?;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let kind = match segments.first().copied() {
        Some("Users") => Kind::Users,
        Some("Groups") => Kind::Groups,
        _ => return Err(scim_error(ScimType::InvalidPath, format!("`{path}` is not /Users or /Groups"))),
    };
    let id = match segments.as_slice() {
        [_] => None,
        [_, id] => Some(parse_id(id, "resource")?),
        _ => return Err(scim_error(ScimType::InvalidPath, format!("`{path}` is not a resource path"))),
    };
    let change = match (method.as_str(), id) {
        ("POST", None) if data.is_object() => Change::Create(data),
        ("PUT", Some(id)) if data.is_object() => Change::Replace(id, data),
        ("PATCH", Some(id)) => Change::Patch(id, super::patch::parse_request(&data)?),
        ("DELETE", Some(id)) => Change::Delete(id),
        _ => return Err(scim_error(ScimType::InvalidSyntax, format!("{method} {path} is not a bulk operation"))),
    };
    let condition = member(op, "version")
        .and_then(Value::as_str)
        .map(|v| Precondition { any: v == "*", etags: vec![v.strip_prefix("W/").unwrap_or(v).to_owned()] });
    Ok((kind, change, condition))
}

pub async fn bulk(api: Api, path: Path<String>, payload: web::Payload) -> Result<HttpResponse> {
    let ns = path.into_inner();
    api.context().await?;
    let body = read_body(&api.req, payload.into_inner(), MAX_PAYLOAD, &[SCIM_JSON, "application/json"]).await?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| scim_error(ScimType::InvalidSyntax, format!("the body is not JSON: {e}")))?;
    let schemas = member(&body, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|v| v == BULK_REQUEST_SCHEMA)) {
        return Err(scim_error(
            ScimType::InvalidSyntax,
            format!("a Bulk body's schemas must be [\"{BULK_REQUEST_SCHEMA}\"]"),
        ));
    }
    let Some(Value::Array(operations)) = member(&body, "Operations") else {
        return Err(scim_error(ScimType::InvalidSyntax, "a Bulk body needs an `Operations` array"));
    };
    if operations.len() > MAX_OPERATIONS {
        return Err(Error::PayloadTooLarge(format!("at most {MAX_OPERATIONS} operations")));
    }
    let fail_on_errors = match member(&body, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| scim_error(ScimType::InvalidValue, "failOnErrors must be a positive integer"))?,
        ),
    };
    let base = base_url(&api.req, &ns);
    let limit = fail_on_errors.unwrap_or(u64::MAX);
    let mut done = Done::default();
    for group in operations.chunks(OPERATIONS_PER_TRANSACTION) {
        if done.errors >= limit {
            break;
        }
        let (ns, base, group_ops) = (ns.clone(), base.clone(), group.to_vec());
        // The group starts from what earlier groups created and how many failed; its answers
        // join theirs only once its transaction commits.
        let mut group_done =
            Done { created: done.created.clone(), answers: Vec::with_capacity(group.len()), errors: done.errors };
        let written = api
            .write(move |conn, ctx| {
                for op in &group_ops {
                    if group_done.errors >= limit {
                        break;
                    }
                    one(conn, ctx, &ns, &base, op, &mut group_done)?;
                }
                Ok(group_done)
            })
            .await;
        match written {
            Ok(group_done) => {
                done.created = group_done.created;
                done.errors = group_done.errors;
                done.answers.extend(group_done.answers);
            }
            // The group's transaction failed as a whole (the database, not an operation): none of
            // its operations was made, each says why, and the request stops there.
            Err(error) => {
                let status = error.status_code();
                for op in group {
                    let mut answer = json!({ "method": method_of(op), "status": status.as_u16().to_string() });
                    if let Some(bulk_id) = member(op, "bulkId").and_then(Value::as_str) {
                        answer["bulkId"] = json!(bulk_id);
                    }
                    answer["response"] = error_body(status, Some(&error));
                    done.answers.push(answer);
                }
                break;
            }
        }
    }
    let body = json!({ "schemas": [BULK_RESPONSE_SCHEMA], "Operations": done.answers });
    Ok(respond(StatusCode::OK, &body, None, None))
}

/// What the operations so far made: the ids created for their `bulkId`s, their answers, and
/// how many failed.
#[derive(Default)]
struct Done {
    created: Map<String, Value>,
    answers: Vec<Value>,
    errors: u64,
}

fn method_of(op: &Value) -> String {
    member(op, "method").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase()
}

/// Makes one operation in a savepoint of the group's transaction and notes its answer. A
/// refused or failed operation undoes only its own work and is on record as the request alone
/// would have been (its action, outcome, missing grant or status), in the same transaction.
/// An error is returned only when the transaction itself can go no further.
fn one(conn: &mut Conn, ctx: &Context, ns: &str, base: &str, op: &Value, done: &mut Done) -> Result<()> {
    let method = method_of(op);
    let bulk_id = member(op, "bulkId").and_then(Value::as_str).map(str::to_owned);
    let parsed = parse(op, &done.created);
    let action = match &parsed {
        Ok((kind, change, _)) => Some((action_of(kind, change), target_of(kind, change))),
        Err(_) => None,
    };
    let outcome = parsed.and_then(|(kind, change, condition)| {
        let status = if matches!(change, Change::Create(_)) { StatusCode::CREATED } else { StatusCode::OK };
        db::savepoint(conn, |conn| match kind {
            Kind::Users => made::<Users>(conn, ctx, ns, base, change, condition.as_ref()),
            Kind::Groups => made::<Groups>(conn, ctx, ns, base, change, condition.as_ref()),
        })
        .map(|made| made.map(|made| (status, made)))
    });
    let mut answer = json!({ "method": method });
    if let Some(bulk_id) = &bulk_id {
        answer["bulkId"] = json!(bulk_id);
    }
    match outcome {
        Ok(Some((status, (location, id, version)))) => {
            if let Some(bulk_id) = &bulk_id {
                done.created.insert(bulk_id.clone(), json!(id));
            }
            answer["location"] = json!(location);
            answer["version"] = json!(version_tag(version));
            answer["status"] = json!(status.as_u16().to_string());
        }
        Ok(None) => answer["status"] = json!("204"),
        Err(error) => {
            if !error.is_refusal() {
                return Err(error);
            }
            done.errors += 1;
            let status = error.status_code();
            answer["status"] = json!(status.as_u16().to_string());
            answer["response"] = error_body(status, Some(&error));
            let (action, target) = action.unwrap_or(("scim.bulk", None));
            let mut event = ctx.event(action).namespace(ns).outcome(if status == StatusCode::FORBIDDEN {
                Outcome::Denied
            } else {
                Outcome::Failure
            });
            if let Some(id) = target {
                event = event.target(if action.starts_with("group") { "group" } else { "account" }, id);
            }
            event = match &error {
                Error::Forbidden { detail, missing } => {
                    event.changes(json!({ "missing_grant": missing, "detail": detail }))
                }
                other => event.changes(
                    json!({ "status": status.as_u16(), "detail": other.to_problem().detail, "bulk_id": bulk_id }),
                ),
            };
            audit::append(conn, vec![event])?;
        }
    }
    done.answers.push(answer);
    Ok(())
}

/// Makes `change` to a resource of type `R`: its location, id and version after it (none once
/// deleted).
fn made<R: Resource>(
    conn: &mut Conn,
    ctx: &Context,
    ns: &str,
    base: &str,
    change: Change,
    condition: Option<&Precondition>,
) -> Result<Option<(String, uuid::Uuid, i64)>> {
    Ok(R::apply(conn, ctx, ns, base, change, condition)?.map(|stored| {
        let id = R::id(&stored);
        (format!("{base}/{}/{id}", R::COLLECTION), id, R::version(&stored))
    }))
}

/// The audit action of an operation: the one its own request would be recorded under.
fn action_of(kind: &Kind, change: &Change) -> &'static str {
    match (kind, change) {
        (Kind::Users, Change::Create(_)) => "user.create",
        (Kind::Users, Change::Replace(..) | Change::Patch(..)) => "user.update",
        (Kind::Users, Change::Delete(_)) => "user.delete",
        (Kind::Groups, Change::Create(_)) => "group.create",
        (Kind::Groups, Change::Replace(..) | Change::Patch(..)) => "group.update",
        (Kind::Groups, Change::Delete(_)) => "group.delete",
    }
}

fn target_of(_: &Kind, change: &Change) -> Option<uuid::Uuid> {
    match change {
        Change::Create(_) => None,
        Change::Replace(id, _) | Change::Patch(id, _) | Change::Delete(id) => Some(*id),
    }
}
