//! Authentication of API clients by id and secret (HTTP Basic on the Management API).
//! Runs on a blocking thread: it reads the database and may wait for the hashing pool.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::audit::{Actor, NewEvent, Outcome};
use super::hashing::HashPool;
use super::secrets::{CredentialKey, VerifiedSecrets};
use super::throttle::{self, Policy};
use super::clients::OAuthProfile;
use super::Caller;
use crate::db::{self, Conn, Db};
use crate::error::Result;

/// The answer to a presented credential.
#[derive(Debug)]
pub enum Authentication {
    /// `verified_now`: argon2 ran for this request (the credential was not in the cache).
    Accepted { caller: Caller, verified_now: bool, profile: OAuthProfile },
    /// `reason` is for the audit log only; the caller learns nothing but "401".
    Rejected { reason: &'static str, actor: Actor },
    /// Too many failures: no verification was attempted.
    Throttled { retry_after: u64, actor: Actor },
}

/// Where an attempt comes from, for throttling and the audit log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// Counts a failed attempt against each key and audits any lock-out it causes, in one
/// transaction.
pub fn record_failure(conn: &mut Conn, db: &Db, keys: &[(String, Policy)], actor: &Actor, origin: &Origin) -> Result<()> {
    let now = db::now();
    db.write_blocking(conn, |conn| {
        let mut events = Vec::new();
        for (key, policy) in keys {
            if let Some(until) = throttle::failure(conn, key, *policy, now)? {
                events.push(lockout_event(actor, key, until, origin));
            }
        }
        db::audit::append(conn, events)
    })
}

fn lockout_event(actor: &Actor, key: &str, until: DateTime<Utc>, origin: &Origin) -> NewEvent {
    let (kind, id) = key.split_once(':').unwrap_or(("key", key));
    NewEvent::new(actor.clone(), "auth.lockout")
        .target(kind, id)
        .outcome(Outcome::Denied)
        .request(origin.request_id.clone(), origin.ip.clone())
        .changes(json!({ "locked_until": until }))
}

/// The throttling keys of an attempt: the subject's (if known) and the source address's.
pub fn throttle_keys(subject: Option<String>, origin: &Origin) -> Vec<(String, Policy)> {
    let mut keys: Vec<(String, Policy)> = subject.into_iter().map(|k| (k, throttle::PER_SUBJECT)).collect();
    if let Some(ip) = &origin.ip {
        keys.push((throttle::address_key(ip), throttle::PER_ADDRESS));
    }
    keys
}

/// Checks a client's id and secret against its stored hashes, remembering a successful
/// verification (see [`VerifiedSecrets`]); the client's state and its owner's grants are
/// always read fresh. No connection is held while argon2 runs.
pub fn client_secret(
    db: &Db,
    hasher: &HashPool,
    verified: &VerifiedSecrets,
    client_id: &str,
    secret: &str,
    origin: &Origin,
) -> Result<Authentication> {
    let mut conn = db.get()?;
    let found = db::clients::credential(&mut conn, client_id, db::now())?;
    let (actor, subject) = match &found {
        Some(c) => (Actor::client(c.id.to_string(), c.owner.as_ref().map(|o| o.id.to_string())), Some(throttle::client_key(c.id))),
        None => (unknown_client(client_id), None),
    };
    let key = CredentialKey::new(client_id, secret);
    let cached = found.as_ref().is_some_and(|c| verified.confirms(key, c.secret_hashes.iter().map(String::as_str)));
    let keys = throttle_keys(subject.clone(), origin);
    if !cached {
        let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        if let Some(retry_after) = throttle::locked(&mut conn, &names, db::now())? {
            return Ok(Authentication::Throttled { retry_after, actor });
        }
    }
    drop(conn);
    let Some(credential) = found else {
        // Spend what a real verification costs, so that timing does not tell which ids exist.
        hasher.verify_blocking(None, secret.to_owned())?;
        record_failure(&mut *db.get()?, db, &keys, &actor, origin)?;
        return Ok(Authentication::Rejected { reason: "unknown client_id", actor });
    };

    let mut verified_now = false;
    if !cached {
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
            record_failure(&mut *db.get()?, db, &keys, &actor, origin)?;
            return Ok(Authentication::Rejected { reason: "wrong or expired client secret", actor });
        };
        verified.remember(key, stored);
        verified_now = true;
        if let Some(subject) = &subject {
            throttle::success(&mut *db.get()?, subject)?;
        }
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
            profile: credential.profile,
        }),
        (reason, _) => Ok(Authentication::Rejected { reason: reason.unwrap_or("client has no owner"), actor }),
    }
}

/// The actor of a failed attempt with an id that names no client: the presented id, cut short.
fn unknown_client(presented: &str) -> Actor {
    let shown: String = presented.chars().filter(|c| !c.is_control()).take(64).collect();
    Actor { kind: "client", id: Some(shown), owner_account_id: None }
}
