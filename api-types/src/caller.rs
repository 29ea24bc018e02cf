//! The caller: who it is (`/api/v1/me`), an account's self-service, and the console's session.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use validator::Validate;

use crate::de::nullable;
use crate::{checks, Owner};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

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

/// `GET /console/session`: the signed-in administrator and the token the console sends back
/// as `X-CSRF-Token` with every `/api/v1` request. The session itself is an HttpOnly cookie.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsoleSession {
    pub csrf_token: String,
    pub me: Me,
    pub expires_at: DateTime<Utc>,
}
