//! Gatehouse: an identity service. The route table is in [`http::routes`]; each handler calls
//! one function of [`domain`], which reads and writes through [`db`].

pub mod audit_log;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod domain;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod metrics;
pub mod oauth;
pub mod outbox;
pub mod server;
