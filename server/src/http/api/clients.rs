use actix_web::HttpResponse;
use chrono::Duration;
use gatehouse_api_types::{
    Client, ClientCreate, ClientCreated, ClientListParams, ClientPatch, EffectivePermissions, Page, Problem,
    SecretRotate, SecretRotated, DEFAULT_SECRET_OVERLAP_SECONDS,
};
use uuid::Uuid;

use super::params::{IdempotencyKey, IfMatch};
use crate::domain::clients::{self, OwnerFilter};
use crate::domain::idempotency::Reply;
use crate::domain::secrets::{self, generate_secret};
use crate::domain::PageRequest;
use crate::error::{Error, Result};
use crate::http::auth::Api;
use crate::http::extract::{Json, OptionalJson, Path, Query};
use crate::http::{created, ok_with_etag};

/// All clients (needs `clients:read@*`), or one owner's: `owner=me`, or an account id.
#[utoipa::path(
    get,
    path = "/api/v1/clients",
    tag = "clients",
    operation_id = "list_clients",
    params(ClientListParams),
    responses((status = 200, body = Page<Client>))
)]
pub async fn list(api: Api, query: Query<ClientListParams>) -> Result<HttpResponse> {
    let q = query.0;
    let page = PageRequest::new(q.page_size, q.page_token.as_deref())?;
    let owner = OwnerFilter::parse(q.owner.as_deref())?;
    let (items, next_page_token) = api.read(move |conn, ctx| clients::list(conn, ctx, owner, &page)).await?;
    Ok(HttpResponse::Ok().json(Page { items: items.iter().map(|c| c.to_api()).collect(), next_page_token }))
}

/// Creates a client (needs `clients:write@*`; its grants must be held by the creator). The
/// secret is in this response only.
#[utoipa::path(
    post,
    path = "/api/v1/clients",
    tag = "clients",
    operation_id = "create_client",
    request_body = ClientCreate,
    params(IdempotencyKey),
    responses(
        (
            status = 201,
            body = ClientCreated,
            headers(
                ("Location" = String, description = "The created resource"),
                ("ETag" = String, description = "The version of the resource, for If-Match")
            )
        ),
        (status = 409, description = "A retry with this Idempotency-Key is still running", body = Problem),
        (status = 422, description = "The Idempotency-Key was used with another request", body = Problem)
    )
)]
pub async fn create(api: Api, body: Json<ClientCreate>) -> Result<HttpResponse> {
    let input = body.value;
    // Authorized before the secret is hashed: hashing is what an attacker would make us spend.
    let checked = input.clone();
    api.read(move |conn, ctx| clients::authorize_create(conn, ctx, &checked).map(drop)).await?;
    let (secret, secret_hash) = if !input.token_endpoint_auth_method.uses_secret() {
        (None, None)
    } else {
        let secret = generate_secret();
        let hash = api.state.hasher.hash(secret.clone()).await?;
        (Some(secret), Some(hash))
    };
    let checked = input.clone();
    let authorize = move |conn: &mut _, ctx: &_| clients::authorize_create(conn, ctx, &checked).map(drop);
    api.create(body.digest, authorize, move |conn, ctx| {
        let view = clients::create(conn, ctx, input.clone(), secret_hash.clone())?;
        let location = format!("/api/v1/clients/{}", view.client.id);
        created(location, Some(view.etag()), &ClientCreated { client: view.to_api(), client_secret: secret.clone() })
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}",
    tag = "clients",
    operation_id = "get_client",
    params(("id" = Uuid, Path, description = "The client id (not its public client_id)")),
    responses(
        (
            status = 200,
            body = Client,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem)
    )
)]
pub async fn get(api: Api, path: Path<Uuid>) -> Result<HttpResponse> {
    let id = path.into_inner();
    let view = api.read(move |conn, ctx| clients::get(conn, ctx, id)).await?;
    Ok(ok_with_etag(view.etag(), &view.to_api()))
}

/// Changes a client. Owners may disable and re-enable their clients; everything else needs
/// `clients:write` over the owner's namespace. Grants added or removed must be held by the
/// caller; turning on the password grant or `skip_consent` needs `clients:write@*`,
/// `registration_enabled` `users:write@<user_namespace>`; a transfer (`owner_account_id`) needs
/// `permissions:write@<new owner's namespace>`. A change that routes the client's tokens
/// (redirect and logout URIs, grant types, authentication method, user namespace, PKCE,
/// consent, registration), transfers or re-enables it needs the caller to hold everything the
/// client may then do. Honours `If-Match`.
#[utoipa::path(
    patch,
    path = "/api/v1/clients/{id}",
    tag = "clients",
    operation_id = "update_client",
    params(("id" = Uuid, Path, description = "The client id (not its public client_id)"), IfMatch),
    request_body = ClientPatch,
    responses(
        (
            status = 200,
            body = Client,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem),
        (status = 412, body = Problem)
    )
)]
pub async fn update(api: Api, path: Path<Uuid>, body: Json<ClientPatch>) -> Result<HttpResponse> {
    let (id, patch, condition) = (path.into_inner(), body.value, api.if_match().await?);
    let view = api.write(move |conn, ctx| clients::update(conn, ctx, id, patch, condition.as_ref())).await?;
    Ok(ok_with_etag(view.etag(), &view.to_api()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/clients/{id}",
    tag = "clients",
    operation_id = "delete_client",
    params(("id" = Uuid, Path, description = "The client id (not its public client_id)"), IfMatch),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem), (status = 412, body = Problem))
)]
pub async fn delete(api: Api, path: Path<Uuid>) -> Result<HttpResponse> {
    let (id, condition) = (path.into_inner(), api.if_match().await?);
    api.write(move |conn, ctx| clients::delete(conn, ctx, id, condition.as_ref())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Issues a new secret, returned once. The previous secret keeps working for
/// `previous_secret_expires_in` seconds (default 86400; 0 ends it at once).
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/secrets",
    tag = "clients",
    operation_id = "rotate_client_secret",
    params(("id" = Uuid, Path, description = "The client id (not its public client_id)"), IdempotencyKey),
    request_body(content = Option<SecretRotate>, description = "Optional"),
    responses(
        (status = 201, body = SecretRotated),
        (status = 404, body = Problem),
        (status = 409, description = "A retry with this Idempotency-Key is still running", body = Problem),
        (status = 422, description = "The Idempotency-Key was used with another request", body = Problem)
    )
)]
pub async fn rotate_secret(api: Api, path: Path<Uuid>, body: OptionalJson<SecretRotate>) -> Result<HttpResponse> {
    let id = path.into_inner();
    let seconds = body.value.previous_secret_expires_in.unwrap_or(DEFAULT_SECRET_OVERLAP_SECONDS);
    let overlap = Duration::seconds(
        i64::try_from(seconds).map_err(|_| Error::invalid("previous_secret_expires_in", "is too large"))?,
    );
    // Authenticated and authorized before the new secret is hashed.
    let authorize = move |conn: &mut _, ctx: &_| secrets::authorize_rotation(conn, ctx, id).map(drop);
    api.read(authorize).await?;
    let secret = generate_secret();
    let secret_hash = api.state.hasher.hash(secret.clone()).await?;
    api.create(body.digest, authorize, move |conn, ctx| {
        let (view, previous_secret_expires_at) = secrets::rotate_secret(conn, ctx, id, secret_hash.clone(), overlap)?;
        let body = SecretRotated {
            client_id: view.client.client_id.clone(),
            client_secret: secret.clone(),
            previous_secret_expires_at,
        };
        // A secret is no versioned resource: no ETag (the client's is on its GET).
        Ok(Reply { status: 201, location: None, etag: None, body: serde_json::to_vec(&body).map_err(Error::internal)? })
    })
    .await
}

/// The client's grants, its owner's, the meet of both, and each dropped grant with the reason.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/effective-permissions",
    tag = "clients",
    operation_id = "get_client_effective_permissions",
    params(("id" = Uuid, Path, description = "The client id (not its public client_id)")),
    responses((status = 200, body = EffectivePermissions), (status = 404, body = Problem))
)]
pub async fn effective_permissions(api: Api, path: Path<Uuid>) -> Result<HttpResponse> {
    let id = path.into_inner();
    let effective = api.read(move |conn, ctx| clients::effective_permissions(conn, ctx, id)).await?;
    Ok(HttpResponse::Ok().json(effective))
}
