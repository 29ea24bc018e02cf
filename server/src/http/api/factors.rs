//! Second factors: an administrator lists and removes an account's factors; an account lists,
//! renames and removes its own and regenerates its recovery codes. No answer carries a secret.

use actix_web::HttpResponse;
use gatehouse_api_types::{Factor, FactorPatch, Page, Problem, RecoveryCodes};
use uuid::Uuid;

use crate::domain::factors;
use crate::error::Result;
use crate::http::auth::Api;
use crate::http::extract::{Json, Path};

/// The account's second factors: kinds, names, when added and last used (never a secret).
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}/users/{id}/factors",
    tag = "users",
    operation_id = "list_user_factors",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The account id")
    ),
    responses((status = 200, body = Page<Factor>), (status = 404, body = Problem))
)]
pub async fn list(api: Api, path: Path<(String, Uuid)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let items = api.read(move |conn, ctx| factors::list_for_user(conn, ctx, &ns, id)).await?;
    Ok(HttpResponse::Ok().json(Page { items: items.iter().map(|f| f.to_api()).collect(), next_page_token: None }))
}

/// Removes a factor (needs `users:write@<ns>` and power over the account). The account is
/// signed out everywhere, as a password reset does; its recovery codes go with its last factor.
#[utoipa::path(
    delete,
    path = "/api/v1/namespaces/{ns}/users/{id}/factors/{factor_id}",
    tag = "users",
    operation_id = "delete_user_factor",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The account id"),
        ("factor_id" = Uuid, Path, description = "The factor id")
    ),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem))
)]
pub async fn delete(api: Api, path: Path<(String, Uuid, Uuid)>) -> Result<HttpResponse> {
    let (ns, id, factor) = path.into_inner();
    api.write(move |conn, ctx| factors::delete_for_user(conn, ctx, &ns, id, factor)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own second factors (an account's token with the `account` scope).
#[utoipa::path(
    get,
    path = "/api/v1/me/factors",
    tag = "me",
    operation_id = "list_my_factors",
    responses(
        (status = 200, body = Page<Factor>),
        (status = 403, description = "Only an account's own token with the `account` scope", body = Problem)
    )
)]
pub async fn list_own(api: Api) -> Result<HttpResponse> {
    let items = api.read(factors::list_own).await?;
    Ok(HttpResponse::Ok().json(Page { items: items.iter().map(|f| f.to_api()).collect(), next_page_token: None }))
}

/// Renames one of the caller's own factors.
#[utoipa::path(
    patch,
    path = "/api/v1/me/factors/{factor_id}",
    tag = "me",
    operation_id = "rename_my_factor",
    params(("factor_id" = Uuid, Path, description = "The factor id")),
    request_body = FactorPatch,
    responses(
        (status = 200, body = Factor),
        (status = 403, description = "Only an account's own token with the `account` scope", body = Problem),
        (status = 404, body = Problem)
    )
)]
pub async fn rename_own(api: Api, path: Path<Uuid>, body: Json<FactorPatch>) -> Result<HttpResponse> {
    let (factor, name) = (path.into_inner(), body.value.name);
    let renamed = api.write(move |conn, ctx| factors::rename_own(conn, ctx, factor, &name)).await?;
    Ok(HttpResponse::Ok().json(renamed.to_api()))
}

/// Removes one of the caller's own factors (its recovery codes go with its last one).
#[utoipa::path(
    delete,
    path = "/api/v1/me/factors/{factor_id}",
    tag = "me",
    operation_id = "delete_my_factor",
    params(("factor_id" = Uuid, Path, description = "The factor id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Only an account's own token with the `account` scope", body = Problem),
        (status = 404, body = Problem)
    )
)]
pub async fn delete_own(api: Api, path: Path<Uuid>) -> Result<HttpResponse> {
    let factor = path.into_inner();
    api.write(move |conn, ctx| factors::delete_own(conn, ctx, factor)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ten new recovery codes, shown this once; the old ones stop working. Needs a sign-in within
/// the last 5 minutes (the token's `auth_time`) and a factor.
#[utoipa::path(
    post,
    path = "/api/v1/me/recovery-codes",
    tag = "me",
    operation_id = "regenerate_my_recovery_codes",
    responses(
        (status = 200, body = RecoveryCodes),
        (
            status = 403,
            description = "Not an account's own token with the `account` scope, or no sign-in within 5 minutes",
            body = Problem
        ),
        (status = 409, description = "The account has no second factor", body = Problem)
    )
)]
pub async fn regenerate_recovery_codes(api: Api) -> Result<HttpResponse> {
    let state = api.state.clone();
    let codes =
        api.write(move |conn, ctx| factors::regenerate_own_recovery_codes(conn, ctx, &state.oauth.master)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(RecoveryCodes { codes }))
}
