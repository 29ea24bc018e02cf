//! `/scim/v2/{ns}/Users`: accounts, through `domain::accounts` like the Management API's users
//! (the same grants, power checks and audit events: `user.create`, `user.update`,
//! `user.delete`). A `PATCH` is applied to the User document and then handled as a `PUT`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::filter::{self, CompValue, Filter, Op, ENTERPRISE_SCHEMA};
use super::list::{Projection, Query};
use super::user_doc::{self, UserState};
use super::{base_url, if_match, parse_id, read_json, respond, version_tag};
use crate::db::Conn;
use crate::domain::accounts::{self, Account, Search};
use crate::domain::{Context, PageRequest, Precondition};
use crate::error::Result;
use crate::http::auth::Api;
use crate::http::extract::Path;

/// Every account of `namespace` (the caller needs `users:read@<ns>`), narrowed to those whose
/// sign-in names start with `prefix` when the filter compares `userName` for equality.
pub(super) fn all_accounts(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    prefix: Option<String>,
) -> Result<Vec<Account>> {
    let search = Search { prefix, disabled: None };
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = PageRequest::new(Some(200), token.as_deref())?;
        let (items, next) = accounts::list(conn, ctx, namespace, &search, &page)?;
        all.extend(items);
        match next {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

/// `userName eq "…"` (alone or and-ed first): the accounts to read are those with that prefix.
fn user_name_prefix(filter: Option<&Filter>) -> Option<String> {
    match filter? {
        Filter::Compare(path, Op::Eq, CompValue::Str(name))
            if path.name.eq_ignore_ascii_case("userName")
                && path.sub.is_none()
                && path.uri.as_deref().is_none_or(filter::is_core) =>
        {
            Some(name.clone())
        }
        Filter::And(left, _) => user_name_prefix(Some(left)),
        _ => None,
    }
}

async fn query(api: Api, ns: String, query: Query) -> Result<HttpResponse> {
    let base = base_url(&api.req, &ns);
    let prefix = user_name_prefix(query.filter.as_ref());
    let accounts = api.read(move |conn, ctx| all_accounts(conn, ctx, &ns, prefix)).await?;
    let docs = accounts.iter().map(|a| user_doc::write(a, &base)).collect();
    Ok(respond(StatusCode::OK, &query.answer(docs), None, None))
}

pub async fn list(api: Api, path: Path<String>) -> Result<HttpResponse> {
    api.context().await?;
    let parsed = Query::from_query(api.req.query_string())?;
    query(api, path.into_inner(), parsed).await
}

pub async fn search(api: Api, path: Path<String>, payload: web::Payload) -> Result<HttpResponse> {
    let body = read_json(&api, payload).await?;
    let parsed = Query::from_search(&body)?;
    query(api, path.into_inner(), parsed).await
}

fn answer(account: &Account, base: &str, status: StatusCode) -> HttpResponse {
    let etag = version_tag(account.version);
    let location = format!("{base}/Users/{}", account.id);
    let created = status == StatusCode::CREATED;
    respond(status, &user_doc::write(account, base), Some(&etag), created.then_some(location.as_str()))
}

/// A change of one User, as a request or a bulk operation asks for it.
pub(super) enum Change {
    Create(Value),
    Replace(uuid::Uuid, Value),
    Patch(uuid::Uuid, Vec<super::patch::Operation>),
    Delete(uuid::Uuid),
}

/// Makes `change` through the domain, in the caller's transaction; the account after it (none
/// once deleted).
pub(super) fn apply(
    conn: &mut Conn,
    ctx: &Context,
    ns: &str,
    base: &str,
    change: Change,
    condition: Option<&Precondition>,
) -> Result<Option<Account>> {
    match change {
        Change::Create(body) => {
            let state = user_doc::read(&body, &serde_json::Map::new())?;
            accounts::create_with(conn, ctx, ns, state.create(false), None, Some(state.directory)).map(Some)
        }
        Change::Replace(id, body) => {
            same_id(&body, id)?;
            let current = accounts::get(conn, ctx, ns, id)?;
            let state = user_doc::read(&body, &current.attributes)?;
            store(conn, ctx, ns, id, &state, condition).map(Some)
        }
        Change::Patch(id, operations) => {
            let current = accounts::get(conn, ctx, ns, id)?;
            Precondition::check(condition, current.version)?;
            let mut doc = user_doc::write(&current, base);
            super::patch::apply(&mut doc, &operations, &[ENTERPRISE_SCHEMA], user_doc::KNOWN)?;
            same_id(&doc, id)?;
            let state = user_doc::read(&doc, &current.attributes)?;
            // Compared with the version read above: a change in between is a 412, not lost.
            let read_at = Precondition { any: false, etags: vec![Precondition::etag(current.version)] };
            store(conn, ctx, ns, id, &state, Some(&read_at)).map(Some)
        }
        Change::Delete(id) => accounts::delete(conn, ctx, ns, id, condition).map(|()| None),
    }
}

/// Runs `change` in one write transaction and answers it.
async fn answer_change(api: Api, ns: String, change: Change, condition: Option<Precondition>) -> Result<HttpResponse> {
    let base = base_url(&api.req, &ns);
    let status = if matches!(change, Change::Create(_)) { StatusCode::CREATED } else { StatusCode::OK };
    let written = base.clone();
    let account = api.write(move |conn, ctx| apply(conn, ctx, &ns, &written, change, condition.as_ref())).await?;
    Ok(match account {
        Some(account) => answer(&account, &base, status),
        None => HttpResponse::NoContent().finish(),
    })
}

pub async fn create(api: Api, path: Path<String>, payload: web::Payload) -> Result<HttpResponse> {
    let ns = path.into_inner();
    let body = read_json(&api, payload).await?;
    answer_change(api, ns, Change::Create(body), None).await
}

pub async fn get(api: Api, path: Path<(String, String)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    api.context().await?;
    let projection = Projection::from_query(api.req.query_string())?;
    let id = parse_id(&id, "user")?;
    let base = base_url(&api.req, &ns);
    let account = api.read(move |conn, ctx| accounts::get(conn, ctx, &ns, id)).await?;
    let doc = projection.apply(user_doc::write(&account, &base));
    Ok(respond(StatusCode::OK, &doc, Some(&version_tag(account.version)), None))
}

/// Writes `state` over account `id`, as the Management API's update does.
fn store(
    conn: &mut Conn,
    ctx: &Context,
    ns: &str,
    id: uuid::Uuid,
    state: &UserState,
    condition: Option<&Precondition>,
) -> Result<Account> {
    accounts::update_with(conn, ctx, ns, id, state.patch(), Some(state.directory.clone()), condition)
}

/// `id` in a body names the resource of the path or nothing.
fn same_id(body: &Value, id: uuid::Uuid) -> Result<()> {
    match filter::member(body, "id").and_then(Value::as_str) {
        Some(given) if given != id.to_string() => {
            Err(super::scim_error(super::ScimType::Mutability, "id is read-only and names this resource"))
        }
        _ => Ok(()),
    }
}

pub async fn replace(api: Api, path: Path<(String, String)>, payload: web::Payload) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let body = read_json(&api, payload).await?;
    let id = parse_id(&id, "user")?;
    let condition = if_match(&api).await?;
    answer_change(api, ns, Change::Replace(id, body), condition).await
}

pub async fn patch(api: Api, path: Path<(String, String)>, payload: web::Payload) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let body = read_json(&api, payload).await?;
    let operations = super::patch::parse_request(&body)?;
    let id = parse_id(&id, "user")?;
    let condition = if_match(&api).await?;
    answer_change(api, ns, Change::Patch(id, operations), condition).await
}

pub async fn delete(api: Api, path: Path<(String, String)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    api.context().await?;
    let id = parse_id(&id, "user")?;
    let condition = if_match(&api).await?;
    answer_change(api, ns, Change::Delete(id), condition).await
}
