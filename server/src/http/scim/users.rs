//! `/scim/v2/{ns}/Users`: accounts, through `domain::accounts` like the Management API's users
//! (the same grants, power checks and audit events: `user.create`, `user.update`,
//! `user.delete`). A `PATCH` is applied to the User document and then handled as a `PUT`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::filter::{self, ENTERPRISE_SCHEMA};
use super::list::{Narrowing, Projection, Query};
use super::user_doc::{self, UserState};
use super::{base_url, if_match, parse_id, read_json, respond, version_tag};
use crate::db::Conn;
use crate::domain::accounts::{self, Account, Search};
use crate::domain::{Caller, Context, PageRequest, Precondition};
use crate::error::{Error, Result};
use crate::http::auth::Api;
use crate::http::extract::Path;

/// The accounts of `namespace` that `narrowing` reads (the caller needs `users:read@<ns>`),
/// each once, in id order.
pub(super) fn read_accounts(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    narrowing: &Narrowing,
) -> Result<Vec<Account>> {
    let mut found = match narrowing {
        Narrowing::Everything => every(conn, ctx, namespace, Search::default())?,
        Narrowing::SignInPrefix(prefix) => {
            every(conn, ctx, namespace, Search { prefix: Some(prefix.clone()), ..Search::default() })?
        }
        Narrowing::ExternalId(external_id) => {
            every(conn, ctx, namespace, Search { external_id: Some(external_id.clone()), ..Search::default() })?
        }
        Narrowing::Id(id) => {
            ctx.caller.authorize("users", "read", namespace)?;
            match id.map(|id| accounts::get(conn, ctx, namespace, id)) {
                Some(Ok(account)) => vec![account],
                None | Some(Err(Error::NotFound(_))) => Vec::new(),
                Some(Err(other)) => return Err(other),
            }
        }
        Narrowing::Union(parts) => {
            let mut all = Vec::new();
            for part in parts {
                all.extend(read_accounts(conn, ctx, namespace, part)?);
            }
            all
        }
    };
    found.sort_by_key(|a| a.id);
    found.dedup_by_key(|a| a.id);
    Ok(found)
}

/// Every account of `namespace` that `search` finds, page by page.
fn every(conn: &mut Conn, ctx: &Context, namespace: &str, search: Search) -> Result<Vec<Account>> {
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

async fn query(api: Api, ns: String, query: Query) -> Result<HttpResponse> {
    let base = base_url(&api.req, &ns);
    let narrowing = query.narrowing();
    let ctx = api.context().await?;
    let accounts = api.read(move |conn, ctx| read_accounts(conn, ctx, &ns, &narrowing)).await?;
    let docs = accounts.iter().map(|a| user_doc::write(a, &base, &ctx.caller)).collect();
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

fn answer(account: &Account, base: &str, caller: &Caller, status: StatusCode) -> HttpResponse {
    let etag = version_tag(account.version);
    let location = format!("{base}/Users/{}", account.id);
    let created = status == StatusCode::CREATED;
    respond(status, &user_doc::write(account, base, caller), Some(&etag), created.then_some(location.as_str()))
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
            super::patch::refuse_read_only(&operations, user_doc::READ_ONLY)?;
            let mut doc = user_doc::write(&current, base, &ctx.caller);
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
    let ctx = api.context().await?;
    let account = api.write(move |conn, ctx| apply(conn, ctx, &ns, &written, change, condition.as_ref())).await?;
    Ok(match account {
        Some(account) => answer(&account, &base, &ctx.caller, status),
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
    let ctx = api.context().await?;
    let account = api.read(move |conn, ctx| accounts::get(conn, ctx, &ns, id)).await?;
    let doc = projection.apply(user_doc::write(&account, &base, &ctx.caller));
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
