//! Audit events and their hash chain. Each stored event carries the hash of the one before it
//! and a SHA-256 over its own fields and that previous hash; changing, removing or reordering
//! any stored event breaks every link after it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Shown in place of any secret, password or hash in an event's changes.
pub const REDACTED: &str = "[redacted]";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `client`, `account`, `system`, or `anonymous` (an attempt whose credentials named no
    /// principal: a presented id is then in the event's changes, never in its actor).
    pub kind: &'static str,
    pub id: Option<String>,
    pub owner_account_id: Option<String>,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// An event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub actor: Actor,
    pub action: String,
    pub target: Option<(String, String)>,
    pub namespace: Option<String>,
    pub outcome: Outcome,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub changes: Option<Value>,
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

/// An event as stored: its place in the chain and its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub time: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_owner_account_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub namespace: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// JSON text, hashed exactly as stored.
    pub changes: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredEvent {
    /// Places `event` at `seq` after an event whose hash is `prev_hash`, and seals it.
    pub fn seal(event: NewEvent, seq: i64, id: String, time: DateTime<Utc>, prev_hash: String) -> StoredEvent {
        let (target_type, target_id) = event.target.unzip();
        let mut stored = StoredEvent {
            seq,
            id,
            time,
            actor_type: event.actor.kind.to_owned(),
            actor_id: event.actor.id,
            actor_owner_account_id: event.actor.owner_account_id,
            action: event.action,
            target_type,
            target_id,
            namespace: event.namespace,
            outcome: event.outcome.as_str().to_owned(),
            request_id: event.request_id,
            ip: event.ip,
            changes: event.changes.map(|c| c.to_string()),
            prev_hash,
            hash: String::new(),
        };
        stored.hash = stored.compute_hash();
        stored
    }

    /// SHA-256 (hex) over every field but the hash itself, previous hash included: each field
    /// length-prefixed (absent fields marked apart from empty ones), so no two events encode
    /// alike.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |value: Option<&str>| match value {
            Some(text) => {
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update(u64::MAX.to_be_bytes()),
        };
        field(Some(&self.seq.to_string()));
        field(Some(&self.id));
        field(Some(&self.time.to_rfc3339_opts(SecondsFormat::Micros, true)));
        field(Some(&self.actor_type));
        field(self.actor_id.as_deref());
        field(self.actor_owner_account_id.as_deref());
        field(Some(&self.action));
        field(self.target_type.as_deref());
        field(self.target_id.as_deref());
        field(self.namespace.as_deref());
        field(Some(&self.outcome));
        field(self.request_id.as_deref());
        field(self.ip.as_deref());
        field(self.changes.as_deref());
        field(Some(&self.prev_hash));
        hex::encode(hasher.finalize())
    }
}

/// Walks a chain in order; reports the first broken link.
pub struct ChainCheck {
    expected_seq: i64,
    expected_prev: String,
    pub checked: u64,
}

impl Default for ChainCheck {
    fn default() -> Self {
        ChainCheck { expected_seq: 1, expected_prev: GENESIS_HASH.to_owned(), checked: 0 }
    }
}

impl ChainCheck {
    pub fn next(&mut self, event: &StoredEvent) -> Result<(), String> {
        if event.seq != self.expected_seq {
            return Err(format!(
                "event {} is missing: the chain jumps from {} to {} (id {})",
                self.expected_seq,
                self.expected_seq - 1,
                event.seq,
                event.id
            ));
        }
        if event.prev_hash != self.expected_prev {
            return Err(format!(
                "event {} (id {}) does not follow the event before it: its prev_hash is not that event's hash",
                event.seq, event.id
            ));
        }
        if event.compute_hash() != event.hash {
            return Err(format!(
                "event {} (id {}) was altered: its contents do not match its hash",
                event.seq, event.id
            ));
        }
        self.expected_seq += 1;
        self.expected_prev = event.hash.clone();
        self.checked += 1;
        Ok(())
    }

    /// The chain's recorded end must be the last event walked (else events were cut off).
    pub fn finish(&self, head_seq: i64, head_hash: &str) -> Result<(), String> {
        let last = self.expected_seq - 1;
        if head_seq != last || head_hash != self.expected_prev {
            return Err(format!("the chain ends at event {last} but its head records event {head_seq}: events were removed from the end"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<StoredEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let e = NewEvent::new(Actor::system(), "user.create")
                    .target("account", seq)
                    .changes(json!({"after": {"n": seq}}));
                let stored = StoredEvent::seal(e, seq, format!("id-{seq}"), Utc::now(), prev.clone());
                prev = stored.hash.clone();
                stored
            })
            .collect()
    }

    fn check(events: &[StoredEvent]) -> Result<(), String> {
        let mut c = ChainCheck::default();
        for e in events {
            c.next(e)?;
        }
        let last = events.last().map(|e| (e.seq, e.hash.clone())).unwrap_or((0, GENESIS_HASH.into()));
        c.finish(last.0, &last.1)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert!(check(&chain(5)).is_ok());
    }

    #[test]
    fn an_altered_event_is_named() {
        let mut events = chain(5);
        events[2].changes = Some(r#"{"after":{"n":99}}"#.into());
        let err = check(&events).unwrap_err();
        assert!(err.starts_with("event 3 "), "{err}");
    }

    #[test]
    fn a_removed_event_is_named() {
        let mut events = chain(5);
        events.remove(1);
        assert!(check(&events).unwrap_err().contains("event 2 is missing"));
    }

    #[test]
    fn a_rehashed_forgery_breaks_the_next_link() {
        let mut events = chain(4);
        events[1].outcome = "denied".into();
        events[1].hash = events[1].compute_hash();
        let err = check(&events).unwrap_err();
        assert!(err.starts_with("event 3 "), "{err}");
    }
}
