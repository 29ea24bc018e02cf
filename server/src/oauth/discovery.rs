//! `/.well-known/openid-configuration` and the JWKS: every endpoint and supported value, as
//! they really are.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use gatehouse_api_types::GrantType::{AuthorizationCode, ClientCredentials, DeviceCode, Password, RefreshToken};
use gatehouse_api_types::TokenEndpointAuthMethod::{ClientSecretBasic, ClientSecretPost, PrivateKeyJwt};
use gatehouse_api_types::{ResponseMode, ResponseType, SigningAlg, TokenEndpointAuthMethod};
use serde_json::json;

use super::scope::NAMED_SCOPES;
use super::OAuthError;
use crate::domain::signing_keys::KeyStore;
use crate::shell::AppState;

pub async fn configuration(state: web::Data<AppState>) -> HttpResponse {
    let s = &state.oauth.settings;
    let mut scopes: Vec<&str> = NAMED_SCOPES.to_vec();
    scopes.push("<resource>:<action>@<namespace>");
    let assertion_algs: Vec<String> =
        crate::domain::client_assertion::ALGORITHMS.iter().map(|a| format!("{a:?}")).collect();
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(json!({
        "issuer": s.issuer,
        "authorization_endpoint": s.url("/oauth/authorize"),
        "token_endpoint": s.url("/oauth/token"),
        "userinfo_endpoint": s.url("/oauth/userinfo"),
        "jwks_uri": s.url("/oauth/jwks"),
        "end_session_endpoint": s.url("/oauth/logout"),
        "revocation_endpoint": s.url("/oauth/revoke"),
        "introspection_endpoint": s.url("/oauth/introspect"),
        "device_authorization_endpoint": s.url("/oauth/device_authorization"),
        "scopes_supported": scopes,
        "response_types_supported": ResponseType::ALL,
        "response_modes_supported": ResponseMode::ALL,
        "grant_types_supported": [AuthorizationCode, RefreshToken, ClientCredentials, Password, DeviceCode],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SigningAlg::RS256],
        "access_token_signing_alg_values_supported": SigningAlg::ALL,
        "token_endpoint_auth_methods_supported": TokenEndpointAuthMethod::ALL,
        "revocation_endpoint_auth_methods_supported": TokenEndpointAuthMethod::ALL,
        "introspection_endpoint_auth_methods_supported": [ClientSecretBasic, ClientSecretPost, PrivateKeyJwt],
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": crate::domain::dpop::ALGORITHM_NAMES,
        "prompt_values_supported": ["none", "login", "consent"],
        "acr_values_supported": [crate::domain::factors::ACR_PASSWORD, crate::domain::factors::ACR_MFA],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "c_hash", "s_hash", "sid", "amr", "acr",
            "name", "given_name", "family_name", "preferred_username", "updated_at",
            "email", "email_verified", "phone_number", "phone_number_verified"
        ],
        "claims_parameter_supported": true,
        "pushed_authorization_request_endpoint": s.url("/oauth/par"),
        "require_pushed_authorization_requests": s.require_par,
        "request_parameter_supported": true,
        "request_uri_parameter_supported": false,
        "request_object_signing_alg_values_supported": assertion_algs,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    }))
}

pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, OAuthError> {
    let keys = state.db.run(KeyStore::jwks).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .content_type("application/jwk-set+json")
        .json(keys))
}
