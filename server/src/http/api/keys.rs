use actix_web::HttpResponse;
use gatehouse_api_types::SigningKey;

use crate::domain::signing_keys::{rotation_event, KeyStore};
use crate::error::Result;
use crate::http::auth::Api;

fn to_api(keys: Vec<crate::domain::signing_keys::KeyInfo>) -> Vec<SigningKey> {
    keys.into_iter()
        .map(|k| SigningKey {
            kid: k.kid,
            alg: k.alg,
            state: k.state,
            created_at: k.created_at,
            activated_at: k.activated_at,
        })
        .collect()
}

/// The published signing keys (needs `keys:read@*`).
#[utoipa::path(
    get,
    path = "/api/v1/keys",
    tag = "keys",
    operation_id = "list_keys",
    responses((status = 200, body = Vec<SigningKey>))
)]
pub async fn list(api: Api) -> Result<HttpResponse> {
    let keys = api
        .read(|conn, ctx| {
            ctx.caller.authorize("keys", "read", "*")?;
            KeyStore::list(conn)
        })
        .await?;
    Ok(HttpResponse::Ok().json(to_api(keys)))
}

/// Rotates the signing keys of every algorithm (needs `keys:write@*`): next becomes current,
/// current becomes previous and keeps verifying what it signed, a new next is published.
#[utoipa::path(
    post,
    path = "/api/v1/keys:rotate",
    tag = "keys",
    operation_id = "rotate_keys",
    responses((status = 200, body = Vec<SigningKey>))
)]
pub async fn rotate(api: Api) -> Result<HttpResponse> {
    api.context().await?.caller.authorize("keys", "write", "*")?;
    let state = api.state.clone();
    let keys = api
        .read(move |conn, ctx| {
            state.oauth.keys.rotate(
                conn,
                &state.db,
                rotation_event(ctx.caller.actor()).request(Some(ctx.request_id.clone()), ctx.ip.clone()),
            )?;
            KeyStore::list(conn)
        })
        .await?;
    Ok(HttpResponse::Ok().json(to_api(keys)))
}
