//! SCIM filters, PATCH paths and PATCH requests (`scim::filter`, `scim::patch`), the text a
//! provisioning directory sends. The first byte picks the parser. No panic (deep nesting is
//! refused, not recursed into); a filter that parses evaluates over a sample resource, and
//! `not (f)` answers the opposite of `f`; a PATCH request that parses applies to a sample
//! resource without panicking.
#![no_main]

use gatehouse::http::scim::{filter, patch};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fn sample() -> Value {
    json!({
        "schemas": [filter::USER_SCHEMA, filter::ENTERPRISE_SCHEMA],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen",
        "active": true,
        "name": { "givenName": "Barbara", "familyName": "Jensen" },
        "emails": [{ "value": "bjensen@example.com", "type": "work", "primary": true }, { "value": "b@home.org" }],
        "members": [{ "value": "1" }, { "value": "2" }],
        "meta": { "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3\"" },
        filter::ENTERPRISE_SCHEMA: { "employeeNumber": "701984", "manager": { "value": "m" } }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let resource = sample();
    match kind % 3 {
        0 => {
            if let Ok(f) = filter::parse(text) {
                assert!(text.len() <= filter::MAX_LEN);
                let matched = f.matches(&resource);
                let negated = filter::Filter::Not(Box::new(f));
                assert_eq!(negated.matches(&resource), !matched);
            }
        }
        1 => {
            if let Ok(path) = filter::parse_path(text) {
                if let Some(f) = &path.filter {
                    let _ = f.matches(&resource["emails"][0]);
                }
            }
        }
        _ => {
            let Ok(body) = serde_json::from_str::<Value>(text) else { return };
            if let Ok(operations) = patch::parse_request(&body) {
                let mut doc = resource.clone();
                let _ = patch::apply(&mut doc, &operations, &[filter::ENTERPRISE_SCHEMA], &["userName", "emails"]);
            }
        }
    }
});
