//! The audit chain in the database. Appending locks the chain's head row (an `UPDATE` of it),
//! so concurrent transactions, on one replica or many, append in one order.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use uuid::Uuid;

use super::schema::{audit_chain_head, audit_events, clients};
use super::{from_db_time, to_db_time, Conn};
use crate::domain::audit::{ChainCheck, NewEvent, StoredEvent};
use crate::error::Result;

type DbBackend = <Conn as diesel::Connection>::Backend;

/// Rows per `INSERT` statement: 16 columns each, well below SQLite's 32,766 bound parameters.
const INSERT_CHUNK: usize = 256;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
struct Row {
    seq: i64,
    id: String,
    time: NaiveDateTime,
    actor_type: String,
    actor_id: Option<String>,
    actor_owner_account_id: Option<String>,
    action: String,
    target_type: Option<String>,
    target_id: Option<String>,
    namespace: Option<String>,
    outcome: String,
    request_id: Option<String>,
    ip: Option<String>,
    changes: Option<String>,
    prev_hash: String,
    hash: String,
}

impl From<Row> for StoredEvent {
    fn from(r: Row) -> Self {
        StoredEvent {
            seq: r.seq,
            id: r.id,
            time: from_db_time(r.time),
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            actor_owner_account_id: r.actor_owner_account_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            namespace: r.namespace,
            outcome: r.outcome,
            request_id: r.request_id,
            ip: r.ip,
            changes: r.changes,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

impl From<StoredEvent> for Row {
    fn from(e: StoredEvent) -> Self {
        Row {
            seq: e.seq,
            id: e.id,
            time: to_db_time(e.time),
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            actor_owner_account_id: e.actor_owner_account_id,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            namespace: e.namespace,
            outcome: e.outcome,
            request_id: e.request_id,
            ip: e.ip,
            changes: e.changes,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// Appends events to the chain. Call it inside the transaction of the change the events
/// describe, as late as possible: the chain's head stays locked until that transaction ends.
pub fn append(conn: &mut Conn, events: Vec<NewEvent>) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let count = events.len() as i64;
    let (last_seq, mut prev_hash): (i64, String) = diesel::update(audit_chain_head::table.find(1))
        .set(audit_chain_head::seq.eq(audit_chain_head::seq + count))
        .returning((audit_chain_head::seq, audit_chain_head::hash))
        .get_result(conn)?;
    let time = super::now();
    let mut rows = Vec::with_capacity(events.len());
    for (offset, event) in events.into_iter().enumerate() {
        let seq = last_seq - count + 1 + offset as i64;
        let stored = StoredEvent::seal(event, seq, Uuid::now_v7().to_string(), time, prev_hash);
        prev_hash = stored.hash.clone();
        rows.push(Row::from(stored));
    }
    // Multi-row INSERTs, in chunks that stay below SQLite's limit of bound parameters.
    for chunk in rows.chunks(INSERT_CHUNK) {
        native!(conn, |c| diesel::insert_into(audit_events::table).values(chunk).execute(c))?;
    }
    diesel::update(audit_chain_head::table.find(1)).set(audit_chain_head::hash.eq(prev_hash)).execute(conn)?;
    Ok(())
}

/// Which events a caller may read.
#[derive(Debug, Clone)]
pub enum Visibility {
    All,
    /// Events in these namespaces, plus those by or about the account and its clients.
    Limited {
        namespaces: Vec<String>,
        account_id: String,
        own_ids: Vec<String>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub target: Option<String>,
    /// Exact action, or a prefix when it ends in `.` or `*`.
    pub action: Option<String>,
    pub namespace: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// An account id: events by it or its clients, or about it or its clients.
    pub involving: Option<String>,
}

/// Events by `account_id` or a client it owns, or about either.
fn involving(
    account_id: &str,
    own_ids: Vec<String>,
) -> Box<dyn BoxableExpression<audit_events::table, DbBackend, SqlType = Bool>> {
    let owned_clients =
        clients::table.filter(clients::owner_account_id.eq(account_id.to_owned())).select(clients::id.nullable());
    Box::new(
        audit_events::actor_owner_account_id
            .eq(account_id.to_owned())
            .assume_not_null()
            .or(audit_events::actor_id.eq_any(own_ids.clone()).assume_not_null())
            .or(audit_events::target_id.eq_any(own_ids).assume_not_null())
            .or(audit_events::target_id.eq_any(owned_clients).assume_not_null()),
    )
}

/// Newest first; `before` is the `seq` of the last event of the previous page.
pub fn list(
    conn: &mut Conn,
    visibility: &Visibility,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let mut query = audit_events::table
        .select(Row::as_select())
        .order(audit_events::seq.desc())
        .limit(limit)
        .into_boxed::<DbBackend>();
    if let Visibility::Limited { namespaces, account_id, own_ids } = visibility {
        let mut visible = involving(account_id, own_ids.clone());
        if !namespaces.is_empty() {
            visible = Box::new(visible.or(audit_events::namespace.eq_any(namespaces.clone()).assume_not_null()));
        }
        query = query.filter(visible);
    }
    if let Some(account_id) = &filter.involving {
        query = query.filter(involving(account_id, vec![account_id.clone()]));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor_id.eq(actor.clone()));
    }
    if let Some(target) = &filter.target {
        query = query.filter(audit_events::target_id.eq(target.clone()));
    }
    if let Some(action) = &filter.action {
        if let Some(prefix) = action.strip_suffix('*') {
            let upper = crate::domain::names::prefix_upper_bound(prefix);
            query = query.filter(audit_events::action.ge(prefix.to_owned()).and(audit_events::action.lt(upper)));
        } else if action.ends_with('.') {
            let upper = crate::domain::names::prefix_upper_bound(action);
            query = query.filter(audit_events::action.ge(action.clone()).and(audit_events::action.lt(upper)));
        } else {
            query = query.filter(audit_events::action.eq(action.clone()));
        }
    }
    if let Some(namespace) = &filter.namespace {
        query = query.filter(audit_events::namespace.eq(namespace.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_events::outcome.eq(outcome.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::time.ge(to_db_time(since)));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::time.lt(to_db_time(until)));
    }
    if let Some(before) = before {
        query = query.filter(audit_events::seq.lt(before));
    }
    Ok(query.load(conn)?.into_iter().map(StoredEvent::from).collect())
}

/// The outcome of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStatus {
    Intact { events: u64 },
    Broken { checked: u64, reason: String },
}

/// Walks the chain from its first event, a page at a time, and names the first broken link.
/// Other replicas may append while it walks: it follows the head until it stands still, and
/// only then counts an event beyond the head as a break.
pub fn verify(conn: &mut Conn) -> Result<ChainStatus> {
    const PAGE: i64 = 2000;
    let head = |conn: &mut Conn| -> Result<(i64, String)> {
        Ok(audit_chain_head::table.find(1).select((audit_chain_head::seq, audit_chain_head::hash)).first(conn)?)
    };
    let mut check = ChainCheck::default();
    let mut after = 0i64;
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
            for row in page {
                let event = StoredEvent::from(row);
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
