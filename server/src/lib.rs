//! Gatehouse: an identity service. Three HTTP adapters stand on the web [`shell`]: the
//! Management API ([`http`], its route table in [`http::routes`]), the token service
//! ([`oauth`]) and the admin [`console`]'s backend. Each handler calls [`domain`], which reads
//! and writes through [`db`]; layers point one way: shell ← {http, oauth, console} → domain → db.

pub mod audit_log;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod domain;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod log_streams;
pub mod metrics;
pub mod oauth;
pub mod outbox;
pub mod server;
pub mod shell;
