//! Signing in with a password: by username, verified email or verified phone number, in one
//! namespace. Unknown names, wrong passwords and disabled accounts look and take the same;
//! failures are throttled; an imported or outdated hash is replaced on success.

use serde_json::json;

use super::accounts::Account;
use super::audit::{Actor, NewEvent};
use super::authn::{record_failure, throttle_keys, Origin};
use super::hashing::HashPool;
use super::password::Verified;
use super::throttle;
use crate::db::{self, Db};
use crate::error::Result;

pub enum SignIn {
    Accepted(Box<Account>),
    /// Wrong name or password, or an account that may not sign in. `actor` is for the audit log.
    Refused { actor: Actor, reason: &'static str },
    Throttled { retry_after: u64, actor: Actor },
}

/// Checks a password on a blocking thread (waits for the hashing pool without a connection).
pub fn password(db: &Db, hasher: &HashPool, namespace: &str, name: &str, password: &str, origin: &Origin) -> Result<SignIn> {
    let mut conn = db.get()?;
    let account = db::accounts::find_by_sign_in(&mut conn, namespace, name)?;
    let actor = match &account {
        Some(a) => Actor::account(a.id.to_string()),
        None => Actor { kind: "account", id: None, owner_account_id: None },
    };
    let keys = throttle_keys(account.as_ref().map(|a| throttle::account_key(a.id)), origin);
    let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
    if let Some(retry_after) = throttle::locked(&mut conn, &names, db::now())? {
        return Ok(SignIn::Throttled { retry_after, actor });
    }
    drop(conn);
    let stored = account.as_ref().filter(|a| !a.disabled).and_then(|a| a.password_hash.clone());
    let verified = hasher.verify_blocking(stored, password.to_owned())?;
    let (Some(account), Verified::Yes { rehash }) = (account, verified) else {
        record_failure(&mut *db.get()?, db, &keys, &actor, origin)?;
        return Ok(SignIn::Refused { actor, reason: "wrong sign-in name or password, or account disabled" });
    };
    let mut conn = db.get()?;
    throttle::success(&mut conn, &throttle::account_key(account.id))?;
    if rehash {
        let fresh = hasher.hash_blocking(password.to_owned())?;
        db.write_blocking(&mut conn, |conn| {
            db::accounts::set_password_hash(conn, account.id, &fresh)?;
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
