//! Black-box tests: each starts the real `gatehouse` binary on a fresh database and speaks HTTP.
//! `GATEHOUSE_TEST_DATABASE=postgres` runs them all on PostgreSQL.

mod support;

mod audit;
mod audit_archive;
mod audit_storage;
mod audit_summaries;
mod authz_matrix;
mod backchannel_logout;
mod cli;
mod clients;
mod consent;
mod console;
mod console_browser;
mod credential_epoch;
mod device_flow;
mod dpop;
mod escalation;
mod factors_browser;
mod faults;
mod groups;
mod hardening;
mod hostile_input;
mod housekeeping;
mod idempotency;
mod import;
mod invariant_model;
mod jar;
mod log_streams;
mod mfa;
mod oauth;
mod openid_client;
mod openid_client_dpop;
mod openid_client_flows;
mod operations;
mod outage;
mod ownership;
mod passkeys_browser;
mod registration;
mod scale_out;
mod scim;
mod security_headers;
mod users;
