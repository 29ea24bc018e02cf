use actix_web::{web, HttpMessage, HttpResponse};
use gatehouse_api_types::openapi::ImportRow;
use gatehouse_api_types::{
    Account, AccountCreate, AccountPatch, ImportResult, Page, PasswordSet, Permissions, Problem, UserListParams,
};
use uuid::Uuid;

use super::params::{IdempotencyKey, IfMatch};
use crate::domain::accounts::{self, Search};
use crate::domain::idempotency::{self, Outcome, Reply};
use crate::domain::{grant_strings, import, parse_request_grants, Context, PageRequest, Precondition};
use crate::error::Result;
use crate::http::auth::{reply_response, Api};
use crate::http::extract::{request_digest, Json, Path, Query, IMPORT_LIMIT};
use crate::http::{created, ok_with_etag};
use crate::shell::read_body;

/// Accounts of a namespace in creation order; `q` searches by prefix of the username, email or
/// phone number (case-insensitive). Keyset paging.
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}/users",
    tag = "users",
    operation_id = "list_users",
    params(("ns" = String, Path, description = "A namespace slug"), UserListParams),
    responses((status = 200, body = Page<Account>), (status = 404, body = Problem))
)]
pub async fn list(api: Api, path: Path<String>, query: Query<UserListParams>) -> Result<HttpResponse> {
    let (ns, q) = (path.into_inner(), query.0);
    let page = PageRequest::new(q.page_size, q.page_token.as_deref())?;
    let search = Search { prefix: q.q, external_id: None, disabled: q.disabled };
    let (items, next_page_token) = api.read(move |conn, ctx| accounts::list(conn, ctx, &ns, &search, &page)).await?;
    Ok(HttpResponse::Ok().json(Page { items: items.iter().map(|a| a.to_api()).collect(), next_page_token }))
}

/// Creates an account (needs `users:write@<ns>`); the password, if given, is hashed with argon2id.
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{ns}/users",
    tag = "users",
    operation_id = "create_user",
    params(("ns" = String, Path, description = "A namespace slug"), IdempotencyKey),
    request_body = AccountCreate,
    responses(
        (
            status = 201,
            body = Account,
            headers(
                ("Location" = String, description = "The created resource"),
                ("ETag" = String, description = "The version of the resource, for If-Match")
            )
        ),
        (status = 404, body = Problem),
        (
            status = 409,
            description = "A sign-in name is taken, or a retry with this Idempotency-Key is still running",
            body = Problem
        ),
        (status = 422, description = "The Idempotency-Key was used with another request", body = Problem)
    )
)]
pub async fn create(api: Api, path: Path<String>, body: Json<AccountCreate>) -> Result<HttpResponse> {
    let ns = path.into_inner();
    api.context().await?.caller.authorize("users", "write", &ns)?;
    let mut input = body.value;
    let password_hash = match input.password.take() {
        Some(password) => Some(api.state.hasher.hash(password).await?),
        None => None,
    };
    let authorize = {
        let ns = ns.clone();
        move |_: &mut _, ctx: &Context| ctx.caller.authorize("users", "write", &ns)
    };
    api.create(body.digest, authorize, move |conn, ctx| {
        let account = accounts::create(conn, ctx, &ns, input.clone(), password_hash.clone())?;
        created(format!("/api/v1/namespaces/{ns}/users/{}", account.id), Some(account.etag()), &account.to_api())
    })
    .await
}

/// Creates many accounts from a JSON array or NDJSON (one object per line), up to 100,000
/// per request. Rows that fail are reported by index; the others are created.
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{ns}/users:import",
    tag = "users",
    operation_id = "import_users",
    params(("ns" = String, Path, description = "A namespace slug"), IdempotencyKey),
    request_body(
        content = Vec<ImportRow>,
        content_type = "application/json",
        description = "A JSON array of AccountImport rows; also application/x-ndjson, one row per line"
    ),
    responses(
        (status = 200, body = ImportResult),
        (status = 404, body = Problem),
        (status = 409, description = "A retry with this Idempotency-Key is still running", body = Problem),
        (status = 422, description = "The Idempotency-Key was used with another request", body = Problem)
    )
)]
pub async fn import(api: Api, path: Path<String>, payload: web::Payload) -> Result<HttpResponse> {
    let ns = path.into_inner();
    let ctx = api.context().await?;
    ctx.caller.authorize("users", "write", &ns)?;
    let body = read_body(&api.req, payload.into_inner(), IMPORT_LIMIT, &import::MEDIA_TYPES).await?;
    let claim = api.claim(&ctx, request_digest(&api.req, &body))?;
    if let Some(claim) = claim.clone() {
        if let Some(reply) = api.read(move |conn, _| idempotency::find(conn, &claim)).await? {
            return Ok(reply_response(Outcome::Replayed(reply)));
        }
    }
    let ndjson = api.req.content_type().contains("ndjson") || api.req.content_type().contains("jsonl");
    let rows = import::parse(&body, ndjson)?;
    let result = import::run(&api.state.db, &api.state.hasher, ctx, &ns, rows).await?;
    let reply = Reply {
        status: 200,
        location: None,
        etag: None,
        body: serde_json::to_vec(&result).map_err(crate::error::Error::internal)?,
    };
    if let Some(claim) = claim {
        let stored = reply.clone();
        api.state.db.write(move |conn| idempotency::remember(conn, &claim, &stored)).await?;
    }
    Ok(reply_response(Outcome::Fresh(reply)))
}

#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}/users/{id}",
    tag = "users",
    operation_id = "get_user",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The account id")
    ),
    responses(
        (
            status = 200,
            body = Account,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem)
    )
)]
pub async fn get(api: Api, path: Path<(String, Uuid)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let account = api.read(move |conn, ctx| accounts::get(conn, ctx, &ns, id)).await?;
    Ok(ok_with_etag(account.etag(), &account.to_api()))
}

/// JSON merge patch of the account's fields; `null` clears. Honours `If-Match`.
#[utoipa::path(
    patch,
    path = "/api/v1/namespaces/{ns}/users/{id}",
    tag = "users",
    operation_id = "update_user",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The account id"),
        IfMatch
    ),
    request_body = AccountPatch,
    responses(
        (
            status = 200,
            body = Account,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem),
        (status = 409, description = "A sign-in name is taken", body = Problem),
        (status = 412, body = Problem)
    )
)]
pub async fn update(api: Api, path: Path<(String, Uuid)>, body: Json<AccountPatch>) -> Result<HttpResponse> {
    let ((ns, id), patch, condition) = (path.into_inner(), body.value, api.if_match().await?);
    let account = api.write(move |conn, ctx| accounts::update(conn, ctx, &ns, id, patch, condition.as_ref())).await?;
    Ok(ok_with_etag(account.etag(), &account.to_api()))
}

/// Deletes the account; clients it owned stop working. Honours `If-Match`.
#[utoipa::path(
    delete,
    path = "/api/v1/namespaces/{ns}/users/{id}",
    tag = "users",
    operation_id = "delete_user",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The account id"),
        IfMatch
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem),
        (status = 409, body = Problem),
        (status = 412, body = Problem)
    )
)]
pub async fn delete(api: Api, path: Path<(String, Uuid)>) -> Result<HttpResponse> {
    let ((ns, id), condition) = (path.into_inner(), api.if_match().await?);
    api.write(move |conn, ctx| accounts::delete(conn, ctx, &ns, id, condition.as_ref())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets the account's password (needs `users:write@<ns>` and every grant the account holds); it
/// is signed out everywhere.
#[utoipa::path(
    put,
    path = "/api/v1/namespaces/{ns}/users/{id}/password",
    tag = "users",
    operation_id = "set_user_password",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The account id")
    ),
    request_body = PasswordSet,
    responses((status = 204, description = "Set"), (status = 404, body = Problem))
)]
pub async fn set_password(api: Api, path: Path<(String, Uuid)>, body: Json<PasswordSet>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    // Authorized (and the account's power checked) before the password is hashed.
    let checked = ns.clone();
    api.read(move |conn, ctx| accounts::check_set_password(conn, ctx, &checked, id).map(drop)).await?;
    let hash = api.state.hasher.hash(body.value.password).await?;
    api.write(move |conn, ctx| accounts::set_password(conn, ctx, &ns, id, hash)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}/users/{id}/permissions",
    tag = "users",
    operation_id = "get_user_permissions",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The account id")
    ),
    responses(
        (
            status = 200,
            body = Permissions,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem)
    )
)]
pub async fn permissions(api: Api, path: Path<(String, Uuid)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let account = api.read(move |conn, ctx| accounts::permissions(conn, ctx, &ns, id)).await?;
    Ok(ok_with_etag(account.etag(), &Permissions { permissions: grant_strings(&account.permissions) }))
}

/// Replaces the account's grants (needs `permissions:write@<ns>`, and every grant added or
/// removed must be held by the caller). Honours `If-Match`.
#[utoipa::path(
    put,
    path = "/api/v1/namespaces/{ns}/users/{id}/permissions",
    tag = "users",
    operation_id = "set_user_permissions",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The account id"),
        IfMatch
    ),
    request_body = Permissions,
    responses(
        (
            status = 200,
            body = Permissions,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem),
        (status = 412, body = Problem)
    )
)]
pub async fn set_permissions(api: Api, path: Path<(String, Uuid)>, body: Json<Permissions>) -> Result<HttpResponse> {
    let ((ns, id), condition) = (path.into_inner(), api.if_match().await?);
    let grants = parse_request_grants("permissions", &body.value.permissions)?;
    let account =
        api.write(move |conn, ctx| accounts::set_permissions(conn, ctx, &ns, id, grants, condition.as_ref())).await?;
    Ok(ok_with_etag(
        Precondition::etag(account.version),
        &Permissions { permissions: grant_strings(&account.permissions) },
    ))
}
