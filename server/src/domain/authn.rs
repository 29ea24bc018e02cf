//! Authentication of API clients by id and secret (HTTP Basic on the Management API).
//! Runs on a blocking thread: it reads the database and may wait for the hashing pool.

use super::audit::Actor;
use super::hashing::HashPool;
use super::secrets::{CredentialKey, VerifiedSecrets};
use super::Caller;
use crate::db::{self, Db};
use crate::error::Result;

/// The answer to a presented credential.
#[derive(Debug)]
pub enum Authentication {
    /// `verified_now`: argon2 ran for this request (the credential was not in the cache).
    Accepted { caller: Caller, verified_now: bool },
    /// `reason` is for the audit log only; the caller learns nothing but "401".
    Rejected { reason: &'static str, actor: Actor },
}

/// Checks a client's id and secret against its stored hashes, remembering a successful
/// verification (see [`VerifiedSecrets`]); the client's state and its owner's grants are
/// always read fresh. No connection is held while argon2 runs.
pub fn client_secret(db: &Db, hasher: &HashPool, verified: &VerifiedSecrets, client_id: &str, secret: &str) -> Result<Authentication> {
    let found = db::clients::credential(&mut *db.get()?, client_id, db::now())?;
    let Some(credential) = found else {
        // Spend what a real verification costs, so that timing does not tell which ids exist.
        hasher.verify_blocking(None, secret.to_owned())?;
        return Ok(Authentication::Rejected { reason: "unknown client_id", actor: unknown_client(client_id) });
    };
    let actor = Actor::client(credential.id.to_string(), credential.owner.as_ref().map(|o| o.id.to_string()));

    let key = CredentialKey::new(client_id, secret);
    let mut verified_now = false;
    if !verified.confirms(key, credential.secret_hashes.iter().map(String::as_str)) {
        let mut matched = None;
        for stored in &credential.secret_hashes {
            if hasher.verify_blocking(Some(stored.clone()), secret.to_owned())?.ok() {
                matched = Some(stored);
                break;
            }
        }
        if credential.secret_hashes.is_empty() {
            hasher.verify_blocking(None, secret.to_owned())?;
        }
        let Some(stored) = matched else {
            return Ok(Authentication::Rejected { reason: "wrong or expired client secret", actor });
        };
        verified.remember(key, stored);
        verified_now = true;
    }

    let reason = if credential.disabled {
        Some("client disabled")
    } else {
        match &credential.owner {
            None => Some("client has no owner"),
            Some(owner) if owner.disabled => Some("owner account disabled"),
            Some(_) => None,
        }
    };
    match (reason, credential.owner) {
        (None, Some(owner)) => Ok(Authentication::Accepted {
            caller: Caller::client(credential.id, credential.client_id, owner.to_ref(), credential.permissions, owner.permissions),
            verified_now,
        }),
        (reason, _) => Ok(Authentication::Rejected { reason: reason.unwrap_or("client has no owner"), actor }),
    }
}

/// The actor of a failed attempt with an id that names no client: the presented id, cut short.
fn unknown_client(presented: &str) -> Actor {
    let shown: String = presented.chars().filter(|c| !c.is_control()).take(64).collect();
    Actor { kind: "client", id: Some(shown), owner_account_id: None }
}
