//! Space-separated `scope` strings (authorization requests, token requests, refresh narrowing,
//! and the `scope` claim read back from a Bearer token): OpenID Connect scopes and management
//! grants. Parse → display → parse is the identity; duplicates collapse; a scope is within
//! itself; bounding never adds a grant; an unknown scope is named in the error.
#![no_main]

use gatehouse::oauth::scope::{Scopes, NAMED_SCOPES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Scopes::parse(text) {
        Ok(scopes) => {
            let shown = scopes.to_string();
            assert!(!shown.contains("  ") && shown == shown.trim());
            let again = Scopes::parse(&shown).expect("displayed scopes parse");
            assert_eq!(again, scopes);
            assert!(scopes.within(&scopes));
            assert!(Scopes::default().within(&scopes));
            assert_eq!(scopes.is_empty(), text.split(' ').all(str::is_empty));
            for s in &scopes.oidc {
                assert!(NAMED_SCOPES.contains(&s.as_str()) && scopes.has(s));
            }
            // Bounding keeps the named scopes and never adds a grant.
            assert_eq!(scopes.bounded_by(None), scopes);
            let nothing = scopes.bounded_by(Some(&[]));
            assert!(nothing.grants.is_empty() && nothing.oidc == scopes.oidc);
            let by_itself = scopes.bounded_by(Some(&scopes.grants));
            assert!(by_itself.grants.iter().all(|g| scopes.grants.iter().any(|o| o.covers(g))));
            let mut unique = scopes.oidc.clone();
            unique.dedup();
            assert_eq!(unique.len(), scopes.oidc.len());
        }
        Err(message) => assert!(message.starts_with("unknown scope '") && message.chars().count() <= 100, "{message}"),
    }
});
