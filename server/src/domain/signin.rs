//! Signing in with a password: by username, verified email or verified phone number, in one
//! namespace. Unknown names, wrong passwords and disabled accounts look and take the same;
//! failures are throttled; an imported or outdated hash is replaced on success.

use serde_json::json;

use super::accounts::Account;
use super::audit::{Actor, NewEvent};
use super::authn::{record_lockouts, throttle_keys, Origin};
use super::hashing::HashPool;
use super::password::Verified;
use super::{names, throttle};
use crate::db::ids::AccountId;
use crate::db::{self, Db};
use crate::error::Result;

pub enum SignIn {
    Accepted(Box<Account>),
    /// Wrong name or password, or an account that may not sign in. `actor` is for the audit log.
    Refused {
        actor: Actor,
        reason: &'static str,
    },
    Throttled {
        retry_after: u64,
        actor: Actor,
    },
}

/// Checks a password on a blocking thread (waits for the hashing pool without a connection).
pub fn password(
    db: &Db,
    hasher: &HashPool,
    namespace: &str,
    name: &str,
    password: &str,
    origin: &Origin,
) -> Result<SignIn> {
    let mut conn = db.get()?;
    let account = db::accounts::find_by_sign_in(&mut conn, namespace, name)?;
    let (actor, subject) = match &account {
        Some(a) => (Actor::account(a.id.to_string()), throttle::account_key(a.id)),
        // A name that signs nobody in locks like one that does.
        None => (
            Actor { kind: "account", id: None, owner_account_id: None },
            throttle::presented_key("name", namespace, &names::fold(name.trim())),
        ),
    };
    let reservation = match throttle::reserve(&mut conn, db, &throttle_keys(subject, origin), db::now())? {
        Ok(reservation) => reservation,
        Err(retry_after) => return Ok(SignIn::Throttled { retry_after, actor }),
    };
    drop(conn);
    let stored = account.as_ref().filter(|a| !a.disabled).and_then(|a| a.password_hash.clone());
    let verified = hasher.verify_blocking(stored, password.to_owned())?;
    let (Some(account), Verified::Yes { rehash }) = (account, verified) else {
        record_lockouts(&mut *db.get()?, db, &reservation, &actor, origin)?;
        return Ok(SignIn::Refused { actor, reason: "wrong sign-in name or password, or account disabled" });
    };
    let mut conn = db.get()?;
    throttle::succeeded(&mut conn, db, &reservation)?;
    if rehash {
        let fresh = hasher.hash_blocking(password.to_owned())?;
        db.write_blocking(&mut conn, |conn| {
            db::accounts::set_password_hash(conn, AccountId(account.id), &fresh)?;
            db::audit::append(
                conn,
                vec![NewEvent::new(actor.clone(), "user.password.rehash")
                    .target("account", account.id)
                    .namespace(&account.namespace)
                    .request(origin.request_id.clone(), origin.ip.clone())
                    .changes(json!({ "password": super::audit::REDACTED, "reason": "outdated or imported hash" }))],
            )
        })?;
    }
    Ok(SignIn::Accepted(Box::new(account)))
}
