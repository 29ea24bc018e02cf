//! DPoP (RFC 9449): a client proves, with every token request and every use of a token, that
//! it holds a private key; tokens issued with a proof are bound to that key (`cnf.jkt`, the
//! key's RFC 7638 thumbprint) and count only with a fresh proof by the same key.
//!
//! A proof is a JWT with `typ: dpop+jwt`, an asymmetric `alg` ([`ALGORITHMS`]) and the public
//! key in its header (`jwk`, no private member), signed by that key, whose claims say which
//! request it is for (`htm`, `htu` without query and fragment), when it was made (`iat`, at
//! most [`MAX_AGE`] seconds old), once (`jti`, remembered on every replica until the proof is
//! too old anyway: [`crate::db::dpop_proofs`]) and, with a token, which token (`ath`).
//!
//! Server nonces ([`Nonces`]) are stateless: an HMAC of a five-minute window under a key
//! derived from the master key, so every replica issues and accepts the same ones without
//! sharing memory. The token endpoint requires one (ADR 0016); resources do not look at them.

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::db::{self, Conn, Db};
use crate::domain::crypto::{same, MasterKey};
use crate::error::Result;

/// The algorithms a proof may be signed with (never a shared-secret MAC, never `none`).
/// `Ed25519` is the fully-specified name of `EdDSA` with an Ed25519 key (RFC 9864), which
/// current client libraries (openid-client 6) send.
pub const ALGORITHMS: [Algorithm; 5] =
    [Algorithm::ES256, Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA, Algorithm::EdDSA];
/// Their names, as discovery and `WWW-Authenticate` list them.
pub const ALGORITHM_NAMES: [&str; 5] = ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"];
/// How old a proof may be (its `iat`), in seconds; its `jti` is remembered that long.
pub const MAX_AGE: i64 = 120;
/// How far ahead of the server's clock a proof's `iat` may be.
pub const SKEW: i64 = 30;
/// The longest proof read (a JWT with an RSA key in its header is about 1.5 KiB).
pub const MAX_PROOF: usize = 8192;
/// The header a proof comes in.
pub const HEADER: &str = "DPoP";
/// The header a server nonce is sent in.
pub const NONCE_HEADER: &str = "DPoP-Nonce";
/// How long a nonce window lasts; a nonce is accepted in its window and the next.
const NONCE_WINDOW: i64 = 300;

/// What a proof says once its signature has verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the key that signed it.
    pub jkt: String,
    pub jti: String,
    pub htm: String,
    pub htu: String,
    pub iat: i64,
    pub ath: Option<String>,
    pub nonce: Option<String>,
}

/// Why a proof is refused: a reason (for the client and the audit log), or a missing or stale
/// nonce (`use_dpop_nonce`: the client retries with the nonce sent along).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Invalid(&'static str),
    UseNonce,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Invalid(reason) => reason,
            Refusal::UseNonce => "DPoP proof: a fresh server nonce is required (see the DPoP-Nonce header)",
        }
    }
}

/// What the request a proof comes with is.
pub struct Request<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The URL the request was made to, as the server is named (the issuer's base).
    pub url: &'a str,
    /// The access token presented with the proof (its `ath` must be its hash).
    pub access_token: Option<&'a str>,
    /// Whether a nonce is required.
    pub nonce_required: bool,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

/// Parses a proof and verifies its signature with the key it carries. Checks nothing about
/// the request, the time or replays ([`check`], [`accept_once`]).
pub fn parse(proof: &str) -> std::result::Result<Proof, &'static str> {
    if proof.len() > MAX_PROOF {
        return Err("DPoP proof: too long");
    }
    let mut parts = proof.split('.');
    let (Some(head), Some(body), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("DPoP proof: not a signed JWT");
    };
    let header: Value = b64()
        .decode(head)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("DPoP proof: the header is not base64url JSON")?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err("DPoP proof: typ must be dpop+jwt");
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    let Some(index) = ALGORITHM_NAMES.iter().position(|a| *a == alg) else {
        return Err("DPoP proof: alg must be one of ES256, RS256, PS256, EdDSA, Ed25519");
    };
    let alg = ALGORITHMS[index];
    let Some(jwk_value) = header.get("jwk").filter(|j| j.is_object()) else {
        return Err("DPoP proof: the header must carry the public key (jwk)");
    };
    if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"].iter().any(|m| jwk_value.get(m).is_some()) {
        return Err("DPoP proof: the jwk must be a public key (it has a private member)");
    }
    let jkt = thumbprint(jwk_value).ok_or("DPoP proof: the jwk is not an EC, RSA or OKP public key")?;
    // The key must be of the algorithm's kind (an RSA key is never checked as an EC key).
    let kind = (jwk_value.get("kty").and_then(Value::as_str), jwk_value.get("crv").and_then(Value::as_str));
    let fits = match alg {
        Algorithm::ES256 => kind == (Some("EC"), Some("P-256")),
        Algorithm::RS256 | Algorithm::PS256 => kind.0 == Some("RSA"),
        _ => kind == (Some("OKP"), Some("Ed25519")),
    };
    if !fits {
        return Err("DPoP proof: the jwk is not a key of the alg's kind");
    }
    let jwk: Jwk = serde_json::from_value(jwk_value.clone()).map_err(|_| "DPoP proof: the jwk does not parse")?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "DPoP proof: the jwk is not a usable public key")?;
    // The signature over the first two parts, checked here rather than by `jsonwebtoken::decode`,
    // whose header type does not know RFC 9864's `Ed25519`. A key of another family than the
    // algorithm's never verifies.
    let message = &proof[..head.len() + 1 + body.len()];
    let verified = jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg).unwrap_or(false);
    if !verified {
        return Err("DPoP proof: the signature does not verify with its jwk");
    }
    let claims: Value = b64()
        .decode(body)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(Value::is_object)
        .ok_or("DPoP proof: the claims are not a base64url JSON object")?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let jti = text("jti").filter(|j| !j.is_empty() && j.len() <= 256);
    let Some(jti) = jti else { return Err("DPoP proof: jti (1 to 256 characters) is required") };
    let (Some(htm), Some(htu)) = (text("htm"), text("htu")) else {
        return Err("DPoP proof: htm and htu are required");
    };
    let Some(iat) = claims.get("iat").and_then(Value::as_i64) else {
        return Err("DPoP proof: iat (a number) is required");
    };
    Ok(Proof { jkt, jti, htm, htu, iat, ath: text("ath"), nonce: text("nonce") })
}

/// Checks a verified proof against the request it came with, at `now`; `nonces` knows the
/// server's nonces.
pub fn check(
    proof: &Proof,
    request: &Request<'_>,
    nonces: &Nonces,
    now: DateTime<Utc>,
) -> std::result::Result<(), Refusal> {
    if !proof.htm.eq_ignore_ascii_case(request.method) {
        return Err(Refusal::Invalid("DPoP proof: htm is not this request's method"));
    }
    if !same_target(&proof.htu, request.url) {
        return Err(Refusal::Invalid("DPoP proof: htu is not this request's URL"));
    }
    let now = now.timestamp();
    if proof.iat < now - MAX_AGE {
        return Err(Refusal::Invalid("DPoP proof: too old (iat)"));
    }
    if proof.iat > now + SKEW {
        return Err(Refusal::Invalid("DPoP proof: issued in the future (iat)"));
    }
    match (request.access_token, &proof.ath) {
        (Some(token), Some(ath)) if same(ath, &token_hash(token)) => {}
        (Some(_), Some(_)) => return Err(Refusal::Invalid("DPoP proof: ath is not the hash of this access token")),
        (Some(_), None) => return Err(Refusal::Invalid("DPoP proof: ath is required with an access token")),
        (None, _) => {}
    }
    // Where nonces are not required (resources) a nonce is not looked at: clients keep the
    // token endpoint's nonce per origin and send it along after it went stale, and a resource
    // has no round to give them a fresh one.
    match &proof.nonce {
        _ if !request.nonce_required => Ok(()),
        Some(nonce) if nonces.valid(nonce, now) => Ok(()),
        _ => Err(Refusal::UseNonce),
    }
}

/// `htu` names `url` when both parse and agree without their query and fragment (§4.3);
/// `url` handles the case of the scheme and host and the default ports.
fn same_target(htu: &str, url: &str) -> bool {
    let strip = |text: &str| {
        url::Url::parse(text).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    matches!((strip(htu), strip(url)), (Some(a), Some(b)) if a == b)
}

/// Records a checked proof's `jti` for its key, on every replica, until it is too old to be
/// accepted; false when it was seen before (a replay). Runs on a blocking thread.
pub fn accept_once(db: &Db, conn: &mut Conn, proof: &Proof) -> Result<bool> {
    let key = replay_key(&proof.jkt, &proof.jti);
    let until = DateTime::from_timestamp(proof.iat + MAX_AGE + 1, 0).unwrap_or_else(db::now);
    db.write_blocking(conn, |c| db::dpop_proofs::accept_once(c, &key, until))
}

/// Whether a refusal of a token's use is about its DPoP proof (`invalid_dpop_proof`) rather
/// than the token (`invalid_token`): its reason says so.
pub fn is_proof_refusal(reason: &str) -> bool {
    reason.starts_with("DPoP proof:")
}

/// Whether a refusal of a token's use concerns DPoP at all (answered with a `DPoP` challenge).
pub fn is_dpop_refusal(reason: &str) -> bool {
    reason.starts_with("DPoP")
}

fn replay_key(jkt: &str, jti: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(jkt.as_bytes());
    hash.update([0]);
    hash.update(jti.as_bytes());
    hex::encode(hash.finalize())
}

/// `ath`: the base64url SHA-256 of an access token.
pub fn token_hash(token: &str) -> String {
    b64().encode(Sha256::digest(token.as_bytes()))
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 of its required members, in
/// lexicographic order, as compact JSON.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&serde_json::to_string(name).ok()?);
        canonical.push(':');
        canonical.push_str(&serde_json::to_string(value).ok()?);
    }
    canonical.push('}');
    Some(b64().encode(Sha256::digest(canonical.as_bytes())))
}

/// The server's DPoP nonces: an HMAC of the current five-minute window, the same on every
/// replica (the key is derived from the master key), accepted in its window and the next.
pub struct Nonces {
    key: [u8; 32],
}

impl Nonces {
    pub fn new(master: &MasterKey) -> Nonces {
        Nonces { key: master.derive("dpop-nonce") }
    }

    fn of_window(&self, window: i64) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(&window.to_be_bytes());
        b64().encode(&mac.finalize().into_bytes()[..18])
    }

    /// The nonce to hand out at `now` (unix seconds).
    pub fn current(&self, now: i64) -> String {
        self.of_window(now.div_euclid(NONCE_WINDOW))
    }

    pub fn valid(&self, nonce: &str, now: i64) -> bool {
        let window = now.div_euclid(NONCE_WINDOW);
        same(nonce, &self.of_window(window)) || same(nonce, &self.of_window(window - 1))
    }
}

/// The `WWW-Authenticate` challenge of a resource refusing a token or proof.
pub fn challenge(error: &str, description: &str) -> String {
    format!(
        "DPoP error=\"{error}\", error_description=\"{}\", algs=\"{}\"",
        description.replace(['"', '\\'], "'"),
        ALGORITHM_NAMES.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(thumbprint(&jwk).as_deref(), Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
        assert_eq!(thumbprint(&json!({"kty": "oct", "k": "x"})), None);
    }

    #[test]
    fn nonces_last_their_window_and_the_next() {
        let nonces = Nonces { key: [7; 32] };
        let now = 1_800_000_000;
        let nonce = nonces.current(now);
        assert!(nonces.valid(&nonce, now));
        assert!(nonces.valid(&nonce, now + NONCE_WINDOW));
        assert!(!nonces.valid(&nonce, now + 2 * NONCE_WINDOW));
        assert!(!nonces.valid(&nonce, now - NONCE_WINDOW));
        assert!(!Nonces { key: [8; 32] }.valid(&nonce, now));
    }

    #[test]
    fn htu_is_compared_without_query_and_fragment() {
        assert!(same_target("https://id.example/oauth/token?x=1#f", "https://ID.example:443/oauth/token"));
        assert!(!same_target("https://id.example/oauth/token2", "https://id.example/oauth/token"));
        assert!(!same_target("http://id.example/oauth/token", "https://id.example/oauth/token"));
        assert!(!same_target("not a url", "https://id.example/oauth/token"));
    }

    #[test]
    fn malformed_proofs_are_refused_before_any_key_is_used() {
        assert_eq!(parse("a.b"), Err("DPoP proof: not a signed JWT"));
        let part = |v: Value| b64().encode(v.to_string());
        let jwt = |h: Value| format!("{}.{}.c2ln", part(h), part(json!({})));
        assert_eq!(parse(&jwt(json!({"typ": "JWT", "alg": "ES256"}))), Err("DPoP proof: typ must be dpop+jwt"));
        assert!(parse(&jwt(json!({"typ": "dpop+jwt", "alg": "HS256"}))).unwrap_err().contains("alg"));
        assert!(parse(&jwt(json!({"typ": "dpop+jwt", "alg": "none"}))).unwrap_err().contains("alg"));
        let private = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"}});
        assert!(parse(&jwt(private)).unwrap_err().contains("private"));
        // An RSA key named with an EC algorithm (or the reverse) is refused before any check.
        for (alg, jwk) in [
            ("ES256", json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})),
            ("EdDSA", json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})),
            ("RS256", json!({"kty": "OKP", "crv": "Ed25519", "x": "AQAB"})),
            ("Ed25519", json!({"kty": "EC", "crv": "P-256", "x": "AQAB", "y": "AQAB"})),
        ] {
            let refused = parse(&jwt(json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk})));
            assert_eq!(refused, Err("DPoP proof: the jwk is not a key of the alg's kind"), "{alg}");
        }
    }
}
