//! Authentication of API clients by id and secret (HTTP Basic on the Management API).

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
/// always read fresh.
pub async fn client_secret(
    db: &Db,
    hasher: &HashPool,
    verified: &VerifiedSecrets,
    client_id: &str,
    secret: &str,
) -> Result<Authentication> {
    let lookup = client_id.to_owned();
    let found = db
        .run(move |conn| {
            let Some(view) = db::clients::get_by_client_id(conn, &lookup)? else { return Ok(None) };
            let secrets = db::clients::active_secrets(conn, view.client.id, db::now())?;
            Ok(Some((view, secrets)))
        })
        .await?;
    let Some((view, secrets)) = found else {
        // Spend what a real verification costs, so that timing does not tell which ids exist.
        hasher.verify(None, secret.to_owned()).await?;
        return Ok(Authentication::Rejected { reason: "unknown client_id", actor: unknown_client(client_id) });
    };
    let actor = Actor::client(view.client.id.to_string(), view.client.owner_account_id.map(|id| id.to_string()));

    let key = CredentialKey::new(client_id, secret);
    let mut verified_now = false;
    if !verified.confirms(key, secrets.iter().map(|s| s.secret_hash.as_str())) {
        let mut matched = None;
        for stored in &secrets {
            if hasher.verify(Some(stored.secret_hash.clone()), secret.to_owned()).await?.ok() {
                matched = Some(stored);
                break;
            }
        }
        if secrets.is_empty() {
            hasher.verify(None, secret.to_owned()).await?;
        }
        let Some(stored) = matched else {
            return Ok(Authentication::Rejected { reason: "wrong or expired client secret", actor });
        };
        verified.remember(key, &stored.secret_hash);
        verified_now = true;
    }

    let reason = if view.client.disabled {
        Some("client disabled")
    } else {
        match &view.owner {
            None => Some("client has no owner"),
            Some(owner) if owner.disabled => Some("owner account disabled"),
            Some(_) => None,
        }
    };
    match (reason, view.owner) {
        (None, Some(owner)) => Ok(Authentication::Accepted {
            caller: Caller::client(view.client.id, view.client.client_id, owner.to_ref(), view.client.permissions, owner.permissions),
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
