//! Request objects (JAR, RFC 9101): the parsing and verification path of
//! `domain::request_object` against a fixed key set (one ES256 and one EdDSA key, kids `es` and
//! `ed`).
//!
//! The first byte picks a mode:
//! - 0: the rest is a request object. Nothing signed elsewhere verifies: every input is
//!   rejected, and reading its unverified claims (where a refusal may be sent) never panics.
//! - 1: claims built from the input, signed with the fixture's key: accepted exactly when
//!   `iss`, `aud`, `exp` and the inner `client_id` are right, and then its parameters are the
//!   claims that are not the JWT's own, with the client's `client_id`; any one changed
//!   character of an accepted object is never accepted with other parameters.
#![no_main]

#[path = "common/jwt_keys.rs"]
mod jwt_keys;

use chrono::Utc;
use gatehouse::domain::request_object::{unverified_claims, verify};
use gatehouse::domain::signing_keys::jwt_algorithm;
use jwt_keys::{keys, text};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const CLIENT: &str = "client-1";
const ISSUER: &str = "https://id.example.test";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (signers, set) = keys();
    let now = Utc::now();
    if mode % 2 == 0 {
        let jwt = text(rest);
        let _ = unverified_claims(&jwt);
        assert!(verify(&jwt, CLIENT, ISSUER, set, now).is_err(), "an unsigned input verified");
        return;
    }
    let field = |i: usize| rest.get(i).copied().unwrap_or(0);
    let right = |i: usize| field(i) % 4 != 0;
    let exp_in: i64 = i64::from(field(3) as i8) * 40;
    let scope = text(rest.get(8..).unwrap_or_default());
    let mut claims = json!({
        "iss": if right(0) { CLIENT.to_owned() } else { text(rest.get(8..10).unwrap_or_default()) },
        "aud": if right(1) { ISSUER } else { "https://elsewhere.test" },
        "exp": now.timestamp() + exp_in,
        "scope": scope,
        "max_age": i64::from(field(5)),
    });
    match field(2) % 3 {
        0 => claims["client_id"] = json!(CLIENT),
        1 => claims["client_id"] = json!("someone-else"),
        _ => {}
    }
    let key = &signers[usize::from(field(4)) % signers.len()];
    let mut header = jsonwebtoken::Header::new(jwt_algorithm(key.alg));
    header.kid = Some(key.kid.clone());
    let jwt = key.sign(&header, &claims).expect("signing");
    let expected = claims["iss"] == json!(CLIENT) && right(1) && field(2) % 3 != 1 && exp_in <= 3600;
    let outcome = verify(&jwt, CLIENT, ISSUER, set, now);
    // An `exp` in the past is refused past the 30 s leeway (measured by the library's own
    // clock): assert only away from that boundary.
    let expected = expected && exp_in > -30;
    if !(-40..=-20).contains(&exp_in) {
        assert_eq!(outcome.is_ok(), expected, "{claims} gave {outcome:?}");
    }
    if let Ok(verified) = outcome {
        assert!(verified.parameters.contains(&("client_id".to_owned(), CLIENT.to_owned())));
        assert!(verified.parameters.iter().all(|(n, _)| !matches!(n.as_str(), "iss" | "aud" | "exp")));
        if !scope.is_empty() {
            assert!(verified.parameters.contains(&("scope".to_owned(), scope.clone())), "{verified:?}");
        }
        let mut tampered = jwt.into_bytes();
        let i = usize::from(field(6)) * 7 % tampered.len();
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        if let Ok(tampered) = String::from_utf8(tampered) {
            if let Ok(other) = verify(&tampered, CLIENT, ISSUER, set, now) {
                assert_eq!(other.parameters, verified.parameters, "a changed object verified with other parameters");
            }
        }
    }
});
