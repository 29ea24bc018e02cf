//! Clients' credentials, and access tokens found not revoked, remembered by each replica while
//! the database's epochs stand (ADR 0020, ADR 0026).
//!
//! Authenticating a client reads the client, its live secrets' hashes, its owner and the
//! owner's groups ([`clients::credential`]): two statements and the parsing of every grant on
//! every request. Every change that can alter that answer moves the one-row counter
//! `credential_epoch` in its own transaction — database triggers on `clients`,
//! `client_secrets`, `accounts`, `account_groups` and `group_members` do it, so no code path and
//! no replica can forget. A request reads the epoch first (one indexed row) and uses the
//! credential remembered under that epoch; otherwise it loads the credential and remembers it
//! under the epoch it read *before* loading. A change committed in between therefore leaves an
//! entry labelled with an older epoch than the data it raced, never a newer one, and the next
//! request loads it again. A secret that expires by the clock moves no epoch: an entry is only
//! used before the earliest expiry of the secrets it holds.
//!
//! Revocations of access tokens move a second counter, `revocation_epoch` (a trigger on
//! `revoked_access_tokens`), read in the same statement as the first ([`Epochs`]). An access
//! token found not revoked is remembered, by its `jti`, under the revocation epoch read before
//! looking, and a request under that same epoch does not look again; a revocation anywhere moves
//! the epoch and every replica looks again at the next request. Only "not revoked" is
//! remembered: a revoked token is refused by the lookup itself.
//!
//! Unknown client ids are never remembered (nobody can fill the cache by guessing), a `jti` only
//! once its token's signature has verified, and both maps are bounded.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::sql_types::BigInt;
use diesel::{OptionalExtension, RunQueryDsl};

use super::clients::{self, Credential};
use super::ids::ClientId;
use super::{fixed_rows, oauth, Conn};
use crate::error::{Error, Result};

#[derive(Clone)]
struct Entry {
    epoch: i64,
    /// The earliest expiry of the secrets in `credential` (None: none of them expires).
    valid_until: Option<DateTime<Utc>>,
    credential: Arc<Credential>,
}

/// How many access tokens found not revoked a replica remembers (as many as verified tokens).
const NOT_REVOKED: usize = 50_000;

/// The two counters a request reads before trusting anything remembered, in one statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epochs {
    /// Moved by every change that can alter a client's credential (ADR 0020).
    pub credential: i64,
    /// Moved by every revocation of an access token (ADR 0026).
    pub revocation: i64,
}

pub struct CredentialCache {
    entries: quick_cache::sync::Cache<String, Entry>,
    /// Access tokens found not revoked, by `jti`: the revocation epoch read before looking.
    not_revoked: quick_cache::sync::Cache<String, i64>,
}

impl CredentialCache {
    pub fn new(capacity: usize) -> CredentialCache {
        CredentialCache {
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
            not_revoked: quick_cache::sync::Cache::new(NOT_REVOKED),
        }
    }

    /// The credential of `client_id` as the database holds it now, `epochs` read at the start
    /// of the request (see the module's comment).
    pub fn credential(
        &self,
        conn: &mut Conn,
        epochs: Epochs,
        client_id: ClientId,
        now: DateTime<Utc>,
    ) -> Result<Option<Credential>> {
        let epoch = epochs.credential;
        if let Some(entry) = self.entries.get(client_id.0) {
            if entry.epoch == epoch && entry.valid_until.is_none_or(|t| now < t) {
                return Ok(Some(Credential::clone(&entry.credential)));
            }
        }
        let Some((credential, valid_until)) = clients::credential_until(conn, client_id, now)? else {
            return Ok(None);
        };
        let entry = Entry { epoch, valid_until, credential: Arc::new(credential.clone()) };
        self.entries.insert(client_id.0.to_owned(), entry);
        Ok(Some(credential))
    }

    /// Whether the access token `jti` (its signature verified) is revoked, `epochs` read at the
    /// start of the request: looked up unless it was found not revoked under the same epoch.
    pub fn is_revoked(&self, conn: &mut Conn, epochs: Epochs, jti: &str) -> Result<bool> {
        if self.not_revoked.get(jti) == Some(epochs.revocation) {
            return Ok(false);
        }
        if oauth::is_revoked(conn, jti)? {
            return Ok(true);
        }
        self.not_revoked.insert(jti.to_owned(), epochs.revocation);
        Ok(false)
    }
}

/// Both epochs, moved by the database's triggers (migrations `credential_epoch` and
/// `revocation_epoch`): one statement, kept prepared (see `db::fixed`), one round trip.
pub fn current_epochs(conn: &mut Conn) -> Result<Epochs> {
    let read = fixed_rows::<(BigInt, BigInt), _>(
        "SELECT c.epoch, r.epoch FROM credential_epoch AS c, revocation_epoch AS r WHERE c.id = 1 AND r.id = 1",
        (),
    );
    let found: Option<(i64, i64)> = native!(conn, |c| read.get_result(c).optional())?;
    let (credential, revocation) = found.ok_or_else(|| Error::Internal("an epoch row is missing".into()))?;
    Ok(Epochs { credential, revocation })
}
