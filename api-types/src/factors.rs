//! Second factors of an account: what the API shows of them (never a secret), and recovery codes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::checks;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A second factor: its kind (`totp` or `webauthn`), the name its owner gave it, and when it
/// was added and last used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Factor {
    pub id: uuid::Uuid,
    /// `totp` (RFC 6238 one-time codes) or `webauthn` (a passkey).
    pub kind: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Renames a factor.
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FactorPatch {
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub name: String,
}

/// Fresh recovery codes, shown this once: each signs in once in place of a one-time code.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

/// A passkey registration in progress: the options to hand to `navigator.credentials.create`
/// (webauthn-rs's JSON: binary values in base64url) and the id to answer with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasskeyChallenge {
    pub id: String,
    /// `{"publicKey": PublicKeyCredentialCreationOptions}`, binary members in base64url.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: serde_json::Value,
    pub expires_at: DateTime<Utc>,
}

/// The browser's answer to a passkey registration, and the name of the new passkey.
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPasskey {
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub registration_id: String,
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub name: String,
    /// The `PublicKeyCredential` of `navigator.credentials.create`, as JSON (binary members in
    /// base64url): `id`, `rawId`, `type`, `response.attestationObject`, `response.clientDataJSON`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

/// An authenticator app being added: the secret (base32) and the `otpauth://` URI, with its QR
/// code drawn by the server (an SVG element); confirmed by a first code.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TotpEnrolment {
    pub id: String,
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
    pub expires_at: DateTime<Utc>,
}

/// The first code of an authenticator app being added, and its name.
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTotp {
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub enrolment_id: String,
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "checks::plain_text")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub name: String,
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub code: String,
}
