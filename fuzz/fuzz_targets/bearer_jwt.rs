//! Access tokens presented as `Authorization: Bearer` (and to introspection): the decoding and
//! validation path of `tokens::verify_access` against a fixed key set (one RS256, one ES256,
//! one EdDSA key, with the short kids `rs`, `es` and `ed` so that seeds can name them).
//!
//! The first byte picks a mode:
//! - 0, 1: the rest is the token. Nothing signed elsewhere verifies: every input is rejected.
//! - 2: claims and header fields built from the input, signed with the production signer;
//!   accepted exactly when issuer, audience, expiry, `typ`, `kid` and `alg` are right, and the
//!   claims come back unchanged; any one changed character of the token is rejected.
//! - 3: an arbitrary payload signed with a real key: accepted only if it holds valid claims.
//!
//! Every token is decoded afresh and then twice through the process's cache of verified tokens
//! (the second time from the cache): the three verdicts must agree.
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::Engine;
use gatehouse::domain::access_claims::VerifiedTokens;
use gatehouse::domain::signing_keys::{jwt_algorithm, SigningKey};
use gatehouse::oauth::tokens::{decode_access, AccessClaims, Confirmation, ACCESS_TOKEN_TYP};
use gatehouse::shell::Settings;
use gatehouse_api_types::{KeyState, SigningAlg};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://id.example.test";

struct Fixture {
    settings: Settings,
    audience: String,
    keys: Vec<Arc<SigningKey>>,
    verified: VerifiedTokens,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let settings = Settings::new(ISSUER.into());
        let keys = [(SigningAlg::RS256, "rs"), (SigningAlg::ES256, "es"), (SigningAlg::EdDSA, "ed")]
            .into_iter()
            .map(|(alg, kid)| {
                let mut key = SigningKey::generate(alg, KeyState::Current).expect("key generation");
                key.kid = kid.into();
                Arc::new(key)
            })
            .collect();
        Fixture { audience: settings.api_audience(), settings, keys, verified: VerifiedTokens::new(1024) }
    })
}

fn verify(token: &str, audience: Option<&str>) -> Result<AccessClaims, &'static str> {
    let f = fixture();
    let decode = |verified| {
        decode_access(&f.settings, token, audience, |kid| Ok(f.keys.iter().find(|k| k.kid == kid).cloned()), verified)
            .expect("no storage error without storage")
    };
    let fresh = decode(None);
    let as_values = |verdict: &Result<AccessClaims, &'static str>| {
        verdict.as_ref().map(|c| serde_json::to_value(c).unwrap()).map_err(|e| *e)
    };
    for _ in 0..2 {
        assert_eq!(
            as_values(&decode(Some(&f.verified))),
            as_values(&fresh),
            "the cache changed the verdict on {token}"
        );
    }
    fresh
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Consumes fuzz bytes as small choices and short strings.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else { return 0 };
        self.0 = rest;
        b
    }
    fn text(&mut self) -> String {
        let n = (self.byte() as usize % 24).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }
    fn int(&mut self) -> i64 {
        let mut bytes = [0u8; 8];
        for b in &mut bytes {
            *b = self.byte();
        }
        i64::from_le_bytes(bytes)
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn check_accepted(claims: &AccessClaims) {
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, fixture().audience);
    assert!(claims.exp >= now() - 1, "expired at {}", claims.exp);
}

fn structured(mut input: Input<'_>) {
    let f = fixture();
    let key = &f.keys[input.byte() as usize % f.keys.len()];
    let flags = input.byte();
    let now = now();
    let exp = match input.byte() % 4 {
        0 | 1 => now + 300,
        2 => now - 300,
        _ => input.int(),
    };
    let claims = AccessClaims {
        iss: if flags & 1 == 0 { ISSUER.into() } else { input.text() },
        sub: input.text(),
        aud: if flags & 2 == 0 { f.audience.clone() } else { input.text() },
        exp,
        iat: now,
        jti: input.text(),
        client_id: input.text(),
        scope: input.text(),
        auth_time: (flags & 4 != 0).then(|| input.int()),
        sid: (flags & 8 != 0).then(|| input.text()),
        userinfo_claims: (flags & 128 != 0).then(|| input.text()),
        cnf: (input.byte() % 2 == 1).then(|| Confirmation { jkt: input.text() }),
    };
    let mut header = jsonwebtoken::Header::new(jwt_algorithm(key.alg));
    header.kid = Some(if flags & 16 == 0 { key.kid.clone() } else { input.text() });
    header.typ = Some(match (flags >> 5) & 3 {
        0 => ACCESS_TOKEN_TYP.into(),
        1 => "application/AT+JWT".into(),
        2 => "JWT".into(),
        _ => input.text(),
    });
    if input.byte() % 8 == 0 {
        header.alg = [
            jsonwebtoken::Algorithm::HS256,
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::Algorithm::ES256,
            jsonwebtoken::Algorithm::EdDSA,
        ][input.byte() as usize % 4];
    }
    let token = key.sign(&header, &claims).expect("signing works");

    let typ_ok = header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt"));
    let kid_ok = header.kid.as_deref() == Some(key.kid.as_str());
    let alg_ok = header.alg == jwt_algorithm(key.alg);
    let claims_ok = claims.iss == ISSUER && claims.aud == f.audience && claims.exp > now;
    let verdict = verify(&token, Some(&f.audience));
    if claims.exp.abs_diff(now) > 5 {
        assert_eq!(verdict.is_ok(), typ_ok && kid_ok && alg_ok && claims_ok, "{verdict:?} for {header:?} {claims:?}");
    }
    if let Ok(back) = &verdict {
        check_accepted(back);
        assert_eq!(serde_json::to_value(back).unwrap(), serde_json::to_value(&claims).unwrap());
        // Without an audience (introspection) it is accepted as well.
        assert!(verify(&token, None).is_ok());
        // Any one changed character breaks it.
        let mut bytes = token.clone().into_bytes();
        let at = input.int().unsigned_abs() as usize % bytes.len();
        let by = input.byte().max(1);
        bytes[at] = bytes[at].wrapping_add(by);
        if let Ok(tampered) = String::from_utf8(bytes) {
            assert!(verify(&tampered, Some(&f.audience)).is_err(), "tampered token accepted: {tampered}");
        }
    }
}

fn raw_payload(mut input: Input<'_>) {
    let f = fixture();
    // ES256 and EdDSA only: fast enough to sign on every iteration.
    let key = &f.keys[1 + input.byte() as usize % 2];
    let typ = if input.byte() % 4 == 0 { input.text() } else { ACCESS_TOKEN_TYP.into() };
    let header = serde_json::json!({ "alg": key.alg.as_str(), "kid": key.kid, "typ": typ });
    let message = format!("{}.{}", b64(header.to_string().as_bytes()), b64(input.0));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding, jwt_algorithm(key.alg)).expect("signing works");
    let token = format!("{message}.{signature}");
    if let Ok(claims) = verify(&token, Some(&f.audience)) {
        check_accepted(&claims);
        let parsed: AccessClaims = serde_json::from_slice(input.0).expect("accepted claims parse");
        assert_eq!(parsed.jti, claims.jti);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 | 1 => {
            let Ok(token) = std::str::from_utf8(rest) else { return };
            let f = fixture();
            assert!(verify(token, Some(&f.audience)).is_err(), "a token not signed here was accepted: {token}");
            assert!(verify(token, None).is_err(), "a token not signed here was accepted: {token}");
        }
        2 => structured(Input(rest)),
        _ => raw_payload(Input(rest)),
    }
});
