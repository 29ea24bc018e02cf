//! Audit storage benchmark (issue 13, ADR 0008): `audit_storage <database-url> [events] [total]
//! [pages]`. In one run:
//!
//! 1. appends `events` events of a realistic mix through `db::audit::append` (batches of 64,
//!    one transaction each, chained and hashed as the server does) and reports events/s;
//! 2. copies the same events into a table of the old textual form (`audit_events_text`, the
//!    foundation migration's columns and six indexes) and reports bytes per event of both
//!    (table and its indexes divided by rows, after `VACUUM`/`ANALYZE`);
//! 3. grows the table to `total` events by copying the appended ones forward in seq and time
//!    (so the mix and the cardinalities of actors, targets and namespaces stay those of step 1;
//!    the copies' hashes do not chain: fine for timing queries, which is all
//!    they are for), then times `pages` page queries (page_size 50, through `db::audit::list`,
//!    the server's own query) for each filter of `GET /api/v1/audit-events` and prints p50/p99.
//!
//! On a database a previous run filled, it only times the filters again. With `--append-only`
//! first (`audit_storage --append-only <database-url> <events>`) it does step 1 alone: the
//! archive benchmark fills a live chain that way (bench/audit_archive_throughput.sh).
//!
//! The mix, per 100 events after access summaries (issue 13): 45 `oauth.token`
//! client_credentials grants (50 clients), 10 password grants (about an account of one of 20
//! namespaces), 7 sign-ins, 8 `auth.basic.failure`, 8 denials (`missing_grant`), 8 changes
//! (`user.update` with the account before and after), 14 `access.summary` events.

use std::time::Instant;

use chrono::{Duration, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use gatehouse::db::audit::{self, Actor, Filter, NewEvent, Outcome, Visibility};
use gatehouse::db::{self, Conn, DatabaseUrl};
use serde_json::json;

const NAMESPACES: u64 = 20;
const ACCOUNTS: u64 = 400;
const CLIENTS: u64 = 50;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        uuid::Builder::from_random_bytes(((a as u128) << 64 | b as u128).to_be_bytes()).into_uuid().to_string()
    }
    fn token(&mut self) -> String {
        use base64::Engine;
        let (a, b) = (self.next(), self.next());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(((a as u128) << 64 | b as u128).to_be_bytes())
    }
}

/// Fixed ids for the population: account `n`, client `n` (owned by account `n * 7 % ACCOUNTS`).
fn id(kind: u64, n: u64) -> String {
    uuid::Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 | (kind << 32) as u128 | n as u128).to_string()
}
fn account(n: u64) -> String {
    id(1, n)
}
fn client(n: u64) -> String {
    id(2, n)
}
fn namespace_of(account: u64) -> String {
    format!("tenant-{:02}", account % NAMESPACES)
}

fn event(rng: &mut Rng, i: u64) -> NewEvent {
    let c = rng.below(CLIENTS);
    let owner = c * 7 % ACCOUNTS;
    let a = rng.below(ACCOUNTS);
    let ns = namespace_of(a);
    let by_client = Actor { kind: "client", id: Some(client(c)), owner_account_id: Some(account(owner)) };
    let request = (Some(rng.uuid()), Some("10.0.3.17".to_owned()));
    let base = |actor: Actor, action: &str| NewEvent {
        actor,
        action: action.to_owned(),
        target: None,
        namespace: None,
        outcome: Outcome::Success,
        request_id: request.0.clone(),
        ip: request.1.clone(),
        changes: None,
    };
    match i % 100 {
        0..45 => NewEvent {
            target: Some(("client".into(), client(c))),
            changes: Some(
                json!({"grant_type": "client_credentials", "scope": format!("users:read@{ns}"), "jti": rng.token()}),
            ),
            ..base(by_client, "oauth.token")
        },
        45..55 => NewEvent {
            target: Some(("account".into(), account(a))),
            namespace: Some(ns),
            changes: Some(json!({"grant_type": "password", "scope": "openid profile", "jti": rng.token()})),
            ..base(by_client, "oauth.token")
        },
        55..62 => NewEvent {
            target: Some(("account".into(), account(a))),
            namespace: Some(ns),
            ..base(Actor { kind: "account", id: Some(account(a)), owner_account_id: None }, "oauth.signin")
        },
        62..70 => NewEvent {
            outcome: Outcome::Failure,
            changes: Some(json!({"presented_client_id": format!("app-{}", rng.below(1000))})),
            ..base(Actor { kind: "anonymous", id: None, owner_account_id: None }, "auth.basic.failure")
        },
        70..78 => NewEvent {
            target: Some(("account".into(), account(a))),
            namespace: Some(ns.clone()),
            outcome: Outcome::Denied,
            changes: Some(
                json!({"missing_grant": format!("users:write@{ns}"), "detail": format!("this needs users:write@{ns}")}),
            ),
            ..base(by_client, "user.update")
        },
        78..86 => {
            let view = |disabled: bool| {
                json!({"id": account(a), "namespace": ns, "username": format!("user{a}"), "email": format!("user{a}@example.com"),
                       "email_verified": true, "disabled": disabled, "permissions": [format!("users:read@{ns}")], "version": 3})
            };
            NewEvent {
                target: Some(("account".into(), account(a))),
                namespace: Some(ns.clone()),
                changes: Some(json!({"before": view(false), "after": view(true)})),
                ..base(by_client, "user.update")
            }
        }
        _ => {
            let now = Utc::now();
            NewEvent {
                namespace: Some(ns),
                request_id: None,
                changes: Some(
                    json!({"action": "user.read", "count": 1 + rng.below(500), "first_request_id": rng.uuid(),
                    "first_time": (now - Duration::seconds(59)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    "last_request_id": rng.uuid(), "last_time": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)}),
                ),
                ..base(by_client, "access.summary")
            }
        }
    }
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn number(conn: &mut Conn, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<N>(conn).unwrap_or_else(|e| panic!("{sql}: {e}")).n
}

/// Bytes of `table` with its indexes. SQLite: the pages `dbstat` counts for them.
fn bytes_of(conn: &mut Conn, postgres: bool, table: &str) -> i64 {
    if postgres {
        number(conn, &format!("SELECT pg_total_relation_size('{table}')::BIGINT AS n"))
    } else {
        number(conn, &format!("SELECT CAST(SUM(pgsize) AS BIGINT) AS n FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = '{table}')"))
    }
}

const OLD_TABLE: &str = "CREATE TABLE audit_events_text (
    seq BIGINT PRIMARY KEY NOT NULL, id TEXT NOT NULL, time TIMESTAMP NOT NULL, actor_type TEXT NOT NULL,
    actor_id TEXT, actor_owner_account_id TEXT, action TEXT NOT NULL, target_type TEXT, target_id TEXT,
    namespace TEXT, outcome TEXT NOT NULL, request_id TEXT, ip TEXT, changes TEXT, prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL);
CREATE UNIQUE INDEX audit_events_text_id ON audit_events_text (id);
CREATE INDEX audit_events_text_actor_id ON audit_events_text (actor_id, seq);
CREATE INDEX audit_events_text_actor_owner ON audit_events_text (actor_owner_account_id, seq);
CREATE INDEX audit_events_text_target_id ON audit_events_text (target_id, seq);
CREATE INDEX audit_events_text_namespace ON audit_events_text (namespace, seq);
CREATE INDEX audit_events_text_time ON audit_events_text (time);";

fn sql_text(v: &Option<String>) -> String {
    v.as_ref().map(|t| format!("'{}'", t.replace('\'', "''"))).unwrap_or_else(|| "NULL".into())
}

/// The appended events again, in the old textual form, to measure what the migration saves.
fn copy_to_old_form(conn: &mut Conn) {
    conn.batch_execute("DROP TABLE IF EXISTS audit_events_text").unwrap();
    conn.batch_execute(OLD_TABLE).unwrap();
    let mut after = 0;
    loop {
        let page = audit::list_after(conn, &Visibility::All, &Filter::default(), after, 1000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        let values: Vec<String> = page
            .iter()
            .map(|e| {
                format!(
                    "({}, '{}', '{}', '{}', {}, {}, '{}', {}, {}, {}, '{}', {}, {}, {}, '{}', '{}')",
                    e.seq,
                    e.id,
                    e.time.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f"),
                    e.actor_type,
                    sql_text(&e.actor_id),
                    sql_text(&e.actor_owner_account_id),
                    e.action,
                    sql_text(&e.target_type),
                    sql_text(&e.target_id),
                    sql_text(&e.namespace),
                    e.outcome,
                    sql_text(&e.request_id),
                    sql_text(&e.ip),
                    sql_text(&e.changes),
                    e.prev_hash,
                    e.hash
                )
            })
            .collect();
        conn.batch_execute(&format!("INSERT INTO audit_events_text VALUES {}", values.join(","))).unwrap();
    }
}

#[derive(QueryableByName)]
struct Sized {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Bytes per event of the table and of each of its indexes, and of the audit names.
fn print_indexes(conn: &mut Conn, postgres: bool, rows: f64) {
    let sql = if postgres {
        "SELECT c.relname::TEXT AS name, pg_relation_size(c.oid)::BIGINT AS n FROM pg_class c \
         WHERE c.relname LIKE 'audit_events%' OR c.relname LIKE 'audit_names%' ORDER BY 1"
    } else {
        "SELECT name, CAST(SUM(pgsize) AS BIGINT) AS n FROM dbstat \
         WHERE name LIKE 'audit_events%' OR name LIKE 'audit_names%' OR name LIKE 'sqlite_autoindex_audit_names%' GROUP BY name ORDER BY 1"
    };
    for Sized { name, n } in diesel::sql_query(sql).load::<Sized>(conn).unwrap() {
        println!("{name:>40}: {:.1} bytes/event", n as f64 / rows);
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Step 1: `events` events appended through `db::audit::append`, chained, in batches of 64.
fn append(conn: &mut Conn, events: u64) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let mut i = 0;
    while i < events {
        let batch: Vec<NewEvent> = (i..(i + 64).min(events)).map(|k| event(&mut rng, k)).collect();
        i += batch.len() as u64;
        db::transaction(conn, |c| audit::append(c, batch)).expect("append");
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    println!("appended {events} events in batches of 64: {rate:.0} events/s");
    match audit::verify(conn).expect("verify") {
        audit::ChainStatus::Intact { events } => println!("chain intact: {events} events"),
        broken => panic!("{broken:?}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let append_only = args.next_if_eq("--append-only").is_some();
    let url = args.next().expect("usage: audit_storage <database-url> [events] [total] [pages]");
    let events: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let total: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(events as i64);
    let pages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let url = DatabaseUrl::parse(&url).expect("database URL");
    let postgres = url.sqlite_path().is_none();
    let mut conn = url.connect().expect("connect");
    db::migrate(&mut conn).expect("migrate");
    let start_seq = number(&mut conn, "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) AS n FROM audit_events");
    if start_seq > 0 {
        // A database a previous run filled: time the filters again (e.g. after a query change)
        // without filling 10M events anew.
        println!("{start_seq} events already stored: timing the filters only");
        time_filters(&mut conn, postgres, start_seq, pages);
        return;
    }

    append(&mut conn, events);
    if append_only {
        return;
    }

    // 2. Bytes per event, compact and textual.
    copy_to_old_form(&mut conn);
    if postgres {
        // One statement per call: PostgreSQL runs a multi-statement string as one transaction.
        conn.batch_execute("VACUUM ANALYZE audit_events").unwrap();
        conn.batch_execute("VACUUM ANALYZE audit_events_text").unwrap();
    } else {
        conn.batch_execute("VACUUM; ANALYZE").unwrap();
    }
    let rows = events as f64;
    for table in ["audit_events_text", "audit_events"] {
        // The compact form's audit names count with it (ADR 0010).
        let names = if table == "audit_events" { bytes_of(&mut conn, postgres, "audit_names") } else { 0 };
        let bytes = bytes_of(&mut conn, postgres, table) + names;
        let heap = if postgres {
            number(&mut conn, &format!("SELECT pg_table_size('{table}')::BIGINT AS n"))
        } else {
            number(&mut conn, &format!("SELECT CAST(SUM(pgsize) AS BIGINT) AS n FROM dbstat WHERE name = '{table}'"))
        };
        let form = if table == "audit_events" { "compact" } else { "old text form" };
        println!(
            "{form:>14}: {:.0} bytes/event ({:.0} table + {:.0} indexes{})",
            bytes as f64 / rows,
            heap as f64 / rows,
            (bytes - heap - names) as f64 / rows,
            if names > 0 { format!(" + {:.0} audit names", names as f64 / rows) } else { String::new() }
        );
    }
    conn.batch_execute("DROP TABLE audit_events_text").unwrap();
    print_indexes(&mut conn, postgres, rows);

    // 3. Copies forward to `total`, then the filters.
    let base = events as i64;
    let span = number(&mut conn, "SELECT CAST(MAX(time) - MIN(time) + 1 AS BIGINT) AS n FROM audit_events");
    let filled = Instant::now();
    let mut copies = 1;
    while base * copies < total {
        let n = (total - base * copies).min(base);
        conn.batch_execute(&format!(
            "INSERT INTO audit_events (seq, time, actor, actor_owner, target, action, namespace, target_type, \
             actor_type, outcome, id, request_id, ip, changes, hash) SELECT seq + {off}, time + {toff}, actor, \
             actor_owner, target, action, namespace, target_type, actor_type, outcome, id, request_id, ip, changes, hash \
             FROM audit_events WHERE seq <= {n}",
            off = base * copies,
            toff = span * copies,
        ))
        .unwrap();
        copies += 1;
    }
    if total > base {
        if postgres {
            conn.batch_execute("VACUUM ANALYZE audit_events").unwrap();
        } else {
            conn.batch_execute("ANALYZE").unwrap();
        }
        println!("filled to {total} events in {:.1} s", filled.elapsed().as_secs_f64());
    }
    time_filters(&mut conn, postgres, total.max(base), pages);
}

fn time_filters(conn: &mut Conn, postgres: bool, total: i64, pages: usize) {
    let first = number(conn, "SELECT CAST(MIN(time) AS BIGINT) AS n FROM audit_events");
    let last = number(conn, "SELECT CAST(MAX(time) AS BIGINT) AS n FROM audit_events");
    let at = |fraction: f64| chrono::DateTime::from_timestamp_micros(first + ((last - first) as f64 * fraction) as i64);
    let with = |f: fn(&mut Filter)| {
        let mut filter = Filter::default();
        f(&mut filter);
        filter
    };
    let limited = Visibility::Limited {
        namespaces: vec![namespace_of(3)],
        account_id: account(21),
        own_ids: vec![account(21), client(3)],
    };
    let cases: Vec<(&str, Visibility, Filter)> = vec![
        ("none", Visibility::All, Filter::default()),
        ("actor (a busy client)", Visibility::All, with(|f| f.actor = Some(client(3)))),
        ("actor (an account)", Visibility::All, with(|f| f.actor = Some(account(5)))),
        ("target (an account)", Visibility::All, with(|f| f.target = Some(account(7)))),
        ("action exact (oauth.token)", Visibility::All, with(|f| f.action = Some("oauth.token".into()))),
        ("action exact (user.update)", Visibility::All, with(|f| f.action = Some("user.update".into()))),
        ("action prefix (auth.)", Visibility::All, with(|f| f.action = Some("auth.".into()))),
        ("action prefix (oauth.sign*)", Visibility::All, with(|f| f.action = Some("oauth.sign*".into()))),
        ("namespace", Visibility::All, with(|f| f.namespace = Some(namespace_of(4)))),
        ("outcome denied", Visibility::All, with(|f| f.outcome = Some("denied".into()))),
        ("outcome failure", Visibility::All, with(|f| f.outcome = Some("failure".into()))),
        ("since (last 10%)", Visibility::All, Filter { since: at(0.9), ..Filter::default() }),
        ("until (first 10%)", Visibility::All, Filter { until: at(0.1), ..Filter::default() }),
        (
            "since+until (a window at 50%)",
            Visibility::All,
            Filter { since: at(0.5), until: at(0.51), ..Filter::default() },
        ),
        ("involving (an owner account)", Visibility::All, with(|f| f.involving = Some(account(21)))),
        ("limited visibility", limited.clone(), Filter::default()),
        ("limited visibility + action", limited, with(|f| f.action = Some("user.update".into()))),
    ];
    println!("\n{total} events, {pages} pages of 50 per filter ({})", if postgres { "PostgreSQL" } else { "SQLite" });
    println!("| filter | rows on page | p50 ms | p99 ms |\n|---|---|---|---|");
    for (name, visibility, filter) in cases {
        let mut times = Vec::with_capacity(pages);
        let mut found = 0;
        for _ in 0..pages {
            let t = Instant::now();
            found = audit::list(conn, &visibility, &filter, None, 50).expect("list").len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!("| {name} | {found} | {:.2} | {:.2} |", percentile(&times, 0.5), percentile(&times, 0.99));
    }
}
