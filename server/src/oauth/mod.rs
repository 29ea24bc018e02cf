//! The token service: OAuth 2.0 / OpenID Connect endpoints and hosted pages (its state,
//! [`crate::shell::OAuth`], and the signing keys, [`crate::domain::signing_keys`], live below).
//! Its endpoints answer errors in RFC 6749's shape (see [`error`]).

pub mod authorize;
pub mod bearer;
pub mod claims;
pub mod consent;
pub mod device;
pub mod device_page;
pub mod discovery;
pub mod endpoints;
pub mod error;
pub mod form;
pub mod issuance;
pub mod pages;
pub mod par;
pub mod passkey;
pub mod register;
pub mod request_object;
pub mod response;
pub mod scope;
pub mod second_factor;
pub mod session;
pub mod token_endpoint;
pub mod tokens;

pub use error::OAuthError;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Hosted forms and OAuth requests are small; their bodies are read whole before anyone is
    // authenticated, so bound them like the Management API's.
    cfg.app_data(web::PayloadConfig::new(crate::shell::BODY_LIMIT))
        .route("/.well-known/openid-configuration", web::get().to(discovery::configuration))
        .route("/oauth/jwks", web::get().to(discovery::jwks))
        .route("/oauth/token", web::post().to(token_endpoint::token))
        .route("/oauth/authorize", web::get().to(authorize::authorize_get))
        .route("/oauth/authorize", web::post().to(authorize::authorize_post))
        .route("/oauth/authorize/resume", web::get().to(authorize::resume))
        .route("/oauth/par", web::post().to(par::push))
        .route("/oauth/device_authorization", web::post().to(device::authorize_device))
        .route(device::VERIFICATION_PATH, web::get().to(device_page::code_form))
        .route(device::VERIFICATION_PATH, web::post().to(device_page::enter_code))
        .route("/oauth/login", web::post().to(authorize::login))
        .route("/oauth/mfa", web::post().to(second_factor::verify))
        .route("/oauth/mfa/enrol", web::post().to(second_factor::enrol))
        .route("/oauth/mfa/continue", web::post().to(second_factor::finish_enrolment))
        .route("/oauth/passkey/options", web::post().to(passkey::options))
        .route("/oauth/passkey", web::post().to(passkey::sign_in))
        .route("/oauth/passkey/registration-options", web::post().to(passkey::registration_options))
        .route("/oauth/passkey/enrol", web::post().to(passkey::enrol))
        .route("/oauth/assets/passkey.js", web::get().to(passkey::script))
        .route("/oauth/consent", web::post().to(consent::decide))
        .route("/oauth/assets/style.css", web::get().to(authorize::stylesheet))
        .route(response::FORM_POST_SCRIPT, web::get().to(response::form_post_script))
        .route("/oauth/userinfo", web::get().to(endpoints::userinfo))
        .route("/oauth/userinfo", web::post().to(endpoints::userinfo))
        .route("/oauth/revoke", web::post().to(endpoints::revoke))
        .route("/oauth/introspect", web::post().to(endpoints::introspect))
        .route("/oauth/logout", web::get().to(endpoints::logout))
        .route("/oauth/logout", web::post().to(endpoints::logout))
        .route("/oauth/register", web::get().to(register::register_form))
        .route("/oauth/register", web::post().to(register::register))
        .route("/oauth/verify", web::post().to(register::verify))
        .route("/oauth/reset", web::get().to(register::reset_form))
        .route("/oauth/reset", web::post().to(register::reset_request))
        .route("/oauth/reset/confirm", web::post().to(register::reset_confirm));
}
