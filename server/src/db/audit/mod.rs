//! The audit chain in the database: its records ([`NewEvent`], [`StoredEvent`]) and how they
//! are chained. Each stored event carries the hash of the one before it and a SHA-256 over its
//! own fields and that previous hash ([`StoredEvent::seal`]); changing, removing or reordering
//! any stored event breaks every link after it ([`ChainCheck`], [`verify`]). Appending locks
//! the chain's head row (an `UPDATE` of it), so concurrent transactions, on one replica or
//! many, append in one order. The table stores a compact form of each event ([`compact`]:
//! bytes for addresses and hashes, codes of [`names`] for ids, actions and namespaces, no stored
//! `prev_hash` nor, for new events, `id`); the hash is over the textual record, so it does not
//! depend on that form (ADR 0008, ADR 0010).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Text};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::schema::{audit_chain_head, audit_events};
use super::{bind, fixed, fixed_rows, Conn};
use crate::error::{Error, Result};

/// The `prev_hash` of the chain's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `client`, `account`, `system`, or `anonymous` (an attempt whose credentials named no
    /// principal: a presented id is then in the event's changes, never in its actor).
    pub kind: &'static str,
    pub id: Option<String>,
    pub owner_account_id: Option<String>,
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
    pub fn seal(mut event: NewEvent, seq: i64, id: String, time: DateTime<Utc>, prev_hash: String) -> StoredEvent {
        let changes = event.changes.take().map(|c| c.to_string());
        StoredEvent::seal_rendered(event, changes, seq, id, time, prev_hash)
    }

    /// [`StoredEvent::seal`] for an event whose changes were rendered as `changes`.
    fn seal_rendered(
        event: NewEvent,
        changes: Option<String>,
        seq: i64,
        id: String,
        time: DateTime<Utc>,
        prev_hash: String,
    ) -> StoredEvent {
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
            changes,
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
    /// A walk that starts after event `seq` whose hash was `hash`: the chain's anchor once older
    /// events were archived (`0` and the genesis hash before that).
    pub fn after(seq: i64, hash: String) -> ChainCheck {
        ChainCheck { expected_seq: seq + 1, expected_prev: hash, checked: 0 }
    }

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

type DbBackend = <Conn as diesel::Connection>::Backend;

mod compact;
mod filter;
pub(super) mod names;

use compact::Row;
pub use filter::{list, list_after, Filter, Visibility};
use names::Name;

/// Rows per `INSERT` statement: 15 columns each, well below SQLite's 32,766 bound parameters.
const INSERT_CHUNK: usize = 256;

/// An event made ready to append without the database: its changes rendered as the JSON text
/// that is hashed and packed as it is stored. Appending it then does only what depends on the
/// chain, while the chain's head is locked ([`append_prepared`]); an import prepares a chunk's
/// events while the chunk before it is written.
pub struct PreparedEvent {
    /// The event, its changes taken out into the two fields below.
    event: NewEvent,
    changes: Option<String>,
    packed: Option<Vec<u8>>,
}

impl From<NewEvent> for PreparedEvent {
    fn from(mut event: NewEvent) -> PreparedEvent {
        let changes = event.changes.take().map(|c| c.to_string());
        let packed = changes.as_deref().map(compact::pack_json);
        PreparedEvent { event, changes, packed }
    }
}

/// Appends events to the chain. Call it inside the transaction of the change the events
/// describe, as late as possible: the chain's head stays locked until that transaction ends.
pub fn append(conn: &mut Conn, events: Vec<NewEvent>) -> Result<()> {
    // Rendered before the head is locked: the changes' text depends on nothing the lock guards.
    append_prepared(conn, events.into_iter().map(PreparedEvent::from).collect())
}

/// [`append`] for events made ready beforehand.
pub fn append_prepared(conn: &mut Conn, events: Vec<PreparedEvent>) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let count = events.len() as i64;
    // The head is taken (and locked) and read in one statement, with the time of the newest
    // event. Every audited change and grant runs this: a fixed text, kept prepared (see
    // `db::fixed`), one round trip on PostgreSQL.
    let take = fixed_rows::<(BigInt, Text, Binary, BigInt), _>(
        "UPDATE audit_chain_head SET seq = seq + ? WHERE id = 1 RETURNING seq, hash, id_salt, last_time",
        bind::<BigInt, _>(count),
    );
    let (last_seq, mut prev_hash, salt, newest): (i64, String, Vec<u8>, i64) =
        native!(conn, |c| take.get_result(c).optional())?
            .ok_or_else(|| Error::internal("the audit chain has no head"))?;
    // Never before the newest event, even if the clock stepped back: a time window of the
    // audit API is a seq range (filter.rs).
    let mut time = super::now();
    if let Some(newest) = DateTime::from_timestamp_micros(newest) {
        time = time.max(newest);
    }
    let mut sealed = Vec::with_capacity(events.len());
    let mut packed = Vec::with_capacity(events.len());
    for (offset, prepared) in events.into_iter().enumerate() {
        let seq = last_seq - count + 1 + offset as i64;
        let id = compact::derived_id(&salt, seq, time);
        let stored = StoredEvent::seal_rendered(prepared.event, prepared.changes, seq, id, time, prev_hash);
        prev_hash = stored.hash.clone();
        sealed.push(stored);
        packed.push(prepared.packed);
    }
    // Codes for the names, new ones given under the head's lock (taken above).
    let mut wanted: Vec<Name> = sealed.iter().flat_map(compact::names_of).collect();
    wanted.sort_unstable_by(|a, b| (a.0 as i16, &a.1).cmp(&(b.0 as i16, &b.1)));
    wanted.dedup();
    let codes = names::codes_or_new(conn, &salt, &wanted)?;
    let rows = sealed
        .iter()
        .zip(packed)
        .map(|(e, changes)| Row::pack(e, changes, &codes, &salt))
        .collect::<Result<Vec<_>>>()?;
    if let [row] = rows.as_slice() {
        // One event (a change or a grant in its own transaction): a one-row INSERT, whose text
        // never changes, kept prepared (a multi-row one is built and prepared on every call).
        native!(conn, |c| diesel::insert_into(audit_events::table).values(row).execute(c))?;
    } else {
        // Multi-row INSERTs, in chunks that stay below SQLite's limit of bound parameters.
        for chunk in rows.chunks(INSERT_CHUNK) {
            native!(conn, |c| diesel::insert_into(audit_events::table).values(chunk).execute(c))?;
        }
    }
    let seal = fixed(
        "UPDATE audit_chain_head SET hash = ?, last_time = ? WHERE id = 1",
        (bind::<Text, _>(prev_hash), bind::<BigInt, _>(time.timestamp_micros())),
    );
    native!(conn, |c| seal.execute(c))?;
    Ok(())
}

/// The database's salt, from which the ids of its events are derived (and by which the audit
/// names it caches are kept apart from other databases').
fn salt(conn: &mut Conn) -> Result<Vec<u8>> {
    Ok(audit_chain_head::table.find(1).select(audit_chain_head::id_salt).first(conn)?)
}

/// Turns rows into events. A row does not store its `prev_hash`: it is the hash of the row
/// before it (one lookup by `seq` for those whose predecessor is not among `rows`), the
/// genesis hash for event 1, or the chain's anchor for the first event kept after older ones
/// were archived away. An event whose predecessor is gone without an anchor gets an empty
/// `prev_hash`, which no hash matches: `verify` names it. Codes are resolved to their names.
fn unpack(conn: &mut Conn, salt: &[u8], rows: Vec<Row>) -> Result<Vec<StoredEvent>> {
    let mut codes: Vec<i32> = rows.iter().flat_map(Row::codes).collect();
    codes.sort_unstable();
    codes.dedup();
    let names = names::names(conn, salt, &codes)?;
    let known: HashMap<i64, Vec<u8>> = rows.iter().map(|r| (r.seq, r.hash.clone())).collect();
    let wanted: Vec<i64> = rows.iter().map(|r| r.seq - 1).filter(|seq| *seq > 0 && !known.contains_key(seq)).collect();
    let mut before: HashMap<i64, Vec<u8>> = HashMap::new();
    for chunk in wanted.chunks(INSERT_CHUNK) {
        let found: Vec<(i64, Vec<u8>)> = audit_events::table
            .filter(audit_events::seq.eq_any(chunk))
            .select((audit_events::seq, audit_events::hash))
            .load(conn)?;
        before.extend(found);
    }
    let mut anchor: Option<(i64, String)> = None;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let prev = row.seq - 1;
        let prev_hash = match known.get(&prev).or_else(|| before.get(&prev)) {
            Some(hash) => hex::encode(hash),
            None if prev == 0 => GENESIS_HASH.to_owned(),
            None => {
                if anchor.is_none() {
                    anchor = Some(
                        audit_chain_head::table
                            .find(1)
                            .select((audit_chain_head::anchor_seq, audit_chain_head::anchor_hash))
                            .first(conn)?,
                    );
                }
                match &anchor {
                    Some((seq, hash)) if *seq == prev => hash.clone(),
                    _ => String::new(),
                }
            }
        };
        events.push(row.unpack(prev_hash, &names, salt)?);
    }
    Ok(events)
}

/// The outcome of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStatus {
    Intact { events: u64 },
    Broken { checked: u64, reason: String },
}

/// Where the live chain starts: the last event no longer stored (archived) and its hash, or
/// `(0, genesis)` while every event is kept.
pub fn anchor(conn: &mut Conn) -> Result<(i64, String)> {
    Ok(audit_chain_head::table
        .find(1)
        .select((audit_chain_head::anchor_seq, audit_chain_head::anchor_hash))
        .first(conn)?)
}

/// Moves the anchor to `seq` and its `hash`, in the transaction that deletes the events up to
/// `seq` (once an archive holds them).
pub fn set_anchor(conn: &mut Conn, seq: i64, hash: &str) -> Result<()> {
    diesel::update(audit_chain_head::table.find(1))
        .set((audit_chain_head::anchor_seq.eq(seq), audit_chain_head::anchor_hash.eq(hash)))
        .execute(conn)?;
    Ok(())
}

/// Walks the chain from its first kept event (after the anchor), a page at a time, and names the first broken link.
/// Other replicas may append while it walks: it follows the head until it stands still, and
/// only then counts an event beyond the head as a break.
pub fn verify(conn: &mut Conn) -> Result<ChainStatus> {
    const PAGE: i64 = 2000;
    let head = |conn: &mut Conn| -> Result<(i64, String)> {
        Ok(audit_chain_head::table.find(1).select((audit_chain_head::seq, audit_chain_head::hash)).first(conn)?)
    };
    let (anchor_seq, anchor_hash) = anchor(conn)?;
    let salt = salt(conn)?;
    let mut check = ChainCheck::after(anchor_seq, anchor_hash);
    let mut after = anchor_seq;
    let (mut head_seq, mut head_hash) = head(conn)?;
    loop {
        // Every event up to the head (the head moves in the same transaction as its event).
        loop {
            let page: Vec<Row> = audit_events::table
                .filter(audit_events::seq.gt(after))
                .filter(audit_events::seq.le(head_seq))
                .order(audit_events::seq.asc())
                .limit(PAGE)
                .select(Row::as_select())
                .load(conn)?;
            let done = (page.len() as i64) < PAGE;
            for event in unpack(conn, &salt, page)? {
                after = event.seq;
                if let Err(reason) = check.next(&event) {
                    return Ok(ChainStatus::Broken { checked: check.checked, reason });
                }
            }
            if done {
                break;
            }
        }
        if let Err(reason) = check.finish(head_seq, &head_hash) {
            return Ok(ChainStatus::Broken { checked: check.checked, reason });
        }
        let beyond: i64 = audit_events::table.filter(audit_events::seq.gt(head_seq)).count().get_result(conn)?;
        let (seq, hash) = head(conn)?;
        if seq == head_seq {
            return Ok(if beyond == 0 {
                ChainStatus::Intact { events: check.checked }
            } else {
                ChainStatus::Broken {
                    checked: check.checked,
                    reason: format!("{beyond} events lie beyond the chain's head (event {head_seq})"),
                }
            });
        }
        (head_seq, head_hash) = (seq, hash);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn chain(n: i64) -> Vec<StoredEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let e = NewEvent {
                    actor: Actor { kind: "system", id: None, owner_account_id: None },
                    action: "user.create".into(),
                    target: Some(("account".into(), seq.to_string())),
                    namespace: None,
                    outcome: Outcome::Success,
                    request_id: None,
                    ip: None,
                    changes: Some(json!({"after": {"n": seq}})),
                };
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

    #[derive(diesel::QueryableByName)]
    struct Number {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    fn number(conn: &mut Conn, sql: &str) -> i64 {
        diesel::sql_query(sql).get_result::<Number>(conn).unwrap().n
    }

    /// The head keeps its newest event's time, and an event is never stamped before it: a
    /// replica whose clock is behind another's appends after it without going back in time.
    #[test]
    fn an_event_is_never_stamped_before_the_newest_one() {
        let dir = tempfile::tempdir().unwrap();
        let (_, mut conn) = crate::db::tests::migrated_sqlite(&dir);
        let event = || NewEvent::new(Actor::anonymous(), "test.event");
        append(&mut conn, vec![event()]).unwrap();
        let first = number(&mut conn, "SELECT time AS n FROM audit_events WHERE seq = 1");
        assert_eq!(number(&mut conn, "SELECT last_time AS n FROM audit_chain_head"), first);
        let ahead = first + 3_600_000_000;
        diesel::sql_query(format!("UPDATE audit_chain_head SET last_time = {ahead}")).execute(&mut conn).unwrap();
        append(&mut conn, vec![event(), event()]).unwrap();
        assert_eq!(number(&mut conn, "SELECT min(time) AS n FROM audit_events WHERE seq > 1"), ahead);
        assert_eq!(number(&mut conn, "SELECT seq AS n FROM audit_chain_head"), 3);
        assert_eq!(number(&mut conn, "SELECT last_time AS n FROM audit_chain_head"), ahead);
        assert!(matches!(verify(&mut conn).unwrap(), ChainStatus::Intact { events: 3 }));
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
