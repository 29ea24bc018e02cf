//! The rules of Gatehouse: who may do what, and what each change does (and the signing keys,
//! shared by the token service, the Management API and the CLI). No HTTP and no SQL here:
//! functions take a storage connection ([`crate::db::Conn`]) and the request [`Context`], and
//! read and write through the typed functions of [`crate::db`], which hold every query and the
//! stored records ([`accounts::Account`], [`clients::Client`], …: defined in `db`, re-exported
//! here, their rules in this module's `impl` blocks).

pub mod access_claims;
pub mod accounts;
pub mod audit;
pub mod audit_access;
pub mod audit_archive;
pub mod audit_keys;
pub mod authn;
pub mod backchannel_logout;
pub mod bootstrap;
pub mod client_assertion;
pub mod client_settings;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod crypto;
pub mod dpop;
pub mod factors;
pub mod groups;
pub mod hashing;
pub mod idempotency;
pub mod import;
pub mod log_streams;
pub mod names;
pub mod namespaces;
pub mod passkeys;
pub mod password;
pub mod power;
pub mod request_object;
pub mod secrets;
pub mod signin;
pub mod signing_keys;
pub mod throttle;
pub mod totp_enrolment;
pub mod user_code;

mod paging;
pub use paging::{PageRequest, Precondition};

pub use crate::db::{grant_strings, parse_stored_grants};
pub use gatehouse_api_types::grant::{self, Grant};
use gatehouse_api_types::{CallerKind, Me, Owner};
use uuid::Uuid;

use crate::error::{Error, Result};
use audit::Actor;

/// Who is asking, and where the request came from.
#[derive(Debug, Clone)]
pub struct Context {
    pub caller: Caller,
    pub request_id: String,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Client { id: Uuid, client_id: String, owner: Owner },
    Account { id: Uuid, namespace: String, username: Option<String> },
}

/// An authenticated caller with the permissions it holds right now.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The caller's own grants (for a client: as granted, before its owner bounds them).
    pub granted: Vec<Grant>,
    /// For a client: its owner's grants at the time of the request.
    pub owner_grants: Vec<Grant>,
    /// What the caller may do: for a client the meet of its grants with its owner's.
    pub effective: Vec<Grant>,
    /// An account acting on itself through a token granted the `account` scope (its profile,
    /// its password, its consents): the self-service endpoints need it.
    pub self_service: bool,
    /// When the account behind a user token signed in (its `auth_time`), for what needs a
    /// recent sign-in.
    pub auth_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl Caller {
    pub fn client(id: Uuid, client_id: String, owner: Owner, granted: Vec<Grant>, owner_grants: Vec<Grant>) -> Caller {
        let effective = grant::effective(&granted, &owner_grants);
        Caller {
            principal: Principal::Client { id, client_id, owner },
            granted,
            owner_grants,
            effective,
            self_service: false,
            auth_time: None,
        }
    }

    pub fn account(id: Uuid, namespace: String, username: Option<String>, grants: Vec<Grant>) -> Caller {
        Caller {
            principal: Principal::Account { id, namespace, username },
            effective: grant::normalize(grants.iter().cloned()),
            granted: grants,
            owner_grants: Vec::new(),
            self_service: false,
            auth_time: None,
        }
    }

    /// The one permission check: `403` naming the missing grant unless the caller holds
    /// `<resource>:<action>@<namespace>` right now.
    pub fn authorize(&self, resource: &str, action: &str, namespace: &str) -> Result<()> {
        if self.may(resource, action, namespace) {
            Ok(())
        } else {
            Err(Error::missing_grant(format!("{resource}:{action}@{namespace}")))
        }
    }

    pub fn may(&self, resource: &str, action: &str, namespace: &str) -> bool {
        grant::allows(&self.effective, resource, action, namespace)
    }

    /// Nobody grants what they do not hold: every grant in `wanted` must be held by the caller.
    pub fn require_holds_all<'a>(&self, wanted: impl IntoIterator<Item = &'a Grant>) -> Result<()> {
        for g in wanted {
            if let Some(lacking) = grant::missing(&self.effective, g) {
                return Err(Error::Forbidden {
                    detail: format!("you cannot grant or revoke {g}: you lack {lacking}"),
                    missing: Some(lacking.to_string()),
                });
            }
        }
        Ok(())
    }

    /// Replacing grants `before` by `after` (an account's, a group's or a client's) gives
    /// and takes each grant that differs: the caller must hold every one of them.
    pub fn require_holds_change(&self, before: &[Grant], after: &[Grant]) -> Result<()> {
        let added = after.iter().filter(|g| !before.contains(g));
        let removed = before.iter().filter(|g| !after.contains(g));
        self.require_holds_all(added.chain(removed))
    }

    /// The account whose authority the caller exercises: itself, or a client's owner.
    pub fn acting_account_id(&self) -> Uuid {
        match &self.principal {
            Principal::Client { owner, .. } => owner.account_id,
            Principal::Account { id, .. } => *id,
        }
    }

    pub fn id(&self) -> Uuid {
        match &self.principal {
            Principal::Client { id, .. } | Principal::Account { id, .. } => *id,
        }
    }

    pub fn actor(&self) -> Actor {
        match &self.principal {
            Principal::Client { id, owner, .. } => Actor::client(id.to_string(), Some(owner.account_id.to_string())),
            Principal::Account { id, .. } => Actor::account(id.to_string()),
        }
    }

    pub fn to_me(&self) -> Me {
        let strings = |grants: &[Grant]| grants.iter().map(Grant::to_string).collect::<Vec<_>>();
        match &self.principal {
            Principal::Client { id, client_id, owner } => Me {
                kind: CallerKind::Client,
                id: *id,
                client_id: Some(client_id.clone()),
                namespace: None,
                username: None,
                owner: Some(owner.clone()),
                permissions: strings(&self.granted),
                effective_permissions: strings(&self.effective),
            },
            Principal::Account { id, namespace, username } => Me {
                kind: CallerKind::Account,
                id: *id,
                client_id: None,
                namespace: Some(namespace.clone()),
                username: username.clone(),
                owner: None,
                permissions: strings(&self.granted),
                effective_permissions: strings(&self.effective),
            },
        }
    }
}

impl Context {
    /// An audit event by this caller, for this request.
    pub fn event(&self, action: &str) -> audit::NewEvent {
        audit::NewEvent::new(self.caller.actor(), action).request(Some(self.request_id.clone()), self.ip.clone())
    }
}

/// Parses grants from a request (already validated, so an error here is a 400 all the same).
pub fn parse_request_grants(field: &str, texts: &[String]) -> Result<Vec<Grant>> {
    grant::parse_all(texts).map_err(|e| Error::invalid(field, e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Grant {
        Grant::parse(s).unwrap()
    }

    fn owner() -> Owner {
        Owner { account_id: Uuid::nil(), namespace: "system".into(), username: Some("bob".into()) }
    }

    #[test]
    fn client_acts_with_the_meet_of_its_grants_and_its_owners() {
        let caller =
            Caller::client(Uuid::nil(), "c".into(), owner(), vec![g("users:*@*")], vec![g("users:read@customers")]);
        assert!(caller.authorize("users", "read", "customers").is_ok());
        match caller.authorize("users", "write", "customers") {
            Err(Error::Forbidden { missing: Some(m), .. }) => assert_eq!(m, "users:write@customers"),
            other => panic!("expected 403, got {other:?}"),
        }
    }

    #[test]
    fn nobody_grants_what_they_do_not_hold() {
        let caller =
            Caller::account(Uuid::nil(), "system".into(), None, vec![g("users:read@*"), g("users:write@shop")]);
        assert!(caller.require_holds_all(&[g("users:read@shop")]).is_ok());
        assert!(caller.require_holds_all(&[g("users:*@shop")]).is_ok());
        assert!(caller.require_holds_all(&[g("users:write@*")]).is_err());
    }
}
