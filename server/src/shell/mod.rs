//! The web shell: what the three HTTP adapters stand on (the Management API in [`crate::http`],
//! the token service in [`crate::oauth`], the console in [`crate::console`]). The application
//! state every handler reaches ([`AppState`]); the middleware around every request
//! ([`observe`]: request id, log line, metrics); who sent a request ([`client_ip`],
//! [`request_id`], and [`Origin`](crate::domain::authn::Origin), which a handler takes as an
//! argument); reading bodies ([`read_body`]); and how [`crate::error::Error`] becomes
//! problem+json ([`problem`]). It imports nothing from the adapters above it: layers point one
//! way, shell ← {http, oauth, console} → domain → db.

mod body;
mod observe;
pub mod problem;
mod request;
mod state;

pub use body::{read_body, read_bytes, BODY_LIMIT};
pub use observe::observe;
pub use request::{client_ip, origin, request_id, route, AuthRecord, RequestId, Route};
pub use state::{AppState, OAuth, Settings};
