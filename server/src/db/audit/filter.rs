//! Which events a page holds: the audit API's filters and a caller's visibility, over the stored
//! form (values as their codes of [`super::names`], so each condition meets its index).
//!
//! A page is the newest (or, for exports, oldest) `limit` matching events. A conjunction of
//! equalities walks one `(column, seq)` index in seq order and stops after `limit` rows. A
//! disjunction cannot: `a = x OR b = y`, `a IN (x, y)` or an action prefix spanning several
//! actions give the database several index ranges, which it gathers in full and sorts (1.4 s
//! a page at 10M events, ADR 0008). So a disjunction is split into its alternatives, each is
//! walked on its own with `LIMIT limit` and the walks are merged in seq order: the first
//! `limit` of the merge are the first `limit` of the union, since each alternative's page holds
//! at least that alternative's share of them.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::compact::{outcome_code, pack_id, Row};
use super::names::{self, Kind, Name};
use super::{salt, unpack, DbBackend, StoredEvent};
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
/// Values are codes of `audit_names`.
#[derive(Debug, Clone)]
enum Cond {
    Actor(i32),
    ActorOwner(i32),
    Target(i32),
    Action(i32),
    Namespace(i32),
    Outcome(i16),
    SeqAtLeast(i64),
    SeqBelow(i64),
    /// Any of these (none: nothing).
    AnyOf(Vec<Cond>),
}

impl Cond {
    /// Matches nothing: a value no event names.
    fn nothing() -> Cond {
        Cond::AnyOf(Vec::new())
    }

    /// An equality on a column with an index of its own.
    fn indexed(&self) -> bool {
        matches!(self, Cond::Actor(_) | Cond::ActorOwner(_) | Cond::Target(_) | Cond::Action(_) | Cond::Namespace(_))
    }

    fn expr(&self) -> Condition {
        match self.clone() {
            Cond::Actor(code) => Box::new(audit_events::actor.eq(code).assume_not_null()),
            Cond::ActorOwner(code) => Box::new(audit_events::actor_owner.eq(code).assume_not_null()),
            Cond::Target(code) => Box::new(audit_events::target.eq(code).assume_not_null()),
            Cond::Action(code) => Box::new(audit_events::action.eq(code)),
            Cond::Namespace(code) => Box::new(audit_events::namespace.eq(code).assume_not_null()),
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
        if self.all.iter().any(Cond::indexed) {
            if let Some(alternatives) = self.walks.take() {
                self.all.push(Cond::AnyOf(alternatives));
            }
        }
    }
}

/// The names a filter and a visibility mention, and their codes (a name no event has has none).
struct Codes(HashMap<Name, i32>);

impl Codes {
    fn id(&self, id: &str) -> Option<i32> {
        self.0.get(&(Kind::Id, pack_id(id))).copied()
    }

    fn text(&self, kind: Kind, text: &str) -> Option<i32> {
        self.0.get(&(kind, text.as_bytes().to_vec())).copied()
    }
}

/// The ids of the clients `account_id` owns: events by them or about them involve the account.
/// An id that is not a UUID owns none and is not looked up: an `involving` filter is the
/// caller's text, and PostgreSQL refuses some text outright (a NUL character), which would fail
/// the page, or an export already streaming.
fn owned_clients(conn: &mut Conn, account_id: &str) -> Result<Vec<String>> {
    if uuid::Uuid::try_parse(account_id).is_err() {
        return Ok(Vec::new());
    }
    Ok(clients::table.filter(clients::owner_account_id.eq(account_id)).select(clients::id).load(conn)?)
}

/// Events by `account_id` or a client it owns, or about either (and about `own_ids`): each
/// alternative an equality on an indexed column. Ids no event names are left out.
fn involving(codes: &Codes, account_id: &str, own_ids: &[String], owned_clients: &[String]) -> Vec<Cond> {
    let mut alternatives: Vec<Cond> = codes.id(account_id).map(Cond::ActorOwner).into_iter().collect();
    alternatives.extend(own_ids.iter().filter_map(|id| codes.id(id)).map(Cond::Actor));
    alternatives.extend(own_ids.iter().chain(owned_clients).filter_map(|id| codes.id(id)).map(Cond::Target));
    alternatives
}

/// The conditions of a page for `visibility` and `filter`.
fn plan(conn: &mut Conn, salt: &[u8], visibility: &Visibility, filter: &Filter) -> Result<Plan> {
    // Every name mentioned, resolved to its code at once.
    let involved = match &filter.involving {
        Some(account_id) => Some((account_id, owned_clients(conn, account_id)?)),
        None => None,
    };
    let limited = match visibility {
        Visibility::Limited { namespaces, account_id, own_ids } => {
            Some((namespaces, account_id, own_ids, owned_clients(conn, account_id)?))
        }
        Visibility::All => None,
    };
    let mut wanted: Vec<Name> = Vec::new();
    let mut ids: Vec<&String> = Vec::new();
    if let Some((account_id, clients)) = &involved {
        ids.push(account_id);
        ids.extend(clients);
    }
    if let Some((namespaces, account_id, own_ids, clients)) = &limited {
        ids.push(account_id);
        ids.extend(own_ids.iter().chain(clients));
        wanted.extend(namespaces.iter().map(|ns| (Kind::Namespace, ns.as_bytes().to_vec())));
    }
    ids.extend(filter.actor.iter().chain(&filter.target));
    wanted.extend(ids.into_iter().map(|id| (Kind::Id, pack_id(id))));
    wanted.extend(filter.action.iter().map(|a| (Kind::Action, a.as_bytes().to_vec())));
    wanted.extend(filter.namespace.iter().map(|ns| (Kind::Namespace, ns.as_bytes().to_vec())));
    let codes = Codes(names::codes(conn, salt, &wanted)?);

    let mut plan = Plan::default();
    if let Some((account_id, clients)) = &involved {
        plan.any_of(involving(&codes, account_id, std::slice::from_ref(account_id), clients));
    }
    if let Some((namespaces, account_id, own_ids, clients)) = &limited {
        let mut alternatives = involving(&codes, account_id, own_ids, clients);
        alternatives.extend(namespaces.iter().filter_map(|ns| codes.text(Kind::Namespace, ns)).map(Cond::Namespace));
        plan.any_of(alternatives);
    }
    if let Some(actor) = &filter.actor {
        plan.all.push(codes.id(actor).map_or_else(Cond::nothing, Cond::Actor));
    }
    if let Some(target) = &filter.target {
        plan.all.push(codes.id(target).map_or_else(Cond::nothing, Cond::Target));
    }
    if let Some(action) = &filter.action {
        let prefix = action.strip_suffix('*').or(action.ends_with('.').then_some(action.as_str()));
        match prefix {
            // The actions that start with it, from the names (one range read).
            Some(prefix) => {
                let upper = prefix_upper_bound(prefix);
                let actions = names::codes_between(conn, Kind::Action, prefix.as_bytes(), upper.as_bytes())?;
                plan.any_of(actions.into_iter().map(Cond::Action).collect());
            }
            None => plan.all.push(codes.text(Kind::Action, action).map_or_else(Cond::nothing, Cond::Action)),
        }
    }
    if let Some(namespace) = &filter.namespace {
        plan.all.push(codes.text(Kind::Namespace, namespace).map_or_else(Cond::nothing, Cond::Namespace));
    }
    if let Some(outcome) = &filter.outcome {
        // An outcome no event has matches nothing (the API refuses unknown ones before this).
        plan.all.push(Cond::Outcome(outcome_code(outcome).unwrap_or(0)));
    }
    // A time window is a seq range: event times never go backwards in chain order (`append`),
    // so the events at or after a time are those from the first one at or after it.
    if let Some(since) = filter.since {
        plan.all.push(match first_seq_at(conn, since)? {
            Some(seq) => Cond::SeqAtLeast(seq),
            None => Cond::nothing(),
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

/// The first stored event at or after `seq`, and its time: one read of the primary key.
fn at_or_after(conn: &mut Conn, seq: i64) -> Result<Option<(i64, i64)>> {
    Ok(audit_events::table
        .filter(audit_events::seq.ge(seq))
        .order(audit_events::seq.asc())
        .select((audit_events::seq, audit_events::time))
        .first(conn)
        .optional()?)
}

/// The first event (in chain order) whose time is at or after `time`: a binary search over
/// seq (about 24 reads of the primary key at 10M events), since times never go backwards in
/// chain order. Holes in seq (none but archived ones) are stepped over: each probe reads the
/// first event at or after its seq. The search runs in the database, as one recursive query
/// (one round trip, not one per probe).
fn first_seq_at(conn: &mut Conn, time: DateTime<Utc>) -> Result<Option<i64>> {
    let time = time.timestamp_micros();
    let Some((first, first_time)) = at_or_after(conn, i64::MIN)? else { return Ok(None) };
    if first_time >= time {
        return Ok(Some(first));
    }
    let (last, last_time): (i64, i64) = audit_events::table
        .order(audit_events::seq.desc())
        .select((audit_events::seq, audit_events::time))
        .first(conn)?;
    if last_time < time {
        return Ok(None);
    }
    // The first event at or after `low` is earlier than `time`; the one at or after `high` is
    // not. Halve until they meet; the answer is the first event at or after the last `high`.
    // (Integers only, formatted into the text: no placeholders, whose syntax differs by backend.)
    let probe = "(SELECT e.time FROM audit_events e WHERE e.seq >= (s.low + s.high) / 2 ORDER BY e.seq LIMIT 1)";
    let search = format!(
        "WITH RECURSIVE search(low, high) AS (
             SELECT CAST({first} AS BIGINT), CAST({last} AS BIGINT)
             UNION ALL
             SELECT CASE WHEN {probe} >= {time} THEN s.low ELSE (s.low + s.high) / 2 END,
                    CASE WHEN {probe} >= {time} THEN (s.low + s.high) / 2 ELSE s.high END
             FROM search s WHERE s.high - s.low > 1)
         SELECT CAST(MIN(high) AS BIGINT) AS high FROM search"
    );
    let high = diesel::sql_query(search).get_result::<Bound>(conn)?.high;
    Ok(at_or_after(conn, high)?.map(|(seq, _)| seq))
}

#[derive(QueryableByName)]
struct Bound {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    high: i64,
}

/// PostgreSQL's indexes on codes are by `(code, seq >> 12)`, not `(code, seq)` (ADR 0010): the
/// events of one code in one bucket of 4096 seqs share one key, which B-tree deduplication
/// stores once with a list of 6-byte row pointers, a fifth of an `(int4, int8)` entry. A walk
/// along such an index orders by `(bucket, seq)`: the index gives the bucket order and the
/// database sorts within a bucket (an incremental sort, stopping after the page's last bucket).
/// Seq bounds are also bucket bounds, so that the index range starts at the right bucket.
/// SQLite keeps `(code, seq)`: its index entries have no per-entry header to save.
struct Bucketed;

impl Bucketed {
    const SHIFT: u32 = 12;

    fn bucket() -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
        diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!("(seq >> {})", Self::SHIFT))
    }

    /// Buckets that may hold a seq at or above `seq`.
    fn at_least(seq: i64) -> diesel::expression::SqlLiteral<Bool> {
        diesel::dsl::sql::<Bool>(&format!("(seq >> {}) >= {}", Self::SHIFT, seq >> Self::SHIFT))
    }

    /// Buckets that may hold a seq below `seq`.
    fn below(seq: i64) -> diesel::expression::SqlLiteral<Bool> {
        diesel::dsl::sql::<Bool>(&format!("(seq >> {}) <= {}", Self::SHIFT, (seq - 1) >> Self::SHIFT))
    }
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
fn page(conn: &mut Conn, salt: &[u8], plan: Plan, walk: Walk, limit: i64) -> Result<Vec<StoredEvent>> {
    let postgres = matches!(conn, Conn::Pg(_));
    let query = |alternative: Option<&Cond>| {
        let conds = || plan.all.iter().chain(alternative);
        // PostgreSQL's indexes on codes hold (code, bucket): see `Bucketed`.
        let bucketed = postgres && conds().any(Cond::indexed);
        let mut query = audit_events::table.limit(limit).into_boxed::<DbBackend>();
        for cond in conds() {
            query = query.filter(cond.expr());
            if bucketed {
                match cond {
                    Cond::SeqAtLeast(seq) => query = query.filter(Bucketed::at_least(*seq)),
                    Cond::SeqBelow(seq) => query = query.filter(Bucketed::below(*seq)),
                    _ => {}
                }
            }
        }
        match (walk, bucketed) {
            (Walk::NewestBefore(before), false) => {
                let query = query.order(audit_events::seq.desc());
                match before {
                    Some(before) => query.filter(audit_events::seq.lt(before)),
                    None => query,
                }
            }
            (Walk::NewestBefore(before), true) => {
                let query = query.order((Bucketed::bucket().desc(), audit_events::seq.desc()));
                match before {
                    Some(before) => query.filter(audit_events::seq.lt(before)).filter(Bucketed::below(before)),
                    None => query,
                }
            }
            (Walk::OldestAfter(after), false) => {
                query.filter(audit_events::seq.gt(after)).order(audit_events::seq.asc())
            }
            (Walk::OldestAfter(after), true) => query
                .filter(audit_events::seq.gt(after))
                .filter(Bucketed::at_least(after + 1))
                .order((Bucketed::bucket().asc(), audit_events::seq.asc())),
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
    unpack(conn, salt, rows)
}

/// Newest first; `before` is the `seq` of the last event of the previous page.
pub fn list(
    conn: &mut Conn,
    visibility: &Visibility,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let salt = salt(conn)?;
    let plan = plan(conn, &salt, visibility, filter)?;
    page(conn, &salt, plan, Walk::NewestBefore(before), limit)
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
    let salt = salt(conn)?;
    let plan = plan(conn, &salt, visibility, filter)?;
    page(conn, &salt, plan, Walk::OldestAfter(after_seq), limit)
}
