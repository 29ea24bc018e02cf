//! Client secrets: random, shown once, stored only as an argon2id hash, rotated only by whoever
//! holds everything the client may do. To keep argon2 off the
//! hot path, a successful verification is remembered in a bounded in-memory cache keyed by a
//! SHA-256 digest of the presented credential and bound to the stored hash it matched. Each
//! request still checks against the client's current hashes (read, or confirmed unchanged by the
//! credential epoch: ADR 0020), so a rotated, expired or
//! deleted secret, a disabled client or a changed owner takes effect on the next request, on
//! every replica: the cache can only confirm a match against a hash that is still stored.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Duration as Overlap, Utc};
use rand::{Rng, RngCore};
use serde_json::json;
use uuid::Uuid;

use super::audit::REDACTED;
use super::clients::{self, ClientView, Secret};
use super::power::{require_power_over, Control};
use super::Context;
use crate::db::ids::ClientUuid;
use crate::db::{self, Conn};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};

type Digest32 = [u8; 32];

/// How long a request waits for another's verification of the same credential before it
/// verifies on its own.
const WAIT_FOR_TURN: Duration = Duration::from_secs(30);

/// 256 random bits, base64url without padding (43 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A public client identifier: 24 characters of `[a-z0-9]` (about 124 bits).
pub fn generate_client_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    (0..24).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

pub struct VerifiedSecrets {
    cache: quick_cache::sync::Cache<Digest32, Digest32>,
    /// Verifications under way, by presented credential (see [`VerifiedSecrets::turn`]).
    verifying: Mutex<HashMap<Digest32, Arc<Flight>>>,
}

/// A verification under way; waiters are woken when it ends.
#[derive(Default)]
struct Flight {
    ended: Mutex<bool>,
    wake: Condvar,
}

/// The right to verify a credential: other requests presenting it wait until this is dropped.
pub struct Turn<'a> {
    secrets: &'a VerifiedSecrets,
    key: Digest32,
    flight: Option<Arc<Flight>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let Some(flight) = self.flight.take() else { return };
        self.secrets.verifying.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
        *flight.ended.lock().unwrap_or_else(|p| p.into_inner()) = true;
        flight.wake.notify_all();
    }
}

/// The cache key of a presented credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialKey(Digest32);

impl CredentialKey {
    pub fn new(client_id: &str, secret: &str) -> Self {
        let mut h = Sha256::new();
        h.update(client_id.as_bytes());
        h.update([0u8]);
        h.update(secret.as_bytes());
        CredentialKey(h.finalize().into())
    }
}

fn digest(stored_hash: &str) -> Digest32 {
    Sha256::digest(stored_hash.as_bytes()).into()
}

impl VerifiedSecrets {
    pub fn new(capacity: usize) -> Self {
        VerifiedSecrets { cache: quick_cache::sync::Cache::new(capacity.max(1)), verifying: Mutex::new(HashMap::new()) }
    }

    /// Waits until no other request is verifying this credential, and takes the turn. Parallel
    /// requests presenting one secret (a service starting many workers) so verify it once: the
    /// others then find it remembered, and spend neither argon2 nor a brute-force attempt.
    pub fn turn(&self, key: CredentialKey) -> Turn<'_> {
        let deadline = Instant::now() + WAIT_FOR_TURN;
        loop {
            let flight = {
                let mut verifying = self.verifying.lock().unwrap_or_else(|p| p.into_inner());
                match verifying.get(&key.0) {
                    Some(flight) => flight.clone(),
                    None => {
                        let flight = Arc::new(Flight::default());
                        verifying.insert(key.0, flight.clone());
                        return Turn { secrets: self, key: key.0, flight: Some(flight) };
                    }
                }
            };
            let mut ended = flight.ended.lock().unwrap_or_else(|p| p.into_inner());
            while !*ended {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    // Waited long enough: verify alongside (still throttled like any attempt).
                    return Turn { secrets: self, key: key.0, flight: None };
                }
                ended = flight.wake.wait_timeout(ended, left).unwrap_or_else(|p| p.into_inner()).0;
            }
        }
    }

    /// True when this credential was verified before against one of `stored_hashes`.
    pub fn confirms<'a>(&self, key: CredentialKey, stored_hashes: impl IntoIterator<Item = &'a str>) -> bool {
        match self.cache.get(&key.0) {
            Some(remembered) => stored_hashes.into_iter().any(|h| digest(h) == remembered),
            None => false,
        }
    }

    pub fn remember(&self, key: CredentialKey, stored_hash: &str) {
        self.cache.insert(key.0, digest(stored_hash));
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

/// What obtaining a new secret needs: managing the client, and holding everything it may do
/// (whoever receives the secret acts as the client: a client cannot mint itself a sibling's
/// wider powers). Checked before the secret is hashed, and before a stored rotation is replayed.
pub fn authorize_rotation(conn: &mut Conn, ctx: &Context, id: Uuid) -> Result<ClientView> {
    let view = clients::find(conn, id)?;
    clients::require_manage(ctx, &view)?;
    clients::refuse_console(&view)?;
    if !view.client.uses_secret() {
        return Err(Error::Conflict(format!(
            "a client authenticating with {} has no secret to rotate",
            view.client.token_endpoint_auth_method
        )));
    }
    require_power_over(&ctx.caller, &view.effective(), Control::Credential)?;
    Ok(view)
}

/// Issues a new secret. The previous ones keep working for `overlap`; zero ends them now, and
/// with them the access tokens they obtained.
pub fn rotate_secret(
    conn: &mut Conn,
    ctx: &Context,
    id: Uuid,
    secret_hash: String,
    overlap: Overlap,
) -> Result<(ClientView, Option<DateTime<Utc>>)> {
    let view = authorize_rotation(conn, ctx, id)?;
    let now = db::now();
    let previous_expire_at = now + overlap;
    let active = db::clients::active_secrets(conn, ClientUuid(id), now)?;
    db::clients::delete_expired_secrets(conn, ClientUuid(id), now)?;
    db::clients::expire_secrets_by(conn, ClientUuid(id), previous_expire_at)?;
    db::clients::insert_secret(conn, &Secret::new(id, secret_hash))?;
    let ended_tokens = overlap.is_zero() && !active.is_empty();
    if ended_tokens {
        db::clients::set_tokens_valid_after(conn, ClientUuid(id), now)?;
    }
    let previous = (!active.is_empty()).then_some(previous_expire_at);
    db::audit::append(
        conn,
        vec![view.event(ctx, "client.secret.rotate").changes(json!({
            "client_secret": REDACTED,
            "previous_secrets": active.len(),
            "previous_secret_expires_at": previous,
            "access_tokens_ended": ended_tokens,
        }))],
    )?;
    Ok((view, previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_ids_are_random_and_url_safe() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(generate_client_id().len(), 24);
    }

    #[test]
    fn a_remembered_verification_holds_only_for_the_hash_it_matched() {
        let cache = VerifiedSecrets::new(10);
        let key = CredentialKey::new("client", "secret");
        assert!(!cache.confirms(key, ["$argon2id$old"]));
        cache.remember(key, "$argon2id$old");
        assert!(cache.confirms(key, ["$argon2id$new", "$argon2id$old"]));
        // After rotation with immediate expiry only the new hash is stored.
        assert!(!cache.confirms(key, ["$argon2id$new"]));
        assert!(!cache.confirms(CredentialKey::new("client", "other"), ["$argon2id$old"]));
    }

    #[test]
    fn one_verification_of_a_credential_at_a_time() {
        let cache = Arc::new(VerifiedSecrets::new(10));
        let key = CredentialKey::new("client", "secret");
        let first = cache.turn(key);
        let waiter = {
            let cache = cache.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                drop(cache.turn(key));
                started.elapsed()
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        drop(first);
        assert!(waiter.join().unwrap() >= Duration::from_millis(90), "the second waited for the first");
        drop(cache.turn(CredentialKey::new("client", "other")));
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = VerifiedSecrets::new(100);
        for i in 0..1000 {
            cache.remember(CredentialKey::new("c", &i.to_string()), "h");
        }
        assert!(cache.len() <= 100);
    }
}
