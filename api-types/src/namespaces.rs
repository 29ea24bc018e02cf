//! Namespaces: isolated sets of accounts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::checks;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Namespace {
    pub slug: String,
    pub display_name: String,
    /// Whether the namespace's accounts must sign in with a second factor.
    #[serde(default)]
    pub mfa: MfaPolicy,
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
    /// `required`: every account of the namespace signs in with a second factor (one without is
    /// taken through enrolment right after its password). Needs `namespaces:write@<slug>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaPolicy>,
}

/// A namespace's multi-factor sign-in policy.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MfaPolicy {
    /// Accounts with a factor use it; others sign in with their password.
    #[default]
    Optional,
    /// Every account signs in with a second factor.
    Required,
}

impl MfaPolicy {
    pub const fn as_str(self) -> &'static str {
        match self {
            MfaPolicy::Optional => "optional",
            MfaPolicy::Required => "required",
        }
    }

    /// The stored text; anything but `required` is `optional`.
    pub fn from_stored(text: &str) -> MfaPolicy {
        if text == "required" {
            MfaPolicy::Required
        } else {
            MfaPolicy::Optional
        }
    }
}
