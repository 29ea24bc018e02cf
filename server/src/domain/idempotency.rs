//! `Idempotency-Key` for POSTs: a retry with the same key and body gets the first response;
//! the same key with another body is refused. The first response is stored inside the
//! transaction that created the resource, so it exists exactly when the resource does. It is
//! encrypted under a key derived from the Idempotency-Key (which is not stored), since it may
//! carry a client secret that must not sit readable in the database.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::Duration;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::idempotency::StoredResponse;
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// The conflict of a concurrent first use; the caller retries once and then replays.
pub const IN_PROGRESS: &str = "a request with this Idempotency-Key is in progress; retry";

/// How long a key is remembered.
pub fn retention() -> Duration {
    Duration::hours(24)
}

/// A response to remember: status, `Location`, `ETag`, JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    /// The created resource's version, for a later `If-Match`.
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Fresh(Reply),
    Replayed(Reply),
}

/// A caller's Idempotency-Key together with the request it came with.
#[derive(Clone)]
pub struct Claim {
    lookup: String,
    cipher_key: [u8; 32],
    request: String,
}

impl Claim {
    /// `principal` scopes keys to a caller; `request` is a digest of method, path and body.
    pub fn new(principal: &str, key: &str, request: [u8; 32]) -> Claim {
        let derive = |purpose: &str| -> [u8; 32] {
            let mut h = Sha256::new();
            for part in [purpose, principal, key] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part.as_bytes());
            }
            h.finalize().into()
        };
        Claim { lookup: hex::encode(derive("lookup")), cipher_key: derive("encrypt"), request: hex::encode(request) }
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.cipher_key))
    }

    fn seal(&self, body: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut sealed = nonce.to_vec();
        sealed.extend(
            self.cipher()
                .encrypt(Nonce::from_slice(&nonce), body)
                .map_err(|_| Error::internal("cannot encrypt a stored response"))?,
        );
        Ok(sealed)
    }

    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < 12 {
            return Err(Error::internal("stored response is truncated"));
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| Error::internal("stored response does not decrypt"))
    }
}

/// Looks up a finished response for `claim`: the replay, a 422 for another request, or none.
pub fn find(conn: &mut Conn, claim: &Claim) -> Result<Option<Reply>> {
    let Some(stored) = db::idempotency::get(conn, &claim.lookup)? else { return Ok(None) };
    if db::from_db_time(stored.created_at) < db::now() - retention() {
        return Ok(None);
    }
    if stored.request_hash != claim.request {
        return Err(Error::Unprocessable(
            "this Idempotency-Key was already used with a different request; use a new key".into(),
        ));
    }
    if stored.status == 0 {
        return Err(Error::Conflict("a request with this Idempotency-Key is still in progress".into()));
    }
    Ok(Some(Reply {
        status: stored.status as u16,
        location: stored.location,
        etag: stored.etag,
        body: claim.open(&stored.body)?,
    }))
}

/// Runs `create` once per claim, inside the caller's write transaction.
pub fn once(
    conn: &mut Conn,
    claim: Option<&Claim>,
    create: impl FnOnce(&mut Conn) -> Result<Reply>,
) -> Result<Outcome> {
    let Some(claim) = claim else { return create(conn).map(Outcome::Fresh) };
    if let Some(reply) = find(conn, claim)? {
        return Ok(Outcome::Replayed(reply));
    }
    // Forget an expired use of the same key, then claim it. On PostgreSQL a concurrent request
    // with the same key waits here until this transaction ends, then fails on the unique key
    // and is retried by the caller, which then finds the stored reply.
    db::idempotency::delete_older_than_for(conn, &claim.lookup, db::now() - retention())?;
    let mut stored = StoredResponse {
        key_hash: claim.lookup.clone(),
        request_hash: claim.request.clone(),
        status: 0,
        location: None,
        body: Vec::new(),
        created_at: db::to_db_time(db::now()),
        etag: None,
    };
    db::idempotency::insert(conn, &stored).map_err(|e| match e {
        Error::Conflict(_) => Error::Conflict(IN_PROGRESS.into()),
        other => other,
    })?;
    let reply = create(conn)?;
    stored.status = i32::from(reply.status);
    stored.location = reply.location.clone();
    stored.etag = reply.etag.clone();
    stored.body = claim.seal(&reply.body)?;
    db::idempotency::update(conn, &stored)?;
    Ok(Outcome::Fresh(reply))
}

/// Stores a finished response outside of a resource's transaction (bulk imports, which commit
/// in chunks). A concurrent first use keeps its own.
pub fn remember(conn: &mut Conn, claim: &Claim, reply: &Reply) -> Result<()> {
    let stored = StoredResponse {
        key_hash: claim.lookup.clone(),
        request_hash: claim.request.clone(),
        status: i32::from(reply.status),
        location: reply.location.clone(),
        body: claim.seal(&reply.body)?,
        created_at: db::to_db_time(db::now()),
        etag: reply.etag.clone(),
    };
    match db::idempotency::insert(conn, &stored) {
        Ok(()) | Err(Error::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_bodies_open_only_with_the_same_key() {
        let a = Claim::new("caller", "key-1", [1; 32]);
        let sealed = a.seal(b"{\"client_secret\":\"s\"}").unwrap();
        assert!(!sealed.windows(13).any(|w| w == b"client_secret"));
        assert_eq!(a.open(&sealed).unwrap(), b"{\"client_secret\":\"s\"}");
        let b = Claim::new("caller", "key-2", [1; 32]);
        assert!(b.open(&sealed).is_err());
        assert_ne!(a.lookup, Claim::new("other caller", "key-1", [1; 32]).lookup);
    }
}
