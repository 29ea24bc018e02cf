use actix_web::HttpResponse;
use gatehouse_api_types::{Account, Consent, Me, Page, PasswordChange, Problem, ProfilePatch};

use crate::domain::authn::{record_lockouts, throttle_keys, Origin};
use crate::domain::password::Verified;
use crate::domain::throttle;
use crate::domain::{accounts, consents};
use crate::error::{Error, Result};
use crate::http::auth::Api;
use crate::http::extract::{Json, Path};

/// The caller: kind, ids, owner, grants and effective permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", operation_id = "get_me", responses((status = 200, body = Me)))]
pub async fn get(api: Api) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(api.context().await?.caller.to_me()))
}

/// An account edits its own profile (Bearer token of the account).
#[utoipa::path(
    patch,
    path = "/api/v1/me",
    tag = "me",
    operation_id = "update_me",
    request_body = ProfilePatch,
    responses(
        (
            status = 200,
            body = Account,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 403, description = "Only an account (with its own Bearer token) has a profile", body = Problem)
    )
)]
pub async fn update(api: Api, body: Json<ProfilePatch>) -> Result<HttpResponse> {
    let patch = body.value;
    let account = api.write(move |conn, ctx| accounts::update_profile(conn, ctx, patch)).await?;
    Ok(crate::http::ok_with_etag(account.etag(), &account.to_api()))
}

/// An account changes its own password; the current one is required (and throttled like a
/// sign-in).
#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "me",
    operation_id = "change_my_password",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "Only an account (with its own Bearer token) has a password", body = Problem)
    )
)]
pub async fn set_password(api: Api, body: Json<PasswordChange>) -> Result<HttpResponse> {
    let account = api.read(accounts::own).await?;
    let ctx = api.context().await?;
    let origin = Origin { ip: ctx.ip.clone(), request_id: Some(ctx.request_id.clone()) };
    let keys = throttle_keys(throttle::account_key(account.id), &origin);
    let db = api.state.db.clone();
    let reserved =
        api.state.db.run_on(move || throttle::reserve(&mut *db.get()?, &db, &keys, crate::db::now())).await?;
    let reservation = reserved.map_err(|retry_after| Error::TooManyRequests { retry_after })?;
    let verified = api.state.hasher.verify(account.password_hash.clone(), body.value.current_password).await?;
    let (db, actor, counted) = (api.state.db.clone(), ctx.caller.actor(), reservation.clone());
    if !matches!(verified, Verified::Yes { .. }) {
        api.state.db.run_on(move || record_lockouts(&mut *db.get()?, &db, &counted, &actor, &origin)).await?;
        return Err(Error::invalid("current_password", "is not your current password"));
    }
    api.state.db.run_on(move || throttle::succeeded(&mut *db.get()?, &db, &counted)).await?;
    let hash = api.state.hasher.hash(body.value.new_password).await?;
    let version = account.version;
    api.write(move |conn, ctx| accounts::change_own_password(conn, ctx, version, hash)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The applications the account allowed (a token of the account with the `account` scope).
#[utoipa::path(
    get,
    path = "/api/v1/me/consents",
    tag = "me",
    operation_id = "list_my_consents",
    responses(
        (status = 200, body = Page<Consent>),
        (status = 403, description = "Only an account's own token with the `account` scope", body = Problem)
    )
)]
pub async fn consents(api: Api) -> Result<HttpResponse> {
    let items = api.read(consents::list).await?;
    Ok(HttpResponse::Ok().json(Page { items, next_page_token: None }))
}

/// Withdraws the consent given to an application (if any), and revokes the refresh tokens it
/// holds for the account.
#[utoipa::path(
    delete,
    path = "/api/v1/me/consents/{client_id}",
    tag = "me",
    operation_id = "withdraw_my_consent",
    params(("client_id" = String, Path, description = "The application's public client_id", max_length = 128)),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 403, description = "Only an account's own token with the `account` scope", body = Problem),
        (status = 404, description = "No application has this client_id", body = Problem)
    )
)]
pub async fn withdraw_consent(api: Api, path: Path<String>) -> Result<HttpResponse> {
    let client_id = path.into_inner();
    api.write(move |conn, ctx| consents::withdraw(conn, ctx, &client_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
