//! Which events a page holds: the audit API's filters and a caller's visibility, as one query
//! over the stored form (values packed as [`super::compact`] stores them, so each filter meets
//! its index).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::compact::{outcome_code, pack_id, Row};
use super::{unpack, DbBackend, StoredEvent};
use crate::db::prefix_upper_bound;
use crate::db::schema::{audit_events, clients};
use crate::db::Conn;
use crate::error::Result;

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

type Condition = Box<dyn BoxableExpression<audit_events::table, DbBackend, SqlType = Bool>>;

/// Events by `account_id` or a client it owns, or about either. The account's clients are
/// looked up first, so that each branch of the `OR` is an equality (or `IN`) on an indexed
/// column.
fn involving(conn: &mut Conn, account_id: &str, own_ids: &[String]) -> Result<Condition> {
    let owned_clients: Vec<String> =
        clients::table.filter(clients::owner_account_id.eq(account_id)).select(clients::id).load(conn)?;
    let own: Vec<Vec<u8>> = own_ids.iter().map(|id| pack_id(id)).collect();
    let mut about: Vec<Vec<u8>> = own.clone();
    about.extend(owned_clients.iter().map(|id| pack_id(id)));
    Ok(Box::new(
        audit_events::actor_owner_account_id
            .eq(pack_id(account_id))
            .assume_not_null()
            .or(audit_events::actor_id.eq_any(own).assume_not_null())
            .or(audit_events::target_id.eq_any(about).assume_not_null()),
    ))
}

/// The events `visibility` lets a caller see that match `filter`, in no particular order.
fn matching(
    conn: &mut Conn,
    visibility: &Visibility,
    filter: &Filter,
) -> Result<audit_events::BoxedQuery<'static, DbBackend>> {
    let mut query = audit_events::table.into_boxed::<DbBackend>();
    if let Visibility::Limited { namespaces, account_id, own_ids } = visibility {
        let mut visible = involving(conn, account_id, own_ids)?;
        if !namespaces.is_empty() {
            visible = Box::new(visible.or(audit_events::namespace.eq_any(namespaces.clone()).assume_not_null()));
        }
        query = query.filter(visible);
    }
    if let Some(account_id) = &filter.involving {
        query = query.filter(involving(conn, account_id, std::slice::from_ref(account_id))?);
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor_id.eq(pack_id(actor)));
    }
    if let Some(target) = &filter.target {
        query = query.filter(audit_events::target_id.eq(pack_id(target)));
    }
    if let Some(action) = &filter.action {
        if let Some(prefix) = action.strip_suffix('*') {
            let upper = prefix_upper_bound(prefix);
            query = query.filter(audit_events::action.ge(prefix.to_owned()).and(audit_events::action.lt(upper)));
        } else if action.ends_with('.') {
            let upper = prefix_upper_bound(action);
            query = query.filter(audit_events::action.ge(action.clone()).and(audit_events::action.lt(upper)));
        } else {
            query = query.filter(audit_events::action.eq(action.clone()));
        }
    }
    if let Some(namespace) = &filter.namespace {
        query = query.filter(audit_events::namespace.eq(namespace.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        // An outcome no event has matches nothing (the API refuses unknown ones before this).
        query = query.filter(audit_events::outcome.eq(outcome_code(outcome).unwrap_or(0)));
    }
    // A time window is a seq range: event times never go backwards in chain order (`append`),
    // so the events at or after a time are those from the first one at or after it. One probe
    // of the time index each, then the page walks seq like any other.
    if let Some(since) = filter.since {
        query = match first_seq_at(conn, since)? {
            Some(seq) => query.filter(audit_events::seq.ge(seq)),
            None => query.filter(audit_events::seq.lt(0)),
        };
    }
    if let Some(until) = filter.until {
        if let Some(seq) = first_seq_at(conn, until)? {
            query = query.filter(audit_events::seq.lt(seq));
        }
    }
    Ok(query)
}

/// The first event (in chain order) whose time is at or after `time`.
fn first_seq_at(conn: &mut Conn, time: DateTime<Utc>) -> Result<Option<i64>> {
    Ok(audit_events::table
        .filter(audit_events::time.ge(time.timestamp_micros()))
        .order((audit_events::time.asc(), audit_events::seq.asc()))
        .select(audit_events::seq)
        .first(conn)
        .optional()?)
}

/// Newest first; `before` is the `seq` of the last event of the previous page.
pub fn list(
    conn: &mut Conn,
    visibility: &Visibility,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let mut query =
        matching(conn, visibility, filter)?.select(Row::as_select()).order(audit_events::seq.desc()).limit(limit);
    if let Some(before) = before {
        query = query.filter(audit_events::seq.lt(before));
    }
    let rows = query.load(conn)?;
    unpack(conn, rows)
}

/// In chain order: the first `limit` matching events after `after_seq` (exports, log streams,
/// archives).
pub fn list_after(
    conn: &mut Conn,
    visibility: &Visibility,
    filter: &Filter,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let query = matching(conn, visibility, filter)?
        .select(Row::as_select())
        .filter(audit_events::seq.gt(after_seq))
        .order(audit_events::seq.asc())
        .limit(limit);
    let rows = query.load(conn)?;
    unpack(conn, rows)
}
