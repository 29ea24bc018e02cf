use actix_web::HttpResponse;
use gatehouse_api_types::{Account, Me, PasswordChange, Problem, ProfilePatch};

use crate::domain::accounts;
use crate::domain::authn::{record_failure, throttle_keys, Origin};
use crate::domain::password::Verified;
use crate::domain::throttle;
use crate::error::{Error, Result};
use crate::http::auth::Api;
use crate::http::extract::Json;

/// The caller: kind, ids, owner, grants and effective permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", operation_id = "get_me",
    responses((status = 200, body = Me)))]
pub async fn get(api: Api) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(api.context().await?.caller.to_me()))
}

/// An account edits its own profile (Bearer token of the account).
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", operation_id = "update_me", request_body = ProfilePatch,
    responses((status = 200, body = Account, headers(("ETag" = String, description = "The version of the resource, for If-Match"))), (status = 403, description = "Only an account (with its own Bearer token) has a profile", body = Problem)))]
pub async fn update(api: Api, body: Json<ProfilePatch>) -> Result<HttpResponse> {
    let patch = body.value;
    let account = api.write(move |conn, ctx| accounts::update_profile(conn, ctx, patch)).await?;
    Ok(crate::http::ok_with_etag(account.etag(), &account.to_api()))
}

/// An account changes its own password; the current one is required (and throttled like a
/// sign-in).
#[utoipa::path(put, path = "/api/v1/me/password", tag = "me", operation_id = "change_my_password", request_body = PasswordChange,
    responses((status = 204, description = "Changed"), (status = 403, description = "Only an account (with its own Bearer token) has a password", body = Problem)))]
pub async fn set_password(api: Api, body: Json<PasswordChange>) -> Result<HttpResponse> {
    let account = api.read(accounts::own).await?;
    let ctx = api.context().await?;
    let origin = Origin { ip: ctx.ip.clone(), request_id: Some(ctx.request_id.clone()) };
    let keys = throttle_keys(Some(throttle::account_key(account.id)), &origin);
    let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
    if let Some(retry_after) = api.state.db.run(move |conn| throttle::locked(conn, &names, crate::db::now())).await? {
        return Err(Error::TooManyRequests { retry_after });
    }
    let verified = api.state.hasher.verify(account.password_hash.clone(), body.value.current_password).await?;
    if !matches!(verified, Verified::Yes { .. }) {
        let (db, actor) = (api.state.db.clone(), ctx.caller.actor());
        api.state.db.run(move |conn| record_failure(conn, &db, &keys, &actor, &origin)).await?;
        return Err(Error::invalid("current_password", "is not your current password"));
    }
    let hash = api.state.hasher.hash(body.value.new_password).await?;
    let version = account.version;
    api.write(move |conn, ctx| accounts::change_own_password(conn, ctx, version, hash)).await?;
    Ok(HttpResponse::NoContent().finish())
}
