//! Adding factors to the signed-in account: a passkey (a challenge, then the browser's answer;
//! ADR 0013) or an authenticator app (a secret and its QR code, then a first code). Listing,
//! renaming and removing are the factors' endpoints.

use actix_web::HttpResponse;
use gatehouse_api_types::{Factor, NewPasskey, NewTotp, PasskeyChallenge, Problem, TotpEnrolment};

use crate::domain::{passkeys, totp_enrolment};
use crate::error::Result;
use crate::http::auth::Api;
use crate::http::extract::Json;

/// Starts the registration of a passkey for the caller's own account: the options for
/// `navigator.credentials.create` (a discoverable credential, user verification required). Needs
/// a sign-in within the last 5 minutes; the challenge expires in 5 minutes and answers once.
#[utoipa::path(
    post,
    path = "/api/v1/me/passkey-registrations",
    tag = "me",
    operation_id = "start_my_passkey_registration",
    responses(
        (status = 201, body = PasskeyChallenge),
        (
            status = 403,
            description = "Not an account's own token with the `account` scope, or no sign-in within 5 minutes",
            body = Problem
        ),
        (status = 409, description = "Passkeys are off (the issuer's host is not a domain name)", body = Problem)
    )
)]
pub async fn begin_passkey(api: Api) -> Result<HttpResponse> {
    let state = api.state.clone();
    let challenge =
        api.write(move |conn, ctx| passkeys::begin_registration(conn, ctx, state.oauth.passkeys.as_ref())).await?;
    Ok(HttpResponse::Created().insert_header((actix_web::http::header::CACHE_CONTROL, "no-store")).json(
        PasskeyChallenge { id: challenge.ceremony, options: challenge.options, expires_at: challenge.expires_at },
    ))
}

/// Finishes a registration with the browser's answer: the new passkey, named.
#[utoipa::path(
    post,
    path = "/api/v1/me/passkeys",
    tag = "me",
    operation_id = "add_my_passkey",
    request_body = NewPasskey,
    responses(
        (status = 201, body = Factor),
        (status = 400, description = "No such registration, or the answer was not accepted", body = Problem),
        (status = 403, description = "Only an account's own token with the `account` scope", body = Problem),
        (status = 409, description = "The passkey is registered already, or passkeys are off", body = Problem)
    )
)]
pub async fn finish_passkey(api: Api, body: Json<NewPasskey>) -> Result<HttpResponse> {
    let state = api.state.clone();
    let new = body.value;
    let factor = api
        .write(move |conn, ctx| {
            passkeys::finish_registration(
                conn,
                ctx,
                state.oauth.passkeys.as_ref(),
                &new.registration_id,
                &new.name,
                &new.credential,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(factor.to_api()))
}

/// Starts adding an authenticator app to the caller's own account: a new secret, its
/// `otpauth://` URI and QR code (drawn by the server). Needs a sign-in within the last 5
/// minutes; confirmed by a first code within 5 minutes.
#[utoipa::path(
    post,
    path = "/api/v1/me/totp-enrolments",
    tag = "me",
    operation_id = "start_my_totp_enrolment",
    responses(
        (status = 201, body = TotpEnrolment),
        (
            status = 403,
            description = "Not an account's own token with the `account` scope, or no sign-in within 5 minutes",
            body = Problem
        )
    )
)]
pub async fn begin_totp(api: Api) -> Result<HttpResponse> {
    let state = api.state.clone();
    let e = api
        .write(move |conn, ctx| totp_enrolment::begin(conn, ctx, &state.oauth.master, &state.oauth.settings.issuer))
        .await?;
    Ok(HttpResponse::Created().insert_header((actix_web::http::header::CACHE_CONTROL, "no-store")).json(
        TotpEnrolment {
            id: e.id,
            secret: e.secret,
            otpauth_uri: e.otpauth_uri,
            qr_svg: e.qr_svg,
            expires_at: e.expires_at,
        },
    ))
}

/// Confirms an authenticator app with its first code: the new factor, named.
#[utoipa::path(
    post,
    path = "/api/v1/me/totp",
    tag = "me",
    operation_id = "add_my_totp",
    request_body = NewTotp,
    responses(
        (status = 201, body = Factor),
        (status = 400, description = "No such enrolment, or the code is not right", body = Problem),
        (
            status = 403,
            description = "Not an account's own token with the `account` scope, or no sign-in within 5 minutes",
            body = Problem
        )
    )
)]
pub async fn finish_totp(api: Api, body: Json<NewTotp>) -> Result<HttpResponse> {
    let state = api.state.clone();
    let new = body.value;
    let factor = api
        .write(move |conn, ctx| {
            totp_enrolment::finish(conn, ctx, &state.oauth.master, &new.enrolment_id, &new.name, &new.code)
        })
        .await?;
    Ok(HttpResponse::Created().json(factor.to_api()))
}
