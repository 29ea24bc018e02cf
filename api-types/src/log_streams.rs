//! Log streams: where Gatehouse pushes the audit chain (a SIEM, a log pipeline), each with its
//! filter, its signing secret (shown once) and its delivery status; and the NDJSON export.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use validator::{Validate, ValidationError};

#[cfg(feature = "openapi")]
use crate::openapi;
#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// Which events a stream delivers: the audit API's filter fields, all optional (none: every
/// event). Events that do not match are skipped, and the stream's cursor moves past them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogStreamFilter {
    /// Actor id (client or account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub actor: Option<String>,
    /// Target id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub target: Option<String>,
    /// Exact action, or a prefix ending in `.` or `*` (e.g. `client.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 63, message = "must be 1 to 63 characters"))]
    pub namespace: Option<String>,
    /// `success`, `denied` or `failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "check_outcome"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<openapi::Outcome>))]
    pub outcome: Option<String>,
}

/// `POST /api/v1/log-streams`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogStreamCreate {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "crate::checks::plain_text")
    )]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// Where batches are POSTed: `https://…`, or `http://` to a loopback host only.
    #[validate(custom(function = "stream_url"))]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 2000, pattern = r"^(https://|http://(localhost|127\.|\[::1\]))")
    )]
    pub url: String,
    #[serde(default, deserialize_with = "filter_object")]
    #[validate(nested)]
    pub filter: LogStreamFilter,
    /// Deliver the events after this sequence number (0: the whole chain). Default: the chain's
    /// head when the stream is created, so it receives only events appended after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 0, message = "must be 0 or more"))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub start_after_seq: Option<i64>,
}

/// `PATCH /api/v1/log-streams/{id}`: the fields to change. A new `filter` replaces the old one
/// whole; re-enabling resumes at the stream's cursor.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogStreamPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "crate::checks::plain_text")
    )]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "stream_url"))]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_filter_object")]
    #[validate(nested)]
    pub filter: Option<LogStreamFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// How delivery is going.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LogStreamStatus {
    /// The cursor: every event up to this sequence number was delivered (or did not match).
    pub last_delivered_seq: i64,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed; null after a success.
    pub last_error: Option<String>,
    /// Since when deliveries have failed without a success; null when healthy.
    pub failing_since: Option<DateTime<Utc>>,
    /// Failed attempts in a row (the same batch is retried, with exponential back-off).
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LogStream {
    pub id: Uuid,
    pub name: String,
    /// The account the stream delivers for: whoever last created, re-pointed or re-enabled it
    /// (or that client's owner). It delivers only while this account holds `audit:read@*`
    /// and is enabled; otherwise it waits, with the reason in `status.last_error`.
    pub owner_account_id: Option<Uuid>,
    pub url: String,
    pub filter: LogStreamFilter,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: LogStreamStatus,
}

/// A created stream with its signing secret, which no later response shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LogStreamCreated {
    #[serde(flatten)]
    pub stream: LogStream,
    /// `whsec_` and the base64 of the key: verify each batch's `webhook-signature` with it
    /// (Standard Webhooks).
    pub secret: String,
}

/// `GET /api/v1/audit-events:export`: the audit API's filters, and where to start.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AuditExportParams {
    /// Events after this sequence number (default 0: from the start of the chain).
    #[validate(range(min = 0, message = "must be 0 or more"))]
    #[cfg_attr(feature = "openapi", param(minimum = 0, nullable = false))]
    pub after_seq: Option<i64>,
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub actor: Option<String>,
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub target: Option<String>,
    /// Exact action, or a prefix ending in `.` or `*`.
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub action: Option<String>,
    #[validate(length(max = 63, message = "must be at most 63 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 63, nullable = false))]
    pub namespace: Option<String>,
    #[validate(custom(function = "check_outcome"))]
    #[cfg_attr(feature = "openapi", param(inline, value_type = Option<openapi::Outcome>, nullable = false))]
    pub outcome: Option<String>,
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub since: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", param(nullable = false))]
    pub until: Option<DateTime<Utc>>,
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[cfg_attr(feature = "openapi", param(max_length = 64, nullable = false))]
    pub involving: Option<String>,
}

fn fail(code: &'static str, message: impl Into<Cow<'static, str>>) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

fn check_outcome(outcome: &str) -> Result<(), ValidationError> {
    match outcome {
        "success" | "denied" | "failure" => Ok(()),
        _ => Err(fail("outcome", "must be success, denied or failure")),
    }
}

/// Batches carry the audit log, so they travel encrypted: `https`, or plain `http` only to this
/// machine (a local collector). No credentials in the URL (they would show in every listing).
pub fn stream_url(url: &str) -> Result<(), ValidationError> {
    if url.len() > 2000 {
        return Err(fail("url", "must be at most 2000 characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains('#') {
        return Err(fail("url", "must not contain spaces or a fragment"));
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => return Err(fail("url", "must be an absolute https URL")),
    };
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return Err(fail("url", "must not carry credentials"));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(h, _)| h).unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return Err(fail("url", "has no host"));
    }
    let loopback = host.eq_ignore_ascii_case("localhost") || host == "::1" || host.starts_with("127.");
    match scheme.as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(fail("url", "must use https unless the host is loopback")),
        _ => Err(fail("url", "must be an https URL")),
    }
}

/// A filter is a JSON object: serde would also read a struct from an array (`[]` as the empty
/// filter), which the schema does not allow.
fn filter_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LogStreamFilter, D::Error> {
    let object = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    LogStreamFilter::deserialize(serde_json::Value::Object(object)).map_err(serde::de::Error::custom)
}

fn optional_filter_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<LogStreamFilter>, D::Error> {
    let object = Option::<serde_json::Map<String, serde_json::Value>>::deserialize(d)?;
    object
        .map(|o| LogStreamFilter::deserialize(serde_json::Value::Object(o)).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_are_https_or_loopback_http() {
        for good in ["https://siem.example.com/in", "http://127.0.0.1:9000/x", "http://localhost/", "http://[::1]:80"] {
            assert!(stream_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://siem.example.com/in",
            "ftp://example.com",
            "https://user:pw@example.com/",
            "https:///nohost",
            "siem.example.com",
            "https://example.com/a b",
        ] {
            assert!(stream_url(bad).is_err(), "{bad}");
        }
    }
}
