//! `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a client authenticates with a JWT
//! it signed with one of its registered keys (`jwks` inline, or fetched from `jwks_uri`).
//!
//! An assertion is accepted when its signature verifies with a key of the client's set (by
//! `kid`, or any key when it names none), `iss` and `sub` are the client's id, `aud` names this
//! server (the issuer or the endpoint it is presented to), it has not expired and lives at most
//! ten minutes, and its `jti` was never accepted before, on any replica (kept until it expires:
//! [`crate::db::client_assertions`]). The client must be registered for `private_key_jwt`; it
//! has no secret. Its state and its owner's grants are then read as for a secret
//! ([`super::authn::accept`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use gatehouse_api_types::TokenEndpointAuthMethod;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::audit::Actor;
use super::authn::{self, Authentication};
use crate::db::ids::ClientId;
use crate::db::{self, Db};
use crate::error::Result;

/// `client_assertion_type` of a JWT client assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The algorithms a client may sign assertions with (never a shared-secret MAC).
pub const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// How far ahead an assertion may expire: it is remembered until then.
const MAX_LIFETIME: i64 = 600;
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY: u64 = 30;

/// Checks a JWK Set as a client registers it: every key parses as a public key the server can
/// verify with.
pub fn check_key_set(set: &Value) -> std::result::Result<(), String> {
    let set: JwkSet = serde_json::from_value(set.clone()).map_err(|e| format!("is not a JWK Set: {e}"))?;
    for key in &set.keys {
        DecodingKey::from_jwk(key).map_err(|e| {
            format!("key {} is not a usable public key: {e}", key.common.key_id.as_deref().unwrap_or("?"))
        })?;
    }
    Ok(())
}

/// The client an assertion names (`sub`, else `iss`), read without verifying anything: whom to
/// look up when the request carries no `client_id`.
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    use base64::Engine;
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub").or_else(|| claims.get("iss")).and_then(Value::as_str).map(str::to_owned)
}

/// What a verified assertion leaves to check: its id and when it may be forgotten.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

/// Verifies `assertion` for `client_id` with `keys`; `audiences` are the names of this server
/// the assertion may be addressed to. The reason of a refusal is for the audit log.
pub fn verify(
    assertion: &str,
    client_id: &str,
    audiences: &[String],
    keys: &JwkSet,
    now: DateTime<Utc>,
) -> std::result::Result<Verified, &'static str> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| "client assertion: not a signed JWT")?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err("client assertion: algorithm not allowed");
    }
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY;
    validation.validate_nbf = true;
    validation.set_audience(audiences);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let claims = match signed_claims(assertion, header.kid.as_deref(), keys, &validation) {
        Ok(claims) => claims,
        Err(None) => return Err("client assertion: no registered key has its kid"),
        Err(Some(kind)) => {
            use jsonwebtoken::errors::ErrorKind;
            return Err(match kind {
                ErrorKind::ExpiredSignature => "client assertion: expired",
                ErrorKind::ImmatureSignature => "client assertion: not yet valid",
                ErrorKind::InvalidAudience => "client assertion: not addressed to this server",
                ErrorKind::InvalidIssuer | ErrorKind::InvalidSubject => {
                    "client assertion: iss and sub must be the client_id"
                }
                ErrorKind::MissingRequiredClaim(_) => "client assertion: exp, iss, sub and aud are required",
                _ => "client assertion: signature does not verify",
            });
        }
    };
    checked_claims(&claims, now)
}

/// The claims of `jwt` once its signature verifies with a signing key of `keys` (the one `kid`
/// names, or any when it names none) and `validation` passes. `Err(None)`: no key to try;
/// `Err(Some(kind))`: why the last key tried refused it.
pub fn signed_claims(
    jwt: &str,
    kid: Option<&str>,
    keys: &JwkSet,
    validation: &Validation,
) -> std::result::Result<Value, Option<jsonwebtoken::errors::ErrorKind>> {
    let candidates: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
        .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .collect();
    if candidates.is_empty() {
        return Err(None);
    }
    let mut last = jsonwebtoken::errors::ErrorKind::InvalidSignature;
    for key in candidates {
        let Ok(decoding) = DecodingKey::from_jwk(key) else { continue };
        match jsonwebtoken::decode::<Value>(jwt, &decoding, validation) {
            Ok(data) => return Ok(data.claims),
            // A key of another type, or a signature that fails with it: try the next key.
            Err(e) => last = e.into_kind(),
        }
    }
    Err(Some(last))
}

fn checked_claims(claims: &Value, now: DateTime<Utc>) -> std::result::Result<Verified, &'static str> {
    let jti = claims.get("jti").and_then(Value::as_str).filter(|j| !j.is_empty() && j.len() <= 256);
    let Some(jti) = jti else { return Err("client assertion: jti (1 to 256 characters) is required") };
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or("client assertion: exp is required")?;
    if exp > now.timestamp() + MAX_LIFETIME {
        return Err("client assertion: lives longer than 10 minutes");
    }
    let expires_at = DateTime::from_timestamp(exp, 0).ok_or("client assertion: exp out of range")?;
    Ok(Verified { jti: jti.to_owned(), expires_at: expires_at + chrono::Duration::seconds(LEEWAY as i64) })
}

/// A client's registered public keys: its inline `jwks`, else the set at its `jwks_uri`
/// (through `cache`; fetched again when `kid` is not in it). Blocking: it may fetch.
pub fn client_keys(
    cache: &JwksCache,
    jwks: Option<&Value>,
    jwks_uri: Option<&str>,
    kid: Option<&str>,
) -> std::result::Result<Arc<JwkSet>, &'static str> {
    match (jwks, jwks_uri) {
        (Some(set), _) => serde_json::from_value::<JwkSet>(set.clone())
            .map(Arc::new)
            .map_err(|_| "the client's jwks is not a JWK Set"),
        (None, Some(uri)) => cache.keys(uri, kid),
        (None, None) => Err("the client has no keys (jwks or jwks_uri)"),
    }
}

/// Where an assertion's `jti` is remembered: one row per client and `jti`.
fn replay_key(client_id: &str, jti: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(client_id.as_bytes());
    hash.update([0]);
    hash.update(jti.as_bytes());
    hex::encode(hash.finalize())
}

/// Authenticates a client by its assertion. Runs on a blocking thread (it may fetch the
/// client's `jwks_uri`).
pub fn authenticate(
    db: &Db,
    cache: &JwksCache,
    client_id: &str,
    assertion: &str,
    audiences: &[String],
) -> Result<Authentication> {
    let found = db.credential(&mut *db.get()?, ClientId(client_id), db::now())?;
    let Some(credential) = found else {
        return Ok(Authentication::Rejected { reason: "unknown client_id", actor: Actor::anonymous() });
    };
    let actor = credential.actor();
    let rejected = |reason| Ok(Authentication::Rejected { reason, actor: actor.clone() });
    if credential.profile.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
        return rejected("the client is not registered for private_key_jwt");
    }
    let kid = jsonwebtoken::decode_header(assertion).ok().and_then(|h| h.kid);
    let keys = match client_keys(cache, credential.jwks.as_ref(), credential.jwks_uri.as_deref(), kid.as_deref()) {
        Ok(keys) => keys,
        Err(reason) => return rejected(reason),
    };
    let verified = match verify(assertion, client_id, audiences, &keys, db::now()) {
        Ok(verified) => verified,
        Err(reason) => return rejected(reason),
    };
    let key = replay_key(client_id, &verified.jti);
    let mut conn = db.get()?;
    let first_use =
        db.write_blocking(&mut conn, |c| db::client_assertions::accept_once(c, &key, verified.expires_at))?;
    if !first_use {
        return rejected("client assertion: replayed (its jti was used before)");
    }
    Ok(authn::accept(credential, actor, false))
}

/// The key sets of clients' `jwks_uri`, fetched on first use, kept five minutes, fetched again
/// sooner when an assertion names a `kid` the set lacks (a client rotated its keys) — at most
/// every five seconds per URL, so that unknown `kid`s cannot make the server fetch in a loop. A
/// fetch that failed is not tried again for as long: a `jwks_uri` that hangs would otherwise
/// hold a blocking thread for the fetch's timeout on every request naming its client, and
/// client ids are not secret. One fetch per URL is in flight at a time: requests that need the
/// same URL meanwhile wait for its outcome instead of fetching it again.
#[derive(Default)]
pub struct JwksCache {
    urls: Mutex<HashMap<String, Arc<Mutex<Known>>>>,
}

/// What is known of one URL. Its lock is held while the URL is fetched.
#[derive(Default)]
struct Known {
    /// The keys fetched last, and when.
    keys: Option<(Instant, Arc<JwkSet>)>,
    /// The last fetch, when it failed: when, and why.
    failed: Option<(Instant, &'static str)>,
}

const FRESH: Duration = Duration::from_secs(300);
const REFETCH_AFTER: Duration = Duration::from_secs(5);
const MAX_DOCUMENT: u64 = 256 * 1024;
/// URLs remembered at most (all are forgotten at once beyond it: clients rarely have one).
const MAX_URLS: usize = 1024;

impl JwksCache {
    pub fn keys(&self, uri: &str, kid: Option<&str>) -> std::result::Result<Arc<JwkSet>, &'static str> {
        let url = {
            let mut urls = self.urls.lock().expect("jwks cache");
            if urls.len() >= MAX_URLS && !urls.contains_key(uri) {
                urls.clear();
            }
            urls.entry(uri.to_owned()).or_default().clone()
        };
        // A fetch that panicked left nothing half-written: its outcome was never stored.
        let mut known = url.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = known.keys.clone().filter(|(fetched, _)| fetched.elapsed() < FRESH);
        if let Some((fetched, keys)) = &fresh {
            let has_kid = kid.is_none_or(|kid| keys.find(kid).is_some());
            if has_kid || fetched.elapsed() < REFETCH_AFTER {
                return Ok(keys.clone());
            }
        }
        let failed_lately = known.failed.filter(|(at, _)| at.elapsed() < REFETCH_AFTER).map(|(_, reason)| reason);
        match failed_lately.map_or_else(|| fetch(uri), Err) {
            Ok(keys) => {
                let keys = Arc::new(keys);
                *known = Known { keys: Some((Instant::now(), keys.clone())), failed: None };
                Ok(keys)
            }
            // An unreachable URL: the keys fetched last, while they are fresh.
            Err(reason) => {
                if failed_lately.is_none() {
                    known.failed = Some((Instant::now(), reason));
                }
                fresh.map(|(_, keys)| keys).ok_or(reason)
            }
        }
    }
}

fn fetch(uri: &str) -> std::result::Result<JwkSet, &'static str> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).redirects(0).build();
    let response = agent.get(uri).set("Accept", "application/json").call().map_err(|e| {
        log::warn!("fetching a client's jwks_uri failed: {e}");
        "the client's jwks_uri could not be fetched"
    })?;
    let mut body = Vec::new();
    use std::io::Read;
    response
        .into_reader()
        .take(MAX_DOCUMENT + 1)
        .read_to_end(&mut body)
        .map_err(|_| "the client's jwks_uri could not be read")?;
    if body.len() as u64 > MAX_DOCUMENT {
        return Err("the client's jwks_uri document is too large");
    }
    let set: Value = serde_json::from_slice(&body).map_err(|_| "the client's jwks_uri did not return JSON")?;
    if gatehouse_api_types::checks::jwks(&set).is_err() || check_key_set(&set).is_err() {
        return Err("the client's jwks_uri did not return a usable JWK Set");
    }
    serde_json::from_value(set).map_err(|_| "the client's jwks_uri did not return a JWK Set")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local `jwks_uri` that answers every request with 500 after `delay`, and the number of
    /// requests it has had.
    fn failing_jwks_uri(delay: Duration) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let uri = format!("http://{}/jwks", listener.local_addr().unwrap());
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = stream.read(&mut [0u8; 4096]);
                std::thread::sleep(delay);
                let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n");
            }
        });
        (uri, requests)
    }

    #[test]
    fn a_failed_jwks_uri_fetch_is_not_tried_again_for_a_while() {
        use std::sync::atomic::Ordering;
        let (uri, requests) = failing_jwks_uri(Duration::ZERO);
        let cache = JwksCache::default();
        let first = cache.keys(&uri, Some("k1")).unwrap_err();
        assert_eq!(first, "the client's jwks_uri could not be fetched");
        assert_eq!(cache.keys(&uri, Some("k2")).unwrap_err(), first, "the same answer, not fetched again");
        assert_eq!(requests.load(Ordering::SeqCst), 1);
        // Once the failure is older than REFETCH_AFTER, the URL is tried again.
        {
            let url = cache.urls.lock().unwrap()[&uri].clone();
            let mut known = url.lock().unwrap();
            known.failed = known.failed.map(|(at, reason)| (at - REFETCH_AFTER, reason));
        }
        assert!(cache.keys(&uri, None).is_err());
        assert_eq!(requests.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn requests_for_a_url_being_fetched_wait_for_that_fetch() {
        use std::sync::atomic::Ordering;
        let (uri, requests) = failing_jwks_uri(Duration::from_millis(300));
        let cache = Arc::new(JwksCache::default());
        let callers: Vec<_> = (0..6)
            .map(|i| {
                let (cache, uri) = (cache.clone(), uri.clone());
                std::thread::spawn(move || cache.keys(&uri, Some(&format!("k{i}"))))
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.join().unwrap().unwrap_err(), "the client's jwks_uri could not be fetched");
        }
        assert_eq!(requests.load(Ordering::SeqCst), 1, "six concurrent first uses, one fetch");
    }

    #[test]
    fn the_claimed_client_is_read_from_sub_then_iss() {
        use base64::Engine;
        let part = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let jwt = |claims: Value| format!("{}.{}.sig", part(serde_json::json!({"alg": "ES256"})), part(claims));
        assert_eq!(claimed_client_id(&jwt(serde_json::json!({"sub": "a", "iss": "b"}))).as_deref(), Some("a"));
        assert_eq!(claimed_client_id(&jwt(serde_json::json!({"iss": "b"}))).as_deref(), Some("b"));
        assert_eq!(claimed_client_id("not a jwt"), None);
        assert_eq!(replay_key("c", "j"), replay_key("c", "j"));
        assert_ne!(replay_key("c", "j"), replay_key("cj", ""));
    }
}
