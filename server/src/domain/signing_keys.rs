//! Signing keys. Generated on first start and kept in the database so every replica signs and
//! verifies with the same keys; private keys sealed with the master key. For each algorithm
//! there is a `current` key that signs, a `next` key already published (so caches learn it
//! before it signs) and, after rotations, `previous` keys that still verify the tokens they
//! signed: a key is retired only once every token it can have signed has expired, however
//! often keys rotate meanwhile. Each replica caches the keys for a few seconds; an unknown
//! `kid` reloads them, at most once a second (made-up kids cost no more than that).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use gatehouse_api_types::{KeyState, SigningAlg};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::db::signing_keys::KeyRow;
use crate::db::{self, parse_text, Conn};
use crate::domain::access_claims::{VerifiedTokens, VERIFIED_TOKENS};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::crypto::MasterKey;
use crate::error::{Error, Result};

/// How long a replica trusts its cached view of the keys.
const CACHE_FOR: Duration = Duration::from_secs(5);
/// An unknown `kid` reloads the keys only when the cached view is older than this.
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(1);
/// How long a key verifies after it stopped signing: no token lives longer than a day
/// (`--max-access-token-ttl` is at most 86400 s; ID tokens an hour), plus clock skew.
pub fn verifies_after_signing() -> chrono::Duration {
    chrono::Duration::hours(24) + chrono::Duration::minutes(5)
}

/// The `jsonwebtoken` algorithm of `alg`.
pub fn jwt_algorithm(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    }
}

/// A key ready to sign (when current) and to verify.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub jwk: Value,
    /// The private key parsed once, ready to sign (parsing it for every token cost as much as
    /// a P-256 signature).
    signer: Signer,
}

enum Signer {
    /// RS256 signs with OpenSSL: its RSA is about three times faster than ring's here, and an
    /// RSA signature is most of what an RS256 grant costs.
    Rsa(openssl::pkey::PKey<openssl::pkey::Private>),
    /// ES256 with ring, in JWS's fixed `r || s` form.
    Ecdsa(EcdsaKeyPair, SystemRandom),
    Ed25519(Ed25519KeyPair),
}

impl SigningKey {
    /// A fresh key of `alg` that is in no database (for tests and fuzzing).
    pub fn generate(alg: SigningAlg, state: KeyState) -> Result<SigningKey> {
        let generated = generate(alg)?;
        load_key(alg, &generated.private_der, generated.jwk, state)
    }

    /// A compact JWS of `claims` with `header` (RFC 7515), signed with this key.
    pub fn sign<T: serde::Serialize>(&self, header: &jsonwebtoken::Header, claims: &T) -> Result<String> {
        let mut message = b64(&serde_json::to_vec(header).map_err(Error::internal)?);
        message.push('.');
        message.push_str(&b64(&serde_json::to_vec(claims).map_err(Error::internal)?));
        let signature = match &self.signer {
            Signer::Rsa(pkey) => {
                let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), pkey)
                    .map_err(Error::internal)?;
                signer.update(message.as_bytes()).map_err(Error::internal)?;
                b64(&signer.sign_to_vec().map_err(Error::internal)?)
            }
            Signer::Ecdsa(pair, rng) => b64(pair.sign(rng, message.as_bytes()).map_err(Error::internal)?.as_ref()),
            Signer::Ed25519(pair) => b64(pair.sign(message.as_bytes()).as_ref()),
        };
        message.push('.');
        message.push_str(&signature);
        Ok(message)
    }
}

/// Fresh key material: the private key (DER) and the public JWK.
struct Generated {
    private_der: Vec<u8>,
    jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn generate(alg: SigningAlg) -> Result<Generated> {
    let rng = SystemRandom::new();
    let (private_der, public) = match alg {
        SigningAlg::RS256 => {
            // OpenSSL, which signs RS256 as well: the pure-Rust generator took seconds in an
            // unoptimized (fuzzing) build, and its time varies with the primes it tries.
            let key = openssl::rsa::Rsa::generate(2048).map_err(Error::internal)?;
            let der = key.private_key_to_der().map_err(Error::internal)?;
            let public = json!({ "kty": "RSA", "n": b64(&key.n().to_vec()), "e": b64(&key.e().to_vec()) });
            (der, public)
        }
        SigningAlg::ES256 => {
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(Error::internal)?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .map_err(Error::internal)?;
            let point = pair.public_key().as_ref();
            let public = json!({ "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]) });
            (pkcs8.as_ref().to_vec(), public)
        }
        SigningAlg::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(Error::internal)?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(Error::internal)?;
            let public = json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()) });
            (pkcs8.as_ref().to_vec(), public)
        }
    };
    let kid = thumbprint(&public);
    let mut jwk = public;
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg.as_str());
    jwk["use"] = json!("sig");
    Ok(Generated { private_der, jwk })
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(public: &Value) -> String {
    let members: &[&str] = match public["kty"].as_str() {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    let canonical: Vec<String> =
        members.iter().map(|m| format!("\"{m}\":\"{}\"", public[*m].as_str().unwrap_or_default())).collect();
    b64(&Sha256::digest(format!("{{{}}}", canonical.join(",")).as_bytes()))
}

fn load_key(alg: SigningAlg, private_der: &[u8], jwk: Value, state: KeyState) -> Result<SigningKey> {
    let text = |name: &str| jwk[name].as_str().unwrap_or_default().to_owned();
    let (encoding, decoding) = match alg {
        SigningAlg::RS256 => {
            (EncodingKey::from_rsa_der(private_der), DecodingKey::from_rsa_components(&text("n"), &text("e")))
        }
        SigningAlg::ES256 => {
            (EncodingKey::from_ec_der(private_der), DecodingKey::from_ec_components(&text("x"), &text("y")))
        }
        SigningAlg::EdDSA => (EncodingKey::from_ed_der(private_der), DecodingKey::from_ed_components(&text("x"))),
    };
    let signer = match alg {
        SigningAlg::RS256 => Signer::Rsa(
            openssl::rsa::Rsa::private_key_from_der(private_der)
                .and_then(openssl::pkey::PKey::from_rsa)
                .map_err(Error::internal)?,
        ),
        SigningAlg::ES256 => {
            let rng = SystemRandom::new();
            Signer::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, private_der, &rng)
                    .map_err(Error::internal)?,
                rng,
            )
        }
        SigningAlg::EdDSA => {
            Signer::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(private_der).map_err(Error::internal)?)
        }
    };
    Ok(SigningKey { kid: text("kid"), alg, state, encoding, decoding: decoding.map_err(Error::internal)?, jwk, signer })
}

/// A published key, for listing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub activated_at: Option<chrono::DateTime<chrono::Utc>>,
}

struct Cache {
    loaded_at: Option<Instant>,
    keys: Vec<Arc<SigningKey>>,
}

pub struct KeyStore {
    master: MasterKey,
    /// Access tokens this process has verified, with their claims.
    pub verified: VerifiedTokens,
    cache: RwLock<Cache>,
    /// How often the keys were read from the database (a metric).
    loads: std::sync::atomic::AtomicU64,
}

impl KeyStore {
    /// Checks that `master` is the key the database was sealed with, and makes sure every
    /// algorithm has a current and a next key.
    pub fn open(conn: &mut Conn, db: &db::Db, master: MasterKey) -> Result<KeyStore> {
        check_master_key(conn, db, &master)?;
        let store = KeyStore {
            master,
            cache: RwLock::new(Cache { loaded_at: None, keys: Vec::new() }),
            loads: Default::default(),
            verified: VerifiedTokens::new(VERIFIED_TOKENS),
        };
        store.ensure(conn, db)?;
        Ok(store)
    }

    fn ensure(&self, conn: &mut Conn, db: &db::Db) -> Result<()> {
        const KEPT_READY: [KeyState; 2] = [KeyState::Current, KeyState::Next];
        let missing = |conn: &mut Conn| -> Result<Vec<(SigningAlg, KeyState)>> {
            let present = db::signing_keys::current_and_next(conn)?;
            Ok(SigningAlg::ALL
                .iter()
                .flat_map(|&alg| KEPT_READY.map(|state| (alg, state)))
                .filter(|(alg, state)| !present.iter().any(|(a, s)| a == alg.as_str() && s == state.as_str()))
                .collect())
        };
        let wanted = missing(conn)?;
        if wanted.is_empty() {
            return Ok(());
        }
        // Generate outside the transaction (RSA takes a moment), insert under the lock, and
        // keep only what another replica has not inserted meanwhile.
        let fresh: Vec<(SigningAlg, KeyState, Generated)> =
            wanted.into_iter().map(|(alg, state)| generate(alg).map(|g| (alg, state, g))).collect::<Result<_>>()?;
        db.write_blocking(conn, |conn| {
            db::signing_keys::lock(conn)?;
            let still_missing = missing(conn)?;
            let now = db::to_db_time(db::now());
            for (alg, state, generated) in fresh {
                if still_missing.contains(&(alg, state)) {
                    self.insert(conn, alg, state, generated, now)?;
                }
            }
            Ok(())
        })
    }

    fn insert(
        &self,
        conn: &mut Conn,
        alg: SigningAlg,
        state: KeyState,
        generated: Generated,
        now: chrono::NaiveDateTime,
    ) -> Result<()> {
        let kid = generated.jwk["kid"].as_str().unwrap_or_default().to_owned();
        let row = KeyRow {
            private_key: self.master.seal(&kid, &generated.private_der)?,
            kid,
            alg: alg.as_str().to_owned(),
            state: state.as_str().to_owned(),
            public_jwk: generated.jwk.to_string(),
            created_at: now,
            activated_at: (state == KeyState::Current).then_some(now),
            retired_at: None,
        };
        db::signing_keys::insert(conn, &row)
    }

    /// The keys, from the cache when it is younger than `max_age`.
    fn keys(&self, conn: &mut Conn, max_age: Duration) -> Result<Vec<Arc<SigningKey>>> {
        {
            let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
            if cache.loaded_at.is_some_and(|at| at.elapsed() < max_age) {
                return Ok(cache.keys.clone());
            }
        }
        self.loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rows = db::signing_keys::published(conn)?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let Ok(alg) = row.alg.parse::<SigningAlg>() else { continue };
            let der = self.master.open(&row.kid, &row.private_key)?;
            let jwk: Value = db::from_json_text(&row.public_jwk)?;
            keys.push(Arc::new(load_key(alg, &der, jwk, parse_text(&row.state)?)?));
        }
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        *cache = Cache { loaded_at: Some(Instant::now()), keys: keys.clone() };
        Ok(keys)
    }

    /// How often the keys were read from the database.
    pub fn loads(&self) -> u64 {
        self.loads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The key that signs with `alg` now.
    pub fn signing(&self, conn: &mut Conn, alg: SigningAlg) -> Result<Arc<SigningKey>> {
        self.keys(conn, CACHE_FOR)?
            .into_iter()
            .find(|k| k.alg == alg && k.state == KeyState::Current)
            .ok_or_else(|| Error::internal(format!("no current {alg} key")))
    }

    /// The published key with this `kid` (current, next or previous), if any.
    pub fn verifying(&self, conn: &mut Conn, kid: &str) -> Result<Option<Arc<SigningKey>>> {
        let find = |keys: Vec<Arc<SigningKey>>| keys.into_iter().find(|k| k.kid == kid);
        if let Some(key) = find(self.keys(conn, CACHE_FOR)?) {
            return Ok(Some(key));
        }
        Ok(find(self.keys(conn, RELOAD_AT_MOST_EVERY)?))
    }

    /// The JSON Web Key Set: every key that is next, current or previous, read fresh.
    pub fn jwks(conn: &mut Conn) -> Result<Value> {
        let jwks = db::signing_keys::published_jwks(conn)?;
        let keys = jwks.iter().map(|j| db::from_json_text::<Value>(j)).collect::<Result<Vec<_>>>()?;
        Ok(json!({ "keys": keys }))
    }

    pub fn list(conn: &mut Conn) -> Result<Vec<KeyInfo>> {
        let rows = db::signing_keys::published_in_order(conn)?;
        rows.into_iter()
            .map(|r| {
                Ok(KeyInfo {
                    alg: parse_text(&r.alg)?,
                    state: parse_text(&r.state)?,
                    kid: r.kid,
                    created_at: db::from_db_time(r.created_at),
                    activated_at: r.activated_at.map(db::from_db_time),
                })
            })
            .collect()
    }

    /// Rotates every algorithm: current → previous, next → current, and a new next; previous
    /// keys that stopped signing over [`verifies_after_signing`] ago → retired. Returns the new
    /// current kids. `fresh` are the new next keys, made beforehand. `retired_at` is when a key
    /// stopped signing.
    fn rotate_in(&self, conn: &mut Conn, fresh: Vec<(SigningAlg, Generated)>, event: NewEvent) -> Result<Vec<String>> {
        db::signing_keys::lock(conn)?;
        let now = db::now();
        db::signing_keys::advance_states(conn, now, now - verifies_after_signing())?;
        let now = db::to_db_time(now);
        for (alg, generated) in fresh {
            self.insert(conn, alg, KeyState::Next, generated, now)?;
        }
        let current = db::signing_keys::current_kids(conn)?;
        db::audit::append(conn, vec![event.changes(json!({ "current": current }))])?;
        Ok(current)
    }

    /// Rotates the keys of every algorithm (see [`Self::rotate_in`]).
    pub fn rotate(&self, conn: &mut Conn, db: &db::Db, event: NewEvent) -> Result<Vec<String>> {
        let fresh = SigningAlg::ALL.iter().map(|&alg| generate(alg).map(|g| (alg, g))).collect::<Result<Vec<_>>>()?;
        let current = db.write_blocking(conn, |conn| self.rotate_in(conn, fresh, event))?;
        self.keys(conn, Duration::ZERO)?;
        Ok(current)
    }
}

/// Records the master key's check value on first use; refuses a different key later.
fn check_master_key(conn: &mut Conn, db: &db::Db, master: &MasterKey) -> Result<()> {
    let check = master.check_value();
    let stored = db::signing_keys::master_key_check(conn)?;
    match stored {
        Some(value) if value == check => Ok(()),
        Some(_) => Err(Error::bad_request(
            "the master key does not match the one this database was set up with (GATEHOUSE_MASTER_KEY or the key file)",
        )),
        None => db.write_blocking(conn, |conn| match db::signing_keys::insert_master_key_check(conn, &check) {
            // Another replica recorded it first.
            Ok(()) | Err(Error::Conflict(_)) => Ok(()),
            Err(other) => Err(other),
        }),
    }
}

/// The audit event of a rotation by `actor`.
pub fn rotation_event(actor: Actor) -> NewEvent {
    NewEvent::new(actor, "keys.rotate").target("keys", "signing")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify_and_have_thumbprint_kids() {
        for &alg in SigningAlg::ALL {
            let generated = generate(alg).unwrap();
            let key = load_key(alg, &generated.private_der, generated.jwk.clone(), KeyState::Current).unwrap();
            assert_eq!(key.kid.len(), 43, "SHA-256 thumbprint, base64url");
            let mut header = jsonwebtoken::Header::new(jwt_algorithm(alg));
            header.kid = Some(key.kid.clone());
            let token =
                jsonwebtoken::encode(&header, &json!({ "sub": "x", "exp": 4_000_000_000u64 }), &key.encoding).unwrap();
            let mut validation = jsonwebtoken::Validation::new(jwt_algorithm(alg));
            validation.validate_aud = false;
            let decoded = jsonwebtoken::decode::<Value>(&token, &key.decoding, &validation).unwrap();
            assert_eq!(decoded.claims["sub"], "x");
            // The server's own signer (keys parsed once) makes tokens the same verifier takes.
            let ours = key.sign(&header, &json!({ "sub": "y", "exp": 4_000_000_000u64 })).unwrap();
            let decoded = jsonwebtoken::decode::<Value>(&ours, &key.decoding, &validation).unwrap();
            assert_eq!(decoded.claims["sub"], "y", "{alg:?}");
        }
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
        });
        assert_eq!(thumbprint(&jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}
