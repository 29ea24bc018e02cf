//! Which events a page holds: the audit API's filters and a caller's visibility, over the stored
//! form (values packed as [`super::compact`] stores them, so each condition meets its index).
//!
//! A page is the newest (or, for exports, oldest) `limit` matching events. A conjunction of
//! equalities walks one `(column, seq)` index in seq order and stops after `limit` rows. A
//! disjunction cannot: `a = x OR b = y`, `a IN (x, y)` or an action prefix spanning several
//! actions give the database several index ranges, which it gathers in full and sorts (1.4 s
//! a page at 10M events, ADR 0008). So a disjunction is split into its alternatives, each is
//! walked on its own with `LIMIT limit` and the walks are merged in seq order: the first
//! `limit` of the merge are the first `limit` of the union, since each alternative's page holds
//! at least that alternative's share of them.

use std::collections::BTreeSet;

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

/// Beyond this many alternatives a disjunction stays one query (`OR`): that many walks would
/// cost more than one sort.
const MAX_WALKS: usize = 64;

/// One condition on the stored form, kept as data so that each walk can build its own query.
#[derive(Debug, Clone)]
enum Cond {
    ActorId(Vec<u8>),
    ActorOwner(Vec<u8>),
    TargetId(Vec<u8>),
    Action(String),
    ActionRange(String, String),
    Namespace(String),
    Outcome(i16),
    SeqAtLeast(i64),
    SeqBelow(i64),
    /// Any of these (none: nothing).
    AnyOf(Vec<Cond>),
}

impl Cond {
    fn expr(&self) -> Condition {
        match self.clone() {
            Cond::ActorId(id) => Box::new(audit_events::actor_id.eq(id).assume_not_null()),
            Cond::ActorOwner(id) => Box::new(audit_events::actor_owner_account_id.eq(id).assume_not_null()),
            Cond::TargetId(id) => Box::new(audit_events::target_id.eq(id).assume_not_null()),
            Cond::Action(action) => Box::new(audit_events::action.eq(action)),
            Cond::ActionRange(from, below) => {
                Box::new(audit_events::action.ge(from).and(audit_events::action.lt(below)))
            }
            Cond::Namespace(namespace) => Box::new(audit_events::namespace.eq(namespace).assume_not_null()),
            Cond::Outcome(code) => Box::new(audit_events::outcome.eq(code)),
            Cond::SeqAtLeast(seq) => Box::new(audit_events::seq.ge(seq)),
            Cond::SeqBelow(seq) => Box::new(audit_events::seq.lt(seq)),
            Cond::AnyOf(alternatives) => {
                let mut alternatives = alternatives.iter().map(Cond::expr);
                match alternatives.next() {
                    None => Box::new(audit_events::seq.lt(0)),
                    Some(first) => alternatives.fold(first, |any, next| Box::new(any.or(next))),
                }
            }
        }
    }
}

/// A page query before it is run: conditions every event meets, and the alternatives of (at
/// most) one disjunction, each walked on its own.
#[derive(Debug, Default)]
struct Plan {
    all: Vec<Cond>,
    walks: Option<Vec<Cond>>,
}

impl Plan {
    /// Adds a disjunction: walked apart if it is the first one and small enough, else a
    /// condition like the others.
    fn any_of(&mut self, alternatives: Vec<Cond>) {
        if self.walks.is_none() && alternatives.len() <= MAX_WALKS {
            self.walks = Some(alternatives);
        } else {
            self.all.push(Cond::AnyOf(alternatives));
        }
    }

    /// With an equality on an indexed column among the conditions, the database walks that
    /// column's index newest first and tests the disjunction on each row: that stops after
    /// `limit` matches, where a walk per alternative could scan each alternative's whole range
    /// for the few rows that also meet the equality.
    fn walk_apart_only_without_an_index(&mut self) {
        let indexed = self.all.iter().any(|cond| {
            matches!(
                cond,
                Cond::ActorId(_) | Cond::ActorOwner(_) | Cond::TargetId(_) | Cond::Action(_) | Cond::Namespace(_)
            )
        });
        if indexed {
            if let Some(alternatives) = self.walks.take() {
                self.all.push(Cond::AnyOf(alternatives));
            }
        }
    }
}

/// Events by `account_id` or a client it owns, or about either (and about `own_ids`). The
/// account's clients are looked up first, so that each alternative is an equality on an indexed
/// column.
fn involving(conn: &mut Conn, account_id: &str, own_ids: &[String]) -> Result<Vec<Cond>> {
    let owned_clients: Vec<String> =
        clients::table.filter(clients::owner_account_id.eq(account_id)).select(clients::id).load(conn)?;
    let mut alternatives = vec![Cond::ActorOwner(pack_id(account_id))];
    alternatives.extend(own_ids.iter().map(|id| Cond::ActorId(pack_id(id))));
    alternatives.extend(own_ids.iter().chain(&owned_clients).map(|id| Cond::TargetId(pack_id(id))));
    Ok(alternatives)
}

/// The distinct actions in `[from, below)`, each found by one probe of the action index (a skip
/// scan), or `None` when there are more than [`MAX_WALKS`].
fn actions_between(conn: &mut Conn, from: &str, below: &str) -> Result<Option<Vec<String>>> {
    let mut found: Vec<String> = Vec::new();
    loop {
        let mut query = audit_events::table
            .select(audit_events::action)
            .filter(audit_events::action.lt(below.to_owned()))
            .order(audit_events::action.asc())
            .limit(1)
            .into_boxed::<DbBackend>();
        query = match found.last() {
            Some(last) => query.filter(audit_events::action.gt(last.clone())),
            None => query.filter(audit_events::action.ge(from.to_owned())),
        };
        match query.first::<String>(conn).optional()? {
            Some(action) if found.len() < MAX_WALKS => found.push(action),
            Some(_) => return Ok(None),
            None => return Ok(Some(found)),
        }
    }
}

/// The conditions of a page for `visibility` and `filter`.
fn plan(conn: &mut Conn, visibility: &Visibility, filter: &Filter) -> Result<Plan> {
    let mut plan = Plan::default();
    if let Some(account_id) = &filter.involving {
        let alternatives = involving(conn, account_id, std::slice::from_ref(account_id))?;
        plan.any_of(alternatives);
    }
    if let Visibility::Limited { namespaces, account_id, own_ids } = visibility {
        let mut alternatives = involving(conn, account_id, own_ids)?;
        alternatives.extend(namespaces.iter().map(|ns| Cond::Namespace(ns.clone())));
        plan.any_of(alternatives);
    }
    if let Some(actor) = &filter.actor {
        plan.all.push(Cond::ActorId(pack_id(actor)));
    }
    if let Some(target) = &filter.target {
        plan.all.push(Cond::TargetId(pack_id(target)));
    }
    if let Some(action) = &filter.action {
        let prefix = action.strip_suffix('*').or(action.ends_with('.').then_some(action.as_str()));
        match prefix {
            Some(prefix) => {
                let upper = prefix_upper_bound(prefix);
                match actions_between(conn, prefix, &upper)? {
                    Some(actions) => plan.any_of(actions.into_iter().map(Cond::Action).collect()),
                    None => plan.all.push(Cond::ActionRange(prefix.to_owned(), upper)),
                }
            }
            None => plan.all.push(Cond::Action(action.clone())),
        }
    }
    if let Some(namespace) = &filter.namespace {
        plan.all.push(Cond::Namespace(namespace.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        // An outcome no event has matches nothing (the API refuses unknown ones before this).
        plan.all.push(Cond::Outcome(outcome_code(outcome).unwrap_or(0)));
    }
    // A time window is a seq range: event times never go backwards in chain order (`append`),
    // so the events at or after a time are those from the first one at or after it. One probe
    // of the time index each, then the page walks seq like any other.
    if let Some(since) = filter.since {
        plan.all.push(match first_seq_at(conn, since)? {
            Some(seq) => Cond::SeqAtLeast(seq),
            None => Cond::AnyOf(Vec::new()),
        });
    }
    if let Some(until) = filter.until {
        if let Some(seq) = first_seq_at(conn, until)? {
            plan.all.push(Cond::SeqBelow(seq));
        }
    }
    plan.walk_apart_only_without_an_index();
    Ok(plan)
}

/// The first event (in chain order) whose time is at or after `time`: one probe of the time
/// index.
fn first_seq_at(conn: &mut Conn, time: DateTime<Utc>) -> Result<Option<i64>> {
    Ok(audit_events::table
        .filter(audit_events::time.ge(time.timestamp_micros()))
        .order((audit_events::time.asc(), audit_events::seq.asc()))
        .select(audit_events::seq)
        .first(conn)
        .optional()?)
}

/// Which way a page walks the chain, and where it starts.
#[derive(Clone, Copy)]
enum Walk {
    /// Newest first, below this seq (if any).
    NewestBefore(Option<i64>),
    /// Oldest first, after this seq.
    OldestAfter(i64),
}

/// Runs `plan`'s page: one query, or one walk per alternative merged in seq order. The walks
/// select `seq` only (often from the index alone); the page's rows are then read by seq.
fn page(conn: &mut Conn, plan: Plan, walk: Walk, limit: i64) -> Result<Vec<StoredEvent>> {
    let query = |alternative: Option<&Cond>| {
        let mut query = audit_events::table.limit(limit).into_boxed::<DbBackend>();
        for cond in plan.all.iter().chain(alternative) {
            query = query.filter(cond.expr());
        }
        match walk {
            Walk::NewestBefore(before) => {
                let query = query.order(audit_events::seq.desc());
                match before {
                    Some(before) => query.filter(audit_events::seq.lt(before)),
                    None => query,
                }
            }
            Walk::OldestAfter(after) => query.filter(audit_events::seq.gt(after)).order(audit_events::seq.asc()),
        }
    };
    let rows: Vec<Row> = match &plan.walks {
        None => query(None).select(Row::as_select()).load(conn)?,
        Some(alternatives) => {
            // By seq, each event once (it may match several alternatives).
            let mut seqs: BTreeSet<i64> = BTreeSet::new();
            for alternative in alternatives {
                seqs.extend(query(Some(alternative)).select(audit_events::seq).load::<i64>(conn)?);
            }
            let limit = usize::try_from(limit).unwrap_or(0);
            let page: Vec<i64> = match walk {
                Walk::NewestBefore(_) => seqs.into_iter().rev().take(limit).collect(),
                Walk::OldestAfter(_) => seqs.into_iter().take(limit).collect(),
            };
            let mut rows: Vec<Row> =
                audit_events::table.filter(audit_events::seq.eq_any(&page)).select(Row::as_select()).load(conn)?;
            match walk {
                Walk::NewestBefore(_) => rows.sort_by_key(|row| std::cmp::Reverse(row.seq)),
                Walk::OldestAfter(_) => rows.sort_by_key(|row| row.seq),
            }
            rows
        }
    };
    unpack(conn, rows)
}

/// Newest first; `before` is the `seq` of the last event of the previous page.
pub fn list(
    conn: &mut Conn,
    visibility: &Visibility,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let plan = plan(conn, visibility, filter)?;
    page(conn, plan, Walk::NewestBefore(before), limit)
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
    let plan = plan(conn, visibility, filter)?;
    page(conn, plan, Walk::OldestAfter(after_seq), limit)
}
