//! The hash-chained audit log: its events, their filter, and the chain's verification.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use validator::Validate;

#[cfg(feature = "openapi")]
use crate::openapi;
#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditActor {
    /// `client`, `account` or `system`.
    #[serde(rename = "type")]
    pub actor_type: String,
    pub id: Option<String>,
    pub owner_account_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditTarget {
    #[serde(rename = "type")]
    pub target_type: String,
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEvent {
    pub id: Uuid,
    /// Position in the hash chain.
    pub seq: i64,
    pub time: DateTime<Utc>,
    pub actor: AuditActor,
    /// e.g. `user.create`, `client.secret.rotate`, `auth.basic.failure`.
    pub action: String,
    pub target: Option<AuditTarget>,
    pub namespace: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// `{"before":…, "after":…}` with secrets redacted, or details of a refusal.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub changes: Option<Value>,
    pub hash: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AuditListParams {
    /// Actor id (client or account).
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub actor: Option<String>,
    /// Target id.
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub target: Option<String>,
    /// Exact action, or a prefix ending in `.` or `*` (e.g. `client.`).
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub action: Option<String>,
    #[validate(length(max = 63, message = "must be at most 63 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 63, nullable = false))]
    pub namespace: Option<String>,
    /// `success`, `denied` or `failure`.
    #[validate(length(max = 16, message = "must be success, denied or failure"))]
    #[cfg_attr(feature = "openapi", param(inline, value_type = Option<openapi::Outcome>, nullable = false))]
    pub outcome: Option<String>,
    /// RFC 3339; events at or after.
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub since: Option<DateTime<Utc>>,
    /// RFC 3339; events before.
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub until: Option<DateTime<Utc>>,
    /// An account id: events by that account or its clients, or about either.
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub involving: Option<String>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<u32>,
    #[validate(length(max = 200, message = "is not a page token"))]
    #[cfg_attr(feature = "openapi", param(max_length = 200, nullable = false))]
    pub page_token: Option<String>,
}

/// `GET /api/v1/audit-events:verify`: whether the hash chain is intact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditVerification {
    /// True when every event links to the one before and the head matches.
    pub intact: bool,
    /// Events verified (up to the first broken link when not intact).
    pub events_verified: u64,
    /// What is wrong with the first broken link; null when intact.
    pub first_broken_link: Option<String>,
}
