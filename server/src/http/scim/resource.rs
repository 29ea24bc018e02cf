//! The handlers every SCIM resource type shares (RFC 7644 §3.3–3.6 over one collection): list
//! and `.search`, create, get, replace, patch and delete. A type says how its resources are
//! read, written as documents and changed ([`Resource`]: `users::Users`, `groups::Groups`); the
//! routes take `list::<Users>`, `get::<Groups>`, … Every change runs through the type's
//! [`Resource::apply`], the one function a Bulk operation calls too.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::Value;
use uuid::Uuid;

use super::filter::member;
use super::list::{Projection, Query};
use super::patch::Operation;
use super::{base_url, if_match, parse_id, read_json, respond, scim_error, version_tag, ScimType};
use crate::db::Conn;
use crate::domain::{Caller, Context, Precondition};
use crate::error::Result;
use crate::http::auth::Api;
use crate::http::extract::Path;

/// A change of one resource, as a request or a bulk operation asks for it.
pub enum Change {
    Create(Value),
    Replace(Uuid, Value),
    Patch(Uuid, Vec<Operation>),
    Delete(Uuid),
}

/// A SCIM resource type served through the domain.
pub trait Resource: 'static {
    /// The collection's path segment (`Users`).
    const COLLECTION: &'static str;
    /// What a missing one is called in a 404 (`user`).
    const NOUN: &'static str;
    /// A resource as read, with whatever its document needs.
    type Stored: Send + 'static;

    fn id(stored: &Self::Stored) -> Uuid;
    fn version(stored: &Self::Stored) -> i64;
    /// The resource's SCIM document as `caller` may see it; `base` is its namespace's SCIM URL.
    fn document(stored: &Self::Stored, base: &str, caller: &Caller) -> Value;
    /// One resource of namespace `ns` (the caller needs `users:read@<ns>`).
    fn get(conn: &mut Conn, ctx: &Context, ns: &str, id: Uuid) -> Result<Self::Stored>;
    /// The resources of `ns` the database reads for `query`: a superset of what it matches.
    fn read(conn: &mut Conn, ctx: &Context, ns: &str, query: &Query) -> Result<Vec<Self::Stored>>;
    /// Makes `change` through the domain in the caller's transaction; the resource after it
    /// (none once deleted).
    fn apply(
        conn: &mut Conn,
        ctx: &Context,
        ns: &str,
        base: &str,
        change: Change,
        condition: Option<&Precondition>,
    ) -> Result<Option<Self::Stored>>;
}

async fn query<R: Resource>(api: Api, ns: String, query: Query) -> Result<HttpResponse> {
    let base = base_url(&api.req, &ns);
    let ctx = api.context().await?;
    let read = query.clone();
    let found = api.read(move |conn, ctx| R::read(conn, ctx, &ns, &read)).await?;
    let docs = found.iter().map(|stored| R::document(stored, &base, &ctx.caller)).collect();
    Ok(respond(StatusCode::OK, &query.answer(docs), None, None))
}

pub async fn list<R: Resource>(api: Api, path: Path<String>) -> Result<HttpResponse> {
    api.context().await?;
    let parsed = Query::from_query(api.req.query_string())?;
    query::<R>(api, path.into_inner(), parsed).await
}

pub async fn search<R: Resource>(api: Api, path: Path<String>, payload: web::Payload) -> Result<HttpResponse> {
    let body = read_json(&api, payload).await?;
    let parsed = Query::from_search(&body)?;
    query::<R>(api, path.into_inner(), parsed).await
}

pub async fn get<R: Resource>(api: Api, path: Path<(String, String)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let ctx = api.context().await?;
    let projection = Projection::from_query(api.req.query_string())?;
    let id = parse_id(&id, R::NOUN)?;
    let base = base_url(&api.req, &ns);
    let stored = api.read(move |conn, ctx| R::get(conn, ctx, &ns, id)).await?;
    let doc = projection.apply(R::document(&stored, &base, &ctx.caller));
    Ok(respond(StatusCode::OK, &doc, Some(&version_tag(R::version(&stored))), None))
}

/// Runs `change` in one write transaction and answers it: the resource (`201` with its
/// `Location` when created), or `204` once deleted.
async fn answer_change<R: Resource>(
    api: Api,
    ns: String,
    change: Change,
    condition: Option<Precondition>,
) -> Result<HttpResponse> {
    let base = base_url(&api.req, &ns);
    let status = if matches!(change, Change::Create(_)) { StatusCode::CREATED } else { StatusCode::OK };
    let ctx = api.context().await?;
    let written = base.clone();
    let stored = api.write(move |conn, ctx| R::apply(conn, ctx, &ns, &written, change, condition.as_ref())).await?;
    let Some(stored) = stored else { return Ok(HttpResponse::NoContent().finish()) };
    let location = format!("{base}/{}/{}", R::COLLECTION, R::id(&stored));
    let created = status == StatusCode::CREATED;
    let doc = R::document(&stored, &base, &ctx.caller);
    Ok(respond(status, &doc, Some(&version_tag(R::version(&stored))), created.then_some(location.as_str())))
}

pub async fn create<R: Resource>(api: Api, path: Path<String>, payload: web::Payload) -> Result<HttpResponse> {
    let ns = path.into_inner();
    let body = read_json(&api, payload).await?;
    answer_change::<R>(api, ns, Change::Create(body), None).await
}

pub async fn replace<R: Resource>(
    api: Api,
    path: Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let body = read_json(&api, payload).await?;
    let id = parse_id(&id, R::NOUN)?;
    let condition = if_match(&api).await?;
    answer_change::<R>(api, ns, Change::Replace(id, body), condition).await
}

pub async fn patch<R: Resource>(api: Api, path: Path<(String, String)>, payload: web::Payload) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let body = read_json(&api, payload).await?;
    let operations = super::patch::parse_request(&body)?;
    let id = parse_id(&id, R::NOUN)?;
    let condition = if_match(&api).await?;
    answer_change::<R>(api, ns, Change::Patch(id, operations), condition).await
}

pub async fn delete<R: Resource>(api: Api, path: Path<(String, String)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    api.context().await?;
    let id = parse_id(&id, R::NOUN)?;
    let condition = if_match(&api).await?;
    answer_change::<R>(api, ns, Change::Delete(id), condition).await
}

/// `id` in a body names the resource of the path or nothing.
pub fn same_id(body: &Value, id: Uuid) -> Result<()> {
    match member(body, "id").and_then(Value::as_str) {
        Some(given) if given != id.to_string() => {
            Err(scim_error(ScimType::Mutability, "id is read-only and names this resource"))
        }
        _ => Ok(()),
    }
}
