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

mod accounts;
mod audit;
mod caller;
mod clients;
mod de;
mod factors;
mod groups;
mod keys;
mod log_streams;
mod namespaces;
mod page;
mod problem;

pub use accounts::*;
pub use audit::*;
pub use caller::*;
pub use clients::*;
pub use factors::*;
pub use groups::*;
pub use keys::*;
pub use log_streams::*;
pub use namespaces::*;
pub use page::*;
pub use problem::*;
pub use protocol::{
    GrantType, KeyState, ResponseMode, ResponseType, SigningAlg, TokenEndpointAuthMethod, UnknownValue,
};

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Health {
    pub status: String,
}
