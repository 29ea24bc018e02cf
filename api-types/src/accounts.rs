//! Accounts: their creation, merge patches, passwords, listing, bulk import and grants.
//!
//! The email address rule is `validator`'s, behind the `email-check` feature: it brings regular
//! expressions and IDN tables (hundreds of KB of WASM), so the console leaves it to the server,
//! whose `400` names the field as the console's own check would.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;
use validator::Validate;

use crate::de::nullable;
use crate::{checks, FieldError};

#[cfg(feature = "openapi")]
use crate::openapi;
#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

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
    #[validate(length(max = 254, message = "must be at most 254 characters"))]
    #[cfg_attr(feature = "email-check", validate(email(message = "must be an email address")))]
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
    #[validate(length(max = 254, message = "must be at most 254 characters"))]
    #[cfg_attr(feature = "email-check", validate(email(message = "must be an email address")))]
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
    #[validate(length(max = 254, message = "must be at most 254 characters"))]
    #[cfg_attr(feature = "email-check", validate(email(message = "must be an email address")))]
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
