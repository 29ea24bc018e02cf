//! Query strings of the Management API lists, read as `http::extract::Query` reads them
//! (strict `serde_urlencoded`, then `validator`), and what the handlers derive from them: the
//! page request, the `owner` filter of clients, the audit filter (`outcome`, `action` prefixes,
//! RFC 3339 times). The first byte picks the list. No panic; an action prefix's upper bound
//! lies above every action with that prefix.
#![no_main]

use gatehouse::domain::clients::OwnerFilter;
use gatehouse::domain::{names, PageRequest};
use gatehouse_api_types as api;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use validator::Validate;

fn query<T: DeserializeOwned + Validate>(text: &str) -> Option<T> {
    let value: T = serde_urlencoded::from_str(text).ok()?;
    value.validate().ok()?;
    Some(value)
}

fn prefix_range(prefix: &str, tail: &str) {
    let upper = names::prefix_upper_bound(prefix);
    let action = format!("{prefix}{tail}");
    assert!(
        action.as_str() >= prefix && action.as_str() < upper.as_str(),
        "{action:?} outside [{prefix:?}, {upper:?})"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match kind % 4 {
        0 => {
            let Some(q) = query::<api::AuditListParams>(text) else { return };
            let _ = PageRequest::new(q.page_size, q.page_token.as_deref());
            let outcome_ok = q.outcome.as_deref().is_none_or(|o| matches!(o, "success" | "denied" | "failure"));
            let _ = outcome_ok;
            if let Some(action) = &q.action {
                let tail = q.actor.as_deref().unwrap_or("x");
                if let Some(prefix) = action.strip_suffix('*') {
                    prefix_range(prefix, tail);
                } else if action.ends_with('.') {
                    prefix_range(action, tail);
                }
            }
            if let (Some(since), Some(until)) = (q.since, q.until) {
                let _ = since < until;
            }
        }
        1 => {
            let Some(q) = query::<api::UserListParams>(text) else { return };
            let _ = PageRequest::new(q.page_size, q.page_token.as_deref());
            if let Some(prefix) = &q.q {
                let folded = names::fold(prefix);
                let _ = folded;
            }
        }
        2 => {
            let Some(q) = query::<api::ClientListParams>(text) else { return };
            let _ = PageRequest::new(q.page_size, q.page_token.as_deref());
            match OwnerFilter::parse(q.owner.as_deref()) {
                Ok(OwnerFilter::All) => assert!(q.owner.is_none()),
                Ok(OwnerFilter::Me) => assert_eq!(q.owner.as_deref(), Some("me")),
                Ok(OwnerFilter::Account(id)) => assert_eq!(uuid_of(q.owner.as_deref().unwrap()), Some(id)),
                Err(_) => assert!(q.owner.is_some()),
            }
        }
        _ => {
            let Some(q) = query::<api::PageParams>(text) else { return };
            if let Ok(page) = PageRequest::new(q.page_size, q.page_token.as_deref()) {
                assert!((1..=200).contains(&page.size));
                assert_eq!(page.after.is_some(), q.page_token.is_some());
            }
        }
    }
});

fn uuid_of(text: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(text).ok()
}
