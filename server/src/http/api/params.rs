//! Request headers several operations share, described once for the OpenAPI document. The
//! handlers read them through `Api` (`if_match`, `created`); these types only document them.
#![allow(dead_code)] // Fields are read by utoipa's derive, not by code.

use utoipa::IntoParams;

/// `If-Match`: the optimistic concurrency check of a change or a delete.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatch {
    /// ETags (or `*`) the resource must still have; 412 otherwise
    #[param(rename = "If-Match", nullable = false)]
    if_match: Option<String>,
}

/// `Idempotency-Key`: makes a create safe to retry.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// A retry with the same key and body replays the first response (marked `Idempotent-Replayed: true`); the same key with another body is 422
    #[param(rename = "Idempotency-Key", nullable = false, min_length = 1, max_length = 255, pattern = r"^[!-~]+$")]
    idempotency_key: Option<String>,
}
