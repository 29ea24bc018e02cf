//! The token signing keys, as listed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{KeyState, SigningAlg};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

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
