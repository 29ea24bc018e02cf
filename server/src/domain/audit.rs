//! Audit events: who did what, built here as each change is made ([`NewEvent`]'s builder, the
//! [`Actor`]s). How events are stored and chained (each carries the hash of the one before it,
//! so changing, removing or reordering any stored event breaks every link after it) is the
//! storage's: [`crate::db::audit`].

use gatehouse_api_types::{AuditActor, AuditEvent, AuditTarget};
use serde_json::{json, Value};

use crate::error::{Error, Result};

pub use crate::db::audit::{Actor, ChainCheck, NewEvent, Outcome, PreparedEvent, StoredEvent, GENESIS_HASH};

/// Shown in place of any secret, password or hash in an event's changes.
pub const REDACTED: &str = "[redacted]";

impl Actor {
    pub fn client(id: String, owner_account_id: Option<String>) -> Actor {
        Actor { kind: "client", id: Some(id), owner_account_id }
    }
    pub fn account(id: String) -> Actor {
        Actor { kind: "account", id: Some(id), owner_account_id: None }
    }
    pub fn system() -> Actor {
        Actor { kind: "system", id: None, owner_account_id: None }
    }
    pub fn anonymous() -> Actor {
        Actor { kind: "anonymous", id: None, owner_account_id: None }
    }
}

impl NewEvent {
    pub fn new(actor: Actor, action: &str) -> NewEvent {
        NewEvent {
            actor,
            action: action.to_owned(),
            target: None,
            namespace: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            changes: None,
        }
    }

    pub fn target(mut self, kind: &str, id: impl ToString) -> Self {
        self.target = Some((kind.to_owned(), id.to_string()));
        self
    }

    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn request(mut self, request_id: Option<String>, ip: Option<String>) -> Self {
        self.request_id = request_id;
        self.ip = ip;
        self
    }

    pub fn changes(mut self, changes: Value) -> Self {
        self.changes = Some(changes);
        self
    }

    /// Records the state before and after a change (either may be absent).
    pub fn diff(self, before: Option<Value>, after: Option<Value>) -> Self {
        self.changes(json!({ "before": before, "after": after }))
    }
}

/// Appends `events` to the chain in the caller's transaction: an adapter's record of a part of
/// a request it refused while the rest went on (a SCIM Bulk operation).
pub fn append(conn: &mut crate::db::Conn, events: Vec<NewEvent>) -> Result<()> {
    crate::db::audit::append(conn, events)
}

/// An event as the audit API shows it (the list, the export and log stream batches).
pub fn to_api(e: StoredEvent) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: uuid::Uuid::parse_str(&e.id).map_err(Error::internal)?,
        seq: e.seq,
        time: e.time,
        actor: AuditActor { actor_type: e.actor_type, id: e.actor_id, owner_account_id: e.actor_owner_account_id },
        action: e.action,
        target: e.target_type.zip(e.target_id).map(|(target_type, id)| AuditTarget { target_type, id }),
        namespace: e.namespace,
        outcome: e.outcome,
        request_id: e.request_id,
        ip: e.ip,
        changes: e.changes.as_deref().and_then(|c| serde_json::from_str(c).ok()),
        hash: e.hash,
    })
}
