//! Client secrets: random, shown once, stored only as an argon2id hash. To keep argon2 off the
//! hot path, a successful verification is remembered in a bounded in-memory cache keyed by a
//! SHA-256 digest of the presented credential and bound to the stored hash it matched. Each
//! request still reads the client's current hashes from the database, so a rotated, expired or
//! deleted secret, a disabled client or a changed owner takes effect on the next request, on
//! every replica: the cache can only confirm a match against a hash that is still stored.

use base64::Engine;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

type Digest32 = [u8; 32];

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
        VerifiedSecrets { cache: quick_cache::sync::Cache::new(capacity.max(1)) }
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
    fn the_cache_is_bounded() {
        let cache = VerifiedSecrets::new(100);
        for i in 0..1000 {
            cache.remember(CredentialKey::new("c", &i.to_string()), "h");
        }
        assert!(cache.len() <= 100);
    }
}
