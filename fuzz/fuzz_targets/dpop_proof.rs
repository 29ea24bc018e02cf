//! DPoP proofs (RFC 9449): the parsing, signature and request checks of `domain::dpop` against
//! fixture keys (ES256 and EdDSA), and the RFC 7638 thumbprint of any JSON.
//!
//! The first byte picks a mode:
//! - 0: the rest is a proof. Nothing signed by a key the input does not hold verifies: every
//!   input is refused, and no input panics the parser.
//! - 1: claims built from the input, signed with a fixture key carried in the header: parsed
//!   exactly when `jti`, `htm`, `htu` and `iat` are there; then accepted for the request
//!   exactly when `htm`, `htu`, `iat`, `ath` and the nonce are right; a changed character of
//!   the proof is refused or still names the same key.
//! - 2: the rest is JSON taken as a JWK: the thumbprint never panics and is 43 characters.
#![no_main]

use std::sync::OnceLock;

use chrono::Utc;
use gatehouse::domain::crypto::MasterKey;
use gatehouse::domain::dpop::{check, parse, thumbprint, token_hash, Nonces, Refusal, Request};
use gatehouse::domain::signing_keys::{jwt_algorithm, SigningKey};
use gatehouse_api_types::{KeyState, SigningAlg};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const URL: &str = "https://id.example.test/oauth/token";
const TOKEN: &str = "an-access-token";

fn fixtures() -> &'static (Vec<SigningKey>, Nonces) {
    static KEYS: OnceLock<(Vec<SigningKey>, Nonces)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let keys = [SigningAlg::ES256, SigningAlg::EdDSA]
            .into_iter()
            .map(|alg| SigningKey::generate(alg, KeyState::Current).expect("key generation"))
            .collect();
        (keys, Nonces::new(&MasterKey::generate()))
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (keys, nonces) = fixtures();
    let now = Utc::now();
    match mode % 3 {
        0 => {
            assert!(parse(&text(rest)).is_err(), "an input nobody signed verified");
        }
        1 => {
            let field = |i: usize| rest.get(i).copied().unwrap_or(0);
            let right = |i: usize| field(i) % 4 != 0;
            let iat_off = i64::from(field(3) as i8) * 4;
            let mut claims = json!({
                "jti": if right(0) { text(rest.get(8..).unwrap_or_default()) } else { String::new() },
                "htm": if right(1) { "POST" } else { "GET" },
                "htu": if right(2) { format!("{URL}?q=1") } else { "https://id.example.test/oauth/userinfo".into() },
                "iat": now.timestamp() + iat_off,
            });
            let with_ath = field(4) % 3;
            match with_ath {
                0 => {}
                1 => claims["ath"] = json!(token_hash(TOKEN)),
                _ => claims["ath"] = json!(token_hash("another token")),
            }
            let with_nonce = field(5) % 3;
            match with_nonce {
                0 => {}
                1 => claims["nonce"] = json!(nonces.current(now.timestamp())),
                _ => claims["nonce"] = json!(text(rest.get(8..).unwrap_or_default())),
            }
            let key = &keys[usize::from(field(6)) % keys.len()];
            let mut header = jsonwebtoken::Header::new(jwt_algorithm(key.alg));
            header.typ = Some("dpop+jwt".into());
            header.jwk = Some(serde_json::from_value(key.jwk.clone()).expect("a public JWK"));
            let proof = key.sign(&header, &claims).expect("signing");
            let jti_ok = claims["jti"].as_str().is_some_and(|j| !j.is_empty() && j.len() <= 256);
            let parsed = parse(&proof);
            assert_eq!(parsed.is_ok(), jti_ok, "{claims} gave {parsed:?}");
            let Ok(parsed) = parsed else { return };
            assert_eq!(Some(parsed.jkt.clone()), thumbprint(&key.jwk));
            let token = (field(7) % 2 == 0).then_some(TOKEN);
            let request = Request { method: "POST", url: URL, access_token: token, nonce_required: field(7) % 3 == 0 };
            let outcome = check(&parsed, &request, nonces, now);
            let ath_ok = token.is_none() || with_ath == 1;
            let nonce_text_ok = with_nonce == 1
                || (with_nonce == 2 && nonces.valid(claims["nonce"].as_str().unwrap(), now.timestamp()));
            let nonce_ok = !request.nonce_required || (with_nonce != 0 && nonce_text_ok);
            let iat_ok = (-120..=30).contains(&iat_off);
            let expected = right(1) && right(2) && ath_ok && nonce_ok && iat_ok;
            // The window's edges are measured by the checker's own clock: assert away from them.
            if !(-124..=-116).contains(&iat_off) && !(26..=34).contains(&iat_off) {
                assert_eq!(outcome.is_ok(), expected, "{claims} for {} gave {outcome:?}", request.nonce_required);
            }
            if outcome == Err(Refusal::UseNonce) {
                assert!(right(1) && right(2) && ath_ok);
            }
            let mut tampered = proof.into_bytes();
            let i = usize::from(field(6)) * 7 % tampered.len();
            tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
            if let Ok(tampered) = String::from_utf8(tampered) {
                if let Ok(again) = parse(&tampered) {
                    assert_eq!(again.jkt, parsed.jkt, "a changed proof verified with another key");
                }
            }
        }
        _ => {
            let Ok(value) = serde_json::from_slice::<Value>(rest) else { return };
            if let Some(jkt) = thumbprint(&value) {
                assert_eq!(jkt.len(), 43);
            }
        }
    }
});
