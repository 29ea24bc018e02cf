//! Authentication of API clients by id and secret (HTTP Basic on the Management API).
//! Runs on a blocking thread: it reads the database and may wait for the hashing pool.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::audit::{Actor, NewEvent, Outcome};
use super::clients::OAuthProfile;
use super::hashing::HashPool;
use super::secrets::{CredentialKey, VerifiedSecrets};
use super::throttle::{self, Policy, Reservation};
use super::Caller;
use crate::db::ids::ClientId;
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

/// Puts on record the lock-outs a failed attempt started (nothing to write when it started none).
pub fn record_lockouts(
    conn: &mut Conn,
    db: &Db,
    reservation: &Reservation,
    actor: &Actor,
    origin: &Origin,
) -> Result<()> {
    if reservation.locks.is_empty() {
        return Ok(());
    }
    let events = reservation.locks.iter().map(|(key, until)| lockout_event(actor, key, *until, origin)).collect();
    db.write_blocking(conn, |conn| db::audit::append(conn, events))
}

fn lockout_event(actor: &Actor, key: &str, until: DateTime<Utc>, origin: &Origin) -> NewEvent {
    let (kind, id) = key.split_once(':').unwrap_or(("key", key));
    NewEvent::new(actor.clone(), "auth.lockout")
        .target(kind, id)
        .outcome(Outcome::Denied)
        .request(origin.request_id.clone(), origin.ip.clone())
        .changes(json!({ "locked_until": until }))
}

/// The throttling keys of an attempt: the subject's (as presented) and the source address's.
pub fn throttle_keys(subject: String, origin: &Origin) -> Vec<(String, Policy)> {
    let mut keys = vec![(subject, throttle::PER_SUBJECT)];
    if let Some(ip) = &origin.ip {
        keys.push((throttle::address_key(ip), throttle::PER_ADDRESS));
    }
    keys
}

/// The answer to a client's id and secret when that secret was verified before (see
/// [`VerifiedSecrets`]): the client's state and its owner's grants read fresh on `conn`, no
/// hashing, nothing counted, nothing written. None when [`client_secret`] must decide.
pub fn client_secret_verified_before(
    db: &Db,
    conn: &mut Conn,
    verified: &VerifiedSecrets,
    client_id: &str,
    secret: &str,
) -> Result<Option<Authentication>> {
    let Some(credential) = db.credential(conn, ClientId(client_id), db::now())? else { return Ok(None) };
    let key = CredentialKey::new(client_id, secret);
    if !verified.confirms(key, credential.secret_hashes.iter().map(String::as_str)) {
        return Ok(None);
    }
    let actor = credential.actor();
    Ok(Some(accept(credential, actor, false)))
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
    let found = db.credential(&mut conn, ClientId(client_id), db::now())?;
    let (actor, subject) = match &found {
        Some(c) => (c.actor(), throttle::client_key(c.id)),
        None => (Actor::anonymous(), throttle::presented_key("client-id", "", client_id)),
    };
    let key = CredentialKey::new(client_id, secret);
    let mut cached = found.as_ref().is_some_and(|c| verified.confirms(key, c.secret_hashes.iter().map(String::as_str)));
    // One verification of a credential at a time (waiting without a connection); a request
    // that waited may find it verified.
    let mut _turn = None;
    if !cached {
        drop(conn);
        _turn = Some(verified.turn(key));
        cached = found.as_ref().is_some_and(|c| verified.confirms(key, c.secret_hashes.iter().map(String::as_str)));
        conn = db.get()?;
    }
    // Counted before anything is verified (a credential verified before is not verified again).
    let reservation = if cached {
        Reservation::none()
    } else {
        match throttle::reserve(&mut conn, db, &throttle_keys(subject, origin), db::now())? {
            Ok(reservation) => reservation,
            Err(retry_after) => return Ok(Authentication::Throttled { retry_after, actor }),
        }
    };
    drop(conn);
    let Some(credential) = found else {
        // Spend what a real verification costs, so that timing does not tell which ids exist.
        hasher.verify_blocking(None, secret.to_owned())?;
        record_lockouts(&mut *db.get()?, db, &reservation, &actor, origin)?;
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
            record_lockouts(&mut *db.get()?, db, &reservation, &actor, origin)?;
            return Ok(Authentication::Rejected { reason: "wrong or expired client secret", actor });
        };
        verified.remember(key, stored);
        verified_now = true;
        throttle::succeeded(&mut *db.get()?, db, &reservation)?;
    }

    Ok(accept(credential, actor, verified_now))
}

/// A client whose credential checked out: accepted while it and its owner may act.
pub fn accept(credential: db::clients::Credential, actor: Actor, verified_now: bool) -> Authentication {
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
        (None, Some(owner)) => Authentication::Accepted {
            caller: Caller::client(
                credential.id,
                credential.client_id,
                owner.to_api(),
                credential.permissions,
                owner.held(),
            ),
            verified_now,
            profile: credential.profile,
        },
        (reason, _) => Authentication::Rejected { reason: reason.unwrap_or("client has no owner"), actor },
    }
}

/// A presented client id as the audit log shows it: printable, cut short.
pub fn shown_client_id(presented: &str) -> String {
    presented.chars().filter(|c| !c.is_control()).take(64).collect()
}
