//! Request and response types of the Gatehouse Management API.
//!
//! Shared by the server (which derives the OpenAPI document from them) and the console (which
//! sends and receives exactly these types). Nothing here depends on a web framework or a
//! database, so the crate builds for `wasm32-unknown-unknown`.

pub mod checks;
pub mod field_errors;
pub mod grant;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod protocol;

pub use protocol::{GrantType, KeyState, SigningAlg, TokenEndpointAuthMethod, UnknownValue};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;
use validator::Validate;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// Deserializes a field that distinguishes "absent" (`None`) from "null" (`Some(None)`), as
/// JSON merge patch does: absent leaves a value unchanged, null clears it.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A whole number as JSON Schema's `integer` has it: `60`, and also `60.0` or `6e1` (a number
/// with no fractional part), as some JSON encoders write them.
fn whole_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else { return Ok(None) };
    let whole = number.as_u64().or_else(|| {
        number.as_f64().filter(|f| f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(f)).map(|f| f as u64)
    });
    match whole.map(T::try_from) {
        Some(Ok(value)) => Ok(Some(value)),
        Some(Err(_)) => Err(D::Error::custom(format!("invalid value: {number}, it is too large"))),
        None => Err(D::Error::custom(format!("invalid value: {number}, expected a whole number of at least 0"))),
    }
}

/// [`whole_number`] in a merge patch: absent (`None`), `null` (`Some(None)`) or a number.
fn nullable_whole_number<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    whole_number(deserializer).map(Some)
}

// ---------------------------------------------------------------- problems and pages

/// An RFC 9457 problem document; every 4xx and 5xx of `/api/v1` has this shape.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Field-level validation errors (400 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// The grant that was missing (403 only), e.g. `users:write@customers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_grant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// One page of a list. `next_page_token` is opaque; pass it as `page_token` for the next page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1 to 200, default 50.
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<u32>,
    /// The `next_page_token` of the previous page.
    #[validate(length(max = 200, message = "is not a page token"))]
    #[cfg_attr(feature = "openapi", param(max_length = 200, nullable = false))]
    pub page_token: Option<String>,
}

// ---------------------------------------------------------------- namespaces

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Namespace {
    pub slug: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NamespaceCreate {
    #[validate(custom(function = "checks::namespace_slug"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z][a-z0-9-]{1,62}$"))]
    pub slug: String,
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub display_name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NamespacePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub display_name: Option<String>,
}

// ---------------------------------------------------------------- accounts

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Account {
    pub id: Uuid,
    pub namespace: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    /// E.164.
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: Map<String, Value>,
    pub disabled: bool,
    /// Whether a password is set (the password and its hash are never returned).
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountCreate {
    #[validate(custom(function = "checks::username"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@+][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@]*$"
        )
    )]
    pub username: Option<String>,
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[validate(custom(function = "checks::phone_number"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^\+[1-9][0-9]{6,14}$"))]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub phone_number_verified: bool,
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub name: Option<String>,
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub given_name: Option<String>,
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub family_name: Option<String>,
    #[validate(custom(function = "checks::attributes"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub attributes: Option<Map<String, Value>>,
    #[serde(default)]
    pub disabled: bool,
    #[validate(custom(function = "checks::password"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 8,
            max_length = 256,
            pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub password: Option<String>,
}

/// A JSON merge patch of an account: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::username"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@+][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@]*$"
        )
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub username: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub email: Option<Option<String>>,
    /// Changing `email` without setting this resets it to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::phone_number"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^\+[1-9][0-9]{6,14}$"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub phone_number: Option<Option<String>>,
    /// Changing `phone_number` without setting this resets it to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub family_name: Option<Option<String>>,
    /// Replaces all attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "checks::attributes"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub attributes: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordSet {
    #[validate(custom(function = "checks::password"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 8,
            max_length = 256,
            pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub password: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct UserListParams {
    /// Prefix of the username, email or phone number (case-insensitive).
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters"))]
    #[cfg_attr(feature = "openapi", param(min_length = 1, max_length = 254, nullable = false))]
    pub q: Option<String>,
    /// Only disabled (`true`) or only enabled (`false`) accounts.
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub disabled: Option<bool>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<u32>,
    #[validate(length(max = 200, message = "is not a page token"))]
    #[cfg_attr(feature = "openapi", param(max_length = 200, nullable = false))]
    pub page_token: Option<String>,
}

/// One row of a bulk import. `password` is a plain password (hashed on import, which costs
/// tens of milliseconds each); `password_hash` is a PHC string (`$argon2id$…`, `$2b$…`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountImport {
    #[validate(custom(function = "checks::username"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@+][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@]*$"
        )
    )]
    pub username: Option<String>,
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[validate(custom(function = "checks::phone_number"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^\+[1-9][0-9]{6,14}$"))]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub phone_number_verified: bool,
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub name: Option<String>,
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub given_name: Option<String>,
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub family_name: Option<String>,
    #[validate(custom(function = "checks::attributes"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub attributes: Option<Map<String, Value>>,
    #[serde(default)]
    pub disabled: bool,
    #[validate(custom(function = "checks::password"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 8,
            max_length = 256,
            pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub password: Option<String>,
    #[validate(length(max = 512, message = "must be at most 512 characters"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 512))]
    pub password_hash: Option<String>,
}

impl AccountImport {
    /// The account fields of this row, without its password material.
    pub fn account(&self) -> AccountCreate {
        AccountCreate {
            username: self.username.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            phone_number: self.phone_number.clone(),
            phone_number_verified: self.phone_number_verified,
            name: self.name.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            attributes: self.attributes.clone(),
            disabled: self.disabled,
            password: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportResult {
    pub created: u64,
    pub failed: u64,
    /// One entry per rejected row; `index` is the row's 0-based position in the input.
    pub errors: Vec<ImportRowError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportRowError {
    pub index: u64,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// Grants `<resource>:<action>@<namespace>`.
    #[validate(custom(function = "checks::grants"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<openapi::Grant>, max_items = 100))]
    pub permissions: Vec<String>,
}

// ---------------------------------------------------------------- clients

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
    /// `client_secret_basic`, `client_secret_post`, or `none` for a public client (PKCE only).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
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
    /// `client_secret_basic` (default), `client_secret_post`, or `none` (a public client: no
    /// secret, PKCE required).
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
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
    pub owner: Vec<String>,
    pub effective: Vec<String>,
    pub dropped: Vec<DroppedGrant>,
}

// ---------------------------------------------------------------- the caller

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CallerKind {
    Client,
    Account,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Me {
    pub kind: CallerKind,
    /// The client's or the account's id.
    pub id: Uuid,
    /// For a client: its public client_id.
    pub client_id: Option<String>,
    /// For an account: its namespace and username.
    pub namespace: Option<String>,
    pub username: Option<String>,
    /// For a client: the account it acts for.
    pub owner: Option<Owner>,
    /// The caller's own grants (a client's as granted).
    pub permissions: Vec<String>,
    /// What the caller may do right now.
    pub effective_permissions: Vec<String>,
}

/// An account's changes to its own profile (Bearer token of the account).
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 200, message = "must be at most 200 characters"), custom(function = "checks::plain_text"))]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub family_name: Option<Option<String>>,
}

/// What an account allowed an application (self-service: `GET /api/v1/me/consents`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Consent {
    /// The application's public client_id (the path of `DELETE /api/v1/me/consents/{client_id}`).
    pub client_id: String,
    pub client_name: String,
    /// The scopes allowed, OpenID Connect ones and grants.
    pub scope: Vec<String>,
    pub granted_at: DateTime<Utc>,
}

/// An account changing its own password.
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub current_password: String,
    #[validate(custom(function = "checks::password"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 8,
            max_length = 256,
            pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub new_password: String,
}

// ---------------------------------------------------------------- signing keys

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SigningKey {
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub alg: SigningAlg,
    /// `next` (published, not yet signing), `current` (signing) or `previous` (verifying only).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: KeyState,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
}

// ---------------------------------------------------------------- audit

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditActor {
    /// `client`, `account` or `system`.
    #[serde(rename = "type")]
    pub actor_type: String,
    pub id: Option<String>,
    pub owner_account_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditTarget {
    #[serde(rename = "type")]
    pub target_type: String,
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEvent {
    pub id: Uuid,
    /// Position in the hash chain.
    pub seq: i64,
    pub time: DateTime<Utc>,
    pub actor: AuditActor,
    /// e.g. `user.create`, `client.secret.rotate`, `auth.basic.failure`.
    pub action: String,
    pub target: Option<AuditTarget>,
    pub namespace: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// `{"before":…, "after":…}` with secrets redacted, or details of a refusal.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub changes: Option<Value>,
    pub hash: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AuditListParams {
    /// Actor id (client or account).
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub actor: Option<String>,
    /// Target id.
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub target: Option<String>,
    /// Exact action, or a prefix ending in `.` or `*` (e.g. `client.`).
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub action: Option<String>,
    #[validate(length(max = 63, message = "must be at most 63 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 63, nullable = false))]
    pub namespace: Option<String>,
    /// `success`, `denied` or `failure`.
    #[validate(length(max = 16, message = "must be success, denied or failure"))]
    #[cfg_attr(feature = "openapi", param(inline, value_type = Option<openapi::Outcome>, nullable = false))]
    pub outcome: Option<String>,
    /// RFC 3339; events at or after.
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub since: Option<DateTime<Utc>>,
    /// RFC 3339; events before.
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub until: Option<DateTime<Utc>>,
    /// An account id: events by that account or its clients, or about either.
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub involving: Option<String>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<u32>,
    #[validate(length(max = 200, message = "is not a page token"))]
    #[cfg_attr(feature = "openapi", param(max_length = 200, nullable = false))]
    pub page_token: Option<String>,
}

/// `GET /api/v1/audit-events:verify`: whether the hash chain is intact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditVerification {
    /// True when every event links to the one before and the head matches.
    pub intact: bool,
    /// Events verified (up to the first broken link when not intact).
    pub events_verified: u64,
    /// What is wrong with the first broken link; null when intact.
    pub first_broken_link: Option<String>,
}

// ---------------------------------------------------------------- console (backend for frontend)

/// `GET /console/session`: the signed-in administrator and the token the console sends back
/// as `X-CSRF-Token` with every `/api/v1` request. The session itself is an HttpOnly cookie.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsoleSession {
    pub csrf_token: String,
    pub me: Me,
    pub expires_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- operations

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Health {
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_may_carry_a_zero_fraction() {
        let rotate = |body: &str| serde_json::from_str::<SecretRotate>(body).map(|r| r.previous_secret_expires_in);
        assert_eq!(rotate(r#"{"previous_secret_expires_in": 60}"#).unwrap(), Some(60));
        assert_eq!(rotate(r#"{"previous_secret_expires_in": 60.0}"#).unwrap(), Some(60));
        assert_eq!(rotate(r#"{"previous_secret_expires_in": 6e1}"#).unwrap(), Some(60));
        assert_eq!(rotate(r#"{"previous_secret_expires_in": null}"#).unwrap(), None);
        assert_eq!(rotate("{}").unwrap(), None);
        for bad in ["60.5", "-1", "-1.0", "\"60\"", "1e30"] {
            assert!(rotate(&format!(r#"{{"previous_secret_expires_in": {bad}}}"#)).is_err(), "{bad}");
        }
        let patch = |body: &str| serde_json::from_str::<ClientPatch>(body).unwrap().access_token_ttl;
        assert_eq!(patch("{}"), None);
        assert_eq!(patch(r#"{"access_token_ttl": null}"#), Some(None));
        assert_eq!(patch(r#"{"access_token_ttl": 120.0}"#), Some(Some(120)));
        assert!(serde_json::from_str::<ClientCreate>(r#"{"name": "n", "access_token_ttl": 4294967296}"#).is_err());
    }
}
