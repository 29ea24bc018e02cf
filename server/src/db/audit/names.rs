//! Audit names (ADR 0010): actor, owner and target ids, actions, namespaces and target types are
//! few values repeated millions of times. `audit_names` stores each once; events (and their
//! indexes) name it by its code. The table is append-only (triggers), so a committed code names
//! its value for good, and both directions are cached in memory per database.
//!
//! Only what is known to be committed enters the cache: a name read outside a transaction, or
//! one read or written inside a transaction of [`crate::db::transaction`] once it commits. Until
//! then it waits in this thread's pending list, which a rollback (of the transaction, or of the
//! savepoint it was learnt in) empties. So a rollback never leaves a cached code that does not
//! exist, and a code another value may get later. New codes are given under the chain head's
//! lock (`append` takes it first), so replicas never race for them.
//!
//! The cache is keyed by the database's `id_salt` (random, one per database): one process may
//! serve several databases (tests, the benchmarks).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use crate::db::schema::audit_names;
use crate::db::Conn;
use crate::error::Result;

/// What a name is; the same bytes under two kinds are two names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    /// Actor, owner and target ids, packed as [`super::compact::pack_id`] stores them.
    Id = 1,
    Action = 2,
    Namespace = 3,
    TargetType = 4,
}

/// A name: its kind and its bytes.
pub(super) type Name = (Kind, Vec<u8>);

/// Names cached per database, in both directions.
#[derive(Default)]
struct Known {
    codes: HashMap<Name, i32>,
    names: HashMap<i32, Name>,
}

/// Names looked up or given in one statement (PostgreSQL's and SQLite's bind limits are far).
const LOOKUP_NAMES: usize = 1000;

/// A database's cache is emptied when it grows beyond this (it fills again as names are used).
const MAX_CACHED: usize = 200_000;

fn caches() -> &'static Mutex<HashMap<Vec<u8>, Known>> {
    static CACHES: OnceLock<Mutex<HashMap<Vec<u8>, Known>>> = OnceLock::new();
    CACHES.get_or_init(Default::default)
}

thread_local! {
    /// Names learnt inside the current transaction: (database salt, code, name).
    static PENDING: RefCell<Vec<(Vec<u8>, i32, Name)>> = const { RefCell::new(Vec::new()) };
}

fn with_cache<T>(salt: &[u8], f: impl FnOnce(&mut Known) -> T) -> T {
    let mut caches = caches().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(caches.entry(salt.to_vec()).or_default())
}

fn cache(salt: &[u8], learnt: impl IntoIterator<Item = (i32, Name)>) {
    with_cache(salt, |known| {
        for (code, name) in learnt {
            if known.codes.len() >= MAX_CACHED {
                *known = Known::default();
            }
            known.codes.insert(name.clone(), code);
            known.names.insert(code, name);
        }
    })
}

/// Caches what was read, or keeps it pending while a transaction may still roll it back.
fn learn(conn: &mut Conn, salt: &[u8], learnt: Vec<(i32, Name)>) -> Result<()> {
    let depth = native!(conn, |c| AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth())?;
    if depth.is_none() {
        cache(salt, learnt);
    } else {
        PENDING.with(|p| p.borrow_mut().extend(learnt.into_iter().map(|(code, name)| (salt.to_vec(), code, name))));
    }
    Ok(())
}

/// A transaction begins: whatever is pending came from work that did not commit through
/// [`crate::db::transaction`], and is dropped.
pub(crate) fn transaction_begins() {
    PENDING.with(|p| p.borrow_mut().clear());
}

/// The transaction committed: what it learnt is committed too.
pub(crate) fn transaction_committed() {
    let learnt = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for (salt, code, name) in learnt {
        cache(&salt, [(code, name)]);
    }
}

/// How many names are pending: a savepoint notes it, and [`rolled_back_to`] it on failure.
pub(crate) fn pending_mark() -> usize {
    PENDING.with(|p| p.borrow().len())
}

/// Forgets what was learnt since `mark` (a savepoint, or 0: the transaction rolled back).
pub(crate) fn rolled_back_to(mark: usize) {
    PENDING.with(|p| p.borrow_mut().truncate(mark));
}

/// A name row as a raw statement reads it.
#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    code: i32,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    kind: i16,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    value: Vec<u8>,
}

/// Names of `wanted` not in the cache, each once, in order; the cached ones go into `found`.
fn uncached(salt: &[u8], wanted: &[Name], found: &mut HashMap<Name, i32>) -> Vec<Name> {
    let mut missing = Vec::new();
    let mut seen = HashSet::new();
    with_cache(salt, |known| {
        for name in wanted {
            match known.codes.get(name) {
                Some(code) => {
                    found.insert(name.clone(), *code);
                }
                None if seen.insert(name) => missing.push(name.clone()),
                None => {}
            }
        }
    });
    missing
}

/// The codes of `wanted` that exist (those that do not are left out).
pub(super) fn codes(conn: &mut Conn, salt: &[u8], wanted: &[Name]) -> Result<HashMap<Name, i32>> {
    let mut found = HashMap::with_capacity(wanted.len());
    let missing = uncached(salt, wanted, &mut found);
    if missing.is_empty() {
        return Ok(found);
    }
    let mut rows: Vec<(i32, i16, Vec<u8>)> = Vec::with_capacity(missing.len());
    for chunk in missing.chunks(LOOKUP_NAMES) {
        let kinds: Vec<i16> = chunk.iter().map(|(kind, _)| *kind as i16).collect();
        let values: Vec<&[u8]> = chunk.iter().map(|(_, value)| value.as_slice()).collect();
        match conn {
            // A join with the wanted pairs: one index probe per name, whatever the planner's
            // statistics say. `kind = ANY(…) AND value = ANY(…)` on a table that grew since its
            // last ANALYZE (an import) scanned every name of the kind, comparing each with every
            // wanted value: 175 ms per 1,000 names at a million names, against 4 ms.
            Conn::Pg(c) => rows.extend(
                diesel::sql_query(
                    "SELECT n.code, n.kind, n.value FROM audit_names n \
                     JOIN unnest($1::smallint[], $2::bytea[]) AS w(kind, value) \
                     ON n.kind = w.kind AND n.value = w.value",
                )
                .bind::<diesel::sql_types::Array<diesel::sql_types::SmallInt>, _>(&kinds)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Binary>, _>(&values)
                .load::<NameRow>(c)?
                .into_iter()
                .map(|r| (r.code, r.kind, r.value)),
            ),
            // SQLite probes the (kind, value) index once per pair of its two IN lists.
            Conn::Sqlite(c) => {
                let mut distinct = kinds.clone();
                distinct.sort_unstable();
                distinct.dedup();
                rows.extend(
                    audit_names::table
                        .filter(audit_names::kind.eq_any(distinct))
                        .filter(audit_names::value.eq_any(values))
                        .select((audit_names::code, audit_names::kind, audit_names::value))
                        .load::<(i32, i16, Vec<u8>)>(c)?,
                )
            }
        }
    }
    let mut learnt = Vec::with_capacity(rows.len());
    for (code, kind, value) in rows {
        if let Some(kind) = kind_of(kind) {
            let name = (kind, value);
            found.insert(name.clone(), code);
            learnt.push((code, name));
        }
    }
    // The SQLite query's two lists also match pairs nobody asked for: harmless, and cached.
    learn(conn, salt, learnt)?;
    Ok(found)
}

/// The codes of `wanted`, giving the missing ones theirs. Call it under the chain head's lock.
pub(super) fn codes_or_new(conn: &mut Conn, salt: &[u8], wanted: &[Name]) -> Result<HashMap<Name, i32>> {
    let mut found = codes(conn, salt, wanted)?;
    let mut new: Vec<&Name> = Vec::new();
    let mut seen = HashSet::new();
    for name in wanted {
        if !found.contains_key(name) && seen.insert(name) {
            new.push(name);
        }
    }
    let mut learnt = Vec::with_capacity(new.len());
    for chunk in new.chunks(LOOKUP_NAMES) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(kind, value)| (audit_names::kind.eq(*kind as i16), audit_names::value.eq(value)))
            .collect();
        let given: Vec<(i32, i16, Vec<u8>)> = match conn {
            // One statement for all of them: an import names a thousand new accounts at once.
            Conn::Pg(c) => diesel::insert_into(audit_names::table)
                .values(&rows)
                .returning((audit_names::code, audit_names::kind, audit_names::value))
                .get_results(c)?,
            Conn::Sqlite(c) => {
                let mut given = Vec::with_capacity(rows.len());
                for row in &rows {
                    given.push(
                        diesel::insert_into(audit_names::table)
                            .values(*row)
                            .returning((audit_names::code, audit_names::kind, audit_names::value))
                            .get_result(c)?,
                    );
                }
                given
            }
        };
        for (code, kind, value) in given {
            if let Some(kind) = kind_of(kind) {
                let name = (kind, value);
                found.insert(name.clone(), code);
                learnt.push((code, name));
            }
        }
    }
    learn(conn, salt, learnt)?;
    Ok(found)
}

/// The names behind `codes` (a code that does not exist is left out).
pub(super) fn names(conn: &mut Conn, salt: &[u8], codes: &[i32]) -> Result<HashMap<i32, Name>> {
    let mut found = HashMap::with_capacity(codes.len());
    let mut missing: Vec<i32> = Vec::new();
    let mut seen = HashSet::new();
    with_cache(salt, |known| {
        for code in codes {
            match known.names.get(code) {
                Some(name) => {
                    found.insert(*code, name.clone());
                }
                None if seen.insert(*code) => missing.push(*code),
                None => {}
            }
        }
    });
    if missing.is_empty() {
        return Ok(found);
    }
    let rows: Vec<(i32, i16, Vec<u8>)> = audit_names::table
        .filter(audit_names::code.eq_any(&missing))
        .select((audit_names::code, audit_names::kind, audit_names::value))
        .load(conn)?;
    let mut learnt = Vec::new();
    for (code, kind, value) in rows {
        if let Some(kind) = kind_of(kind) {
            found.insert(code, (kind, value.clone()));
            learnt.push((code, (kind, value)));
        }
    }
    learn(conn, salt, learnt)?;
    Ok(found)
}

fn kind_of(code: i16) -> Option<Kind> {
    [Kind::Id, Kind::Action, Kind::Namespace, Kind::TargetType].into_iter().find(|k| *k as i16 == code)
}

/// The codes of the names of `kind` in `[from, below)` (bytewise), in order: an action prefix.
pub(super) fn codes_between(conn: &mut Conn, kind: Kind, from: &[u8], below: &[u8]) -> Result<Vec<i32>> {
    Ok(audit_names::table
        .filter(audit_names::kind.eq(kind as i16))
        .filter(audit_names::value.ge(from))
        .filter(audit_names::value.lt(below))
        .order(audit_names::value.asc())
        .select(audit_names::code)
        .load(conn)?)
}
