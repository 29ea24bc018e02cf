//! Clients' credentials remembered by each replica while the credential epoch stands (ADR 0020).
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
//! Unknown client ids are never remembered (nobody can fill the cache by guessing), and the
//! cache is bounded.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::clients::{self, Credential};
use super::ids::ClientId;
use super::Conn;
use crate::error::{Error, Result};

#[derive(Clone)]
struct Entry {
    epoch: i64,
    /// The earliest expiry of the secrets in `credential` (None: none of them expires).
    valid_until: Option<DateTime<Utc>>,
    credential: Arc<Credential>,
}

pub struct CredentialCache {
    entries: quick_cache::sync::Cache<String, Entry>,
}

impl CredentialCache {
    pub fn new(capacity: usize) -> CredentialCache {
        CredentialCache { entries: quick_cache::sync::Cache::new(capacity.max(1)) }
    }

    /// The credential of `client_id` as the database holds it now (see the module's comment).
    pub fn credential(&self, conn: &mut Conn, client_id: ClientId, now: DateTime<Utc>) -> Result<Option<Credential>> {
        let epoch = current_epoch(conn)?;
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
}

/// The credential epoch: moved by the database's triggers with every change that can alter a
/// credential (migration `credential_epoch`).
pub fn current_epoch(conn: &mut Conn) -> Result<i64> {
    use super::schema::credential_epoch;
    use diesel::prelude::*;
    let found: Vec<i64> = native!(conn, |c| credential_epoch::table
        .filter(credential_epoch::id.eq(1))
        .select(credential_epoch::epoch)
        .load(c))?;
    found.into_iter().next().ok_or_else(|| Error::Internal("the credential_epoch row is missing".into()))
}
