//! The audit log's filter form and the permission audit's rows.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use gatehouse_api_types::{DroppedGrant, FieldError, Owner};

use crate::api::{query, ApiError};

pub const OUTCOMES: [&str; 3] = ["success", "denied", "failure"];

/// The audit log filter as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub actor: String,
    pub target: String,
    pub action: String,
    pub namespace: String,
    pub outcome: String,
    pub since: String,
    pub until: String,
}

/// How an event's action reads in the list: an access summary shows the reads it counts
/// (`user.read × 12`).
pub fn action_label(action: &str, changes: Option<&serde_json::Value>) -> String {
    let summarised = changes
        .filter(|_| action == "access.summary")
        .and_then(|c| Some((c["action"].as_str()?, c["count"].as_u64()?)));
    match summarised {
        Some((read, count)) => format!("{read} × {count}"),
        None => action.to_owned(),
    }
}

/// A time typed into `since`/`until`: RFC 3339, or `YYYY-MM-DD[THH:MM[:SS]]` read as UTC.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    let t = t.replace(' ', "T");
    for pattern in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&t, pattern) {
            return Ok(naive.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        if let Some(naive) = date.and_hms_opt(0, 0, 0) {
            return Ok(naive.and_utc());
        }
    }
    Err("must be a time such as 2025-01-31T09:00:00Z (or a date, read as UTC)".to_owned())
}

/// The query string of `GET /api/v1/audit-events` for this filter (without a page token).
pub fn audit_query(f: &AuditFilter, page_size: u32) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    let mut time = |field: &str, text: &str| -> Option<String> {
        if text.trim().is_empty() {
            return None;
        }
        match parse_time(text) {
            Ok(t) => Some(t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            Err(message) => {
                errors.push(FieldError { field: field.to_owned(), message });
                None
            }
        }
    };
    let since = time("since", &f.since);
    let until = time("until", &f.until);
    if !f.outcome.is_empty() && !OUTCOMES.contains(&f.outcome.as_str()) {
        errors.push(FieldError { field: "outcome".into(), message: "must be success, denied or failure".into() });
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let t = |s: &str| Some(s.trim().to_owned());
    Ok(query(&[
        ("actor", t(&f.actor)),
        ("target", t(&f.target)),
        ("action", t(&f.action)),
        ("namespace", t(&f.namespace)),
        ("outcome", t(&f.outcome)),
        ("since", since),
        ("until", until),
        ("page_size", Some(page_size.to_string())),
    ]))
}

/// Whether a client's owner matches the permission audit's owner filter (username, account
/// id or namespace, case-insensitive; an owner-less client matches "none").
pub fn owner_matches(filter: &str, owner: Option<&Owner>) -> bool {
    let needle = filter.trim().to_lowercase();
    if needle.is_empty() {
        return true;
    }
    match owner {
        Some(o) => {
            o.account_id.to_string().contains(&needle)
                || o.namespace.to_lowercase().contains(&needle)
                || o.username.as_deref().is_some_and(|u| u.to_lowercase().contains(&needle))
        }
        None => "none".contains(&needle),
    }
}

/// The warning of a client holding grants its owner has lost, if it does.
pub fn lost_warning(dropped: &[DroppedGrant]) -> Option<String> {
    match dropped.len() {
        0 => None,
        1 => Some(format!("Owner lost a grant this client holds: {}", dropped[0].grant)),
        n => Some(format!(
            "Owner lost {n} grants this client holds: {}",
            dropped.iter().map(|d| d.grant.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// How an owner reads in a table.
pub fn owner_label(owner: Option<&Owner>) -> String {
    match owner {
        Some(o) => format!("{}@{}", o.username.clone().unwrap_or_else(|| o.account_id.to_string()), o.namespace),
        None => "none (owner deleted)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_summary_reads_as_the_reads_it_counts() {
        let changes = serde_json::json!({ "action": "user.read", "count": 12 });
        assert_eq!(action_label("access.summary", Some(&changes)), "user.read × 12");
        assert_eq!(action_label("user.update", Some(&changes)), "user.update");
        assert_eq!(action_label("access.summary", None), "access.summary");
    }
    use uuid::Uuid;

    #[test]
    fn parses_times_as_utc() {
        assert_eq!(parse_time("2025-01-31T10:00:00+01:00").unwrap().to_rfc3339(), "2025-01-31T09:00:00+00:00");
        assert_eq!(parse_time("2025-01-31").unwrap().to_rfc3339(), "2025-01-31T00:00:00+00:00");
        assert_eq!(parse_time("2025-01-31 08:30").unwrap().to_rfc3339(), "2025-01-31T08:30:00+00:00");
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn builds_the_audit_query() {
        let f = AuditFilter {
            actor: " abc ".into(),
            outcome: "denied".into(),
            since: "2025-01-31".into(),
            ..Default::default()
        };
        assert_eq!(
            audit_query(&f, 50).unwrap(),
            "?actor=abc&outcome=denied&since=2025-01-31T00%3A00%3A00Z&page_size=50"
        );
        let bad = AuditFilter { since: "soon".into(), until: "later".into(), ..Default::default() };
        let e = audit_query(&bad, 50).unwrap_err();
        assert_eq!(e.errors_for("since").len(), 1);
        assert_eq!(e.errors_for("until").len(), 1);
    }

    #[test]
    fn filters_owners() {
        let id = Uuid::parse_str("6f1c1e1e-0000-4000-8000-000000000001").unwrap();
        let o = Owner { account_id: id, namespace: "system".into(), username: Some("Alice".into()) };
        assert!(owner_matches("", Some(&o)));
        assert!(owner_matches("ali", Some(&o)));
        assert!(owner_matches("6f1c1e1e", Some(&o)));
        assert!(!owner_matches("bob", Some(&o)));
        assert!(owner_matches("none", None));
        assert!(!owner_matches("ali", None));
        assert_eq!(owner_label(Some(&o)), "Alice@system");
    }

    #[test]
    fn warns_when_the_owner_lost_grants() {
        assert_eq!(lost_warning(&[]), None);
        let d = |g: &str| DroppedGrant { grant: g.into(), reason: "r".into() };
        assert!(lost_warning(&[d("users:*@*")]).unwrap().contains("lost"));
        assert_eq!(
            lost_warning(&[d("a:read@*"), d("b:read@*")]).unwrap(),
            "Owner lost 2 grants this client holds: a:read@*, b:read@*"
        );
    }
}
