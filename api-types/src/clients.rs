//! API clients: their OAuth settings, secrets and effective permissions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use validator::Validate;

use crate::checks;
use crate::de::{nullable, nullable_whole_number, whole_number};
use crate::protocol::{self, GrantType, SigningAlg, TokenEndpointAuthMethod};

#[cfg(feature = "openapi")]
use crate::openapi;
#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Owner {
    pub account_id: Uuid,
    pub namespace: String,
    pub username: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Client {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    /// Null when the owning account was deleted; such a client cannot act.
    pub owner: Option<Owner>,
    pub permissions: Vec<String>,
    /// `permissions` met with the owner's grants right now.
    pub effective_permissions: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub password_grant_enabled: bool,
    pub user_namespace: Option<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` (an assertion signed with
    /// a key of `jwks` or `jwks_uri`), or `none` for a public client (PKCE only).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The client's public keys, as a JWK Set (`private_key_jwt`).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<Value>,
    /// Where the client publishes its JWK Set (`private_key_jwt`), fetched and cached by the server.
    pub jwks_uri: Option<String>,
    /// Access token lifetime in seconds (null: the server default, 300).
    pub access_token_ttl: Option<u32>,
    /// `RS256`, `ES256` or `EdDSA`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub access_token_alg: SigningAlg,
    pub post_logout_redirect_uris: Vec<String>,
    /// Account attributes released as ID token and UserInfo claims with the `profile` scope:
    /// `{"<claim>": "<attribute>"}`.
    pub attribute_claims: BTreeMap<String, String>,
    pub require_pkce: bool,
    /// A first-party application: its users are not asked to consent to what it asks for.
    pub skip_consent: bool,
    /// Its sign-in page offers self-registration into `user_namespace`.
    pub registration_enabled: bool,
    /// It may ask for hybrid `code id_token` responses (an ID token in the front channel).
    pub hybrid_enabled: bool,
    /// Its authorization requests must be pushed to `/oauth/par` first (RFC 9126).
    pub require_pushed_authorization_requests: bool,
    /// Its token requests must carry a DPoP proof (RFC 9449): its access and refresh tokens are
    /// always bound to the client's key.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Its authorization requests must come as request objects (RFC 9101) signed with a key of
    /// its `jwks` or `jwks_uri`, by value (`request`) or pushed to `/oauth/par`.
    #[serde(default)]
    pub require_signed_request_object: bool,
    /// Where logout tokens are POSTed when a sign-in session it received tokens in ends
    /// (OpenID Connect Back-Channel Logout 1.0).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in its logout tokens (Gatehouse always sends it).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The response that creates a client: the only one that ever carries its secret (none for a
/// public client).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClientCreated {
    #[serde(flatten)]
    pub client: Client,
    pub client_secret: Option<String>,
}

fn default_auth_method() -> TokenEndpointAuthMethod {
    TokenEndpointAuthMethod::ClientSecretBasic
}

fn default_access_token_alg() -> SigningAlg {
    SigningAlg::RS256
}

fn default_true() -> bool {
    true
}

fn default_grant_types() -> Vec<GrantType> {
    vec![GrantType::ClientCredentials]
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientCreate {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub name: String,
    #[serde(default)]
    #[validate(custom(function = "checks::grants"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<openapi::Grant>, max_items = 100))]
    pub permissions: Vec<String>,
    /// Default `["client_credentials"]`.
    #[serde(default = "default_grant_types", deserialize_with = "protocol::value_list")]
    pub grant_types: Vec<GrantType>,
    #[serde(default)]
    #[validate(custom(function = "checks::redirect_uris"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<openapi::RedirectUri>, max_items = 20))]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub password_grant_enabled: bool,
    /// The namespace whose accounts sign in through this client.
    #[validate(custom(function = "checks::namespace_slug"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z][a-z0-9-]{1,62}$"))]
    pub user_namespace: Option<String>,
    /// Another account to own the client (needs `clients:write@*` and `permissions:write@<its namespace>`).
    pub owner_account_id: Option<Uuid>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` (no secret: the
    /// client signs assertions with a key of `jwks` or `jwks_uri`), or `none` (a public client:
    /// no secret, PKCE required).
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The client's public keys as a JWK Set `{"keys": [...]}` (1 to 10 RSA, EC P-256 or Ed25519
    /// keys, each with a `kid`); for `private_key_jwt`, this or `jwks_uri`.
    #[serde(default)]
    #[validate(custom(function = "checks::jwks"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<Value>,
    /// Where the client publishes its JWK Set (https, or http to a loopback address).
    #[serde(default)]
    #[validate(custom(function = "checks::jwks_uri"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub jwks_uri: Option<String>,
    /// Seconds, 60 to 86400 (and never above the server's maximum).
    #[validate(range(min = 60, max = 86400, message = "must be between 60 and 86400 seconds"))]
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 86400))]
    #[serde(default, deserialize_with = "whole_number")]
    pub access_token_ttl: Option<u32>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    #[serde(default = "default_access_token_alg")]
    pub access_token_alg: SigningAlg,
    #[serde(default)]
    #[validate(custom(function = "checks::redirect_uris"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<openapi::RedirectUri>, max_items = 20))]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    #[validate(custom(function = "checks::attribute_claims"))]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, openapi::AttributeName>))]
    pub attribute_claims: BTreeMap<String, String>,
    #[serde(default = "default_true")]
    pub require_pkce: bool,
    /// A first-party application whose users are not asked to consent (needs `clients:write@*`).
    #[serde(default)]
    pub skip_consent: bool,
    /// Offer self-registration into `user_namespace` on the sign-in page (needs
    /// `users:write@<user_namespace>`; never into `system`).
    #[serde(default)]
    pub registration_enabled: bool,
    /// Allow hybrid `code id_token` responses (needs `clients:write@*`).
    #[serde(default)]
    pub hybrid_enabled: bool,
    /// Accept only pushed authorization requests (RFC 9126) from this client.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Refuse token requests without a DPoP proof (RFC 9449): every token is bound to a key.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Accept only signed request objects (RFC 9101) from this client (it needs `jwks` or
    /// `jwks_uri`).
    #[serde(default)]
    pub require_signed_request_object: bool,
    /// Where logout tokens are POSTed (https, or http to a loopback address).
    #[serde(default)]
    #[validate(custom(function = "checks::backchannel_logout_uri"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in its logout tokens.
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::grants"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<openapi::Grant>>, max_items = 100))]
    pub permissions: Option<Vec<String>>,
    #[serde(default, deserialize_with = "protocol::optional_value_list", skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<GrantType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::redirect_uris"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<openapi::RedirectUri>>, max_items = 20))]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_grant_enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::namespace_slug"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z][a-z0-9-]{1,62}$"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub user_namespace: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Transfers ownership (needs `clients:write@*` and `permissions:write@<new owner's namespace>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_account_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable_whole_number", skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 60, max = 86400, message = "must be between 60 and 86400 seconds"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 60, maximum = 86400))]
    pub access_token_ttl: Option<Option<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_alg: Option<SigningAlg>,
    /// Changes how a confidential client authenticates (`client_secret_basic`,
    /// `client_secret_post`, `private_key_jwt`); a client cannot become public (`none`) or stop
    /// being public. Moving to `private_key_jwt` ends the client's secrets at once; moving from
    /// it leaves the client without a secret until one is rotated in. Needs power over
    /// everything the client may do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    /// Replaces the client's JWK Set (null removes it): who changes a client's keys can act as
    /// the client, so this needs power over everything the client may do.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::jwks"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<Option<Value>>,
    /// Replaces the client's `jwks_uri` (null removes it); needs the same power as `jwks`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::jwks_uri"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 2000))]
    pub jwks_uri: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::redirect_uris"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<openapi::RedirectUri>>, max_items = 20))]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::attribute_claims"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BTreeMap<String, openapi::AttributeName>>))]
    pub attribute_claims: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pkce: Option<bool>,
    /// Turning it on needs `clients:write@*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_consent: Option<bool>,
    /// Turning it on needs `users:write@<user_namespace>`; never into `system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_enabled: Option<bool>,
    /// Turning it on needs `clients:write@*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hybrid_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_signed_request_object: Option<bool>,
    /// Replaces the client's `backchannel_logout_uri` (null removes it).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::backchannel_logout_uri"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 2000))]
    pub backchannel_logout_uri: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_required: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ClientListParams {
    /// `me` lists the caller's own clients; an account id lists that account's.
    #[validate(length(max = 64, message = "must be 'me' or an account id"))]
    #[cfg_attr(
        feature = "openapi",
        param(
            nullable = false,
            pattern = r"^(me|[0-9A-Fa-f]{32}|(urn:uuid:)?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\})$"
        )
    )]
    pub owner: Option<String>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<u32>,
    #[validate(length(max = 200, message = "is not a page token"))]
    #[cfg_attr(feature = "openapi", param(max_length = 200, nullable = false))]
    pub page_token: Option<String>,
}

pub const DEFAULT_SECRET_OVERLAP_SECONDS: u64 = 86_400;
pub const MAX_SECRET_OVERLAP_SECONDS: u64 = 30 * 86_400;

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecretRotate {
    /// How long the previous secret keeps working, in seconds (default 86400, `0` ends it now,
    /// at most 30 days).
    #[validate(range(max = 2592000, message = "must be between 0 and 2592000 seconds"))]
    #[cfg_attr(feature = "openapi", schema(maximum = 2592000))]
    #[serde(default, deserialize_with = "whole_number")]
    pub previous_secret_expires_in: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SecretRotated {
    pub client_id: String,
    pub client_secret: String,
    /// When the previous secret stops working; null when there was none.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DroppedGrant {
    pub grant: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EffectivePermissions {
    pub granted: Vec<String>,
    /// What the owner holds: its own grants and those of its groups.
    pub owner: Vec<String>,
    /// Where each grant of `owner` comes from (a grant held both directly and through groups
    /// is listed once for each).
    #[serde(default)]
    pub owner_sources: Vec<crate::GrantSource>,
    pub effective: Vec<String>,
    pub dropped: Vec<DroppedGrant>,
}
