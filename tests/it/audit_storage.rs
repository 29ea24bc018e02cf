//! The compact audit storage (ADR 0008): a database of the old (textual) form migrates in place,
//! its chain verifies after the migration, the API returns the same events, and appending
//! continues the same chain.

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationConnection, MigrationSource};
use diesel::Connection;
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::*;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const COMPACT_MIGRATION: &str = "2026-12-06-000006";

/// One event of the old form, as text, the way the old code stored it.
struct OldEvent {
    seq: i64,
    id: String,
    time: &'static str,
    actor_type: &'static str,
    actor_id: Option<String>,
    owner: Option<String>,
    action: &'static str,
    target_type: Option<&'static str>,
    target_id: Option<String>,
    namespace: Option<&'static str>,
    outcome: &'static str,
    request_id: Option<String>,
    ip: Option<&'static str>,
    changes: Option<String>,
    prev_hash: String,
    hash: String,
}

/// The chain's hash, written again from ADR 0003's definition (not the server's code): each
/// field length-prefixed (u64 big-endian), an absent one as `u64::MAX`, `prev_hash` last.
fn seal(e: &mut OldEvent) {
    let mut h = Sha256::new();
    let mut field = |v: Option<&str>| match v {
        Some(t) => {
            h.update((t.len() as u64).to_be_bytes());
            h.update(t.as_bytes());
        }
        None => h.update(u64::MAX.to_be_bytes()),
    };
    // The hash names times as RFC 3339 with microseconds; the old rows stored them as SQL text.
    let rfc3339 = format!("{}Z", e.time.replace(' ', "T"));
    field(Some(&e.seq.to_string()));
    field(Some(&e.id));
    field(Some(&rfc3339));
    field(Some(e.actor_type));
    field(e.actor_id.as_deref());
    field(e.owner.as_deref());
    field(Some(e.action));
    field(e.target_type);
    field(e.target_id.as_deref());
    field(e.namespace);
    field(Some(e.outcome));
    field(e.request_id.as_deref());
    field(e.ip);
    field(e.changes.as_deref());
    field(Some(&e.prev_hash));
    e.hash = hex::encode(h.finalize());
}

fn uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A chain of old-form events covering every encoding: UUIDs and other ids, request ids that
/// are not UUIDs, IPv4, IPv6 and odd addresses, absent fields, changes with unicode and escapes.
fn old_chain() -> Vec<OldEvent> {
    let client = uuid();
    let owner = uuid();
    let account = uuid();
    let mut events = vec![
        OldEvent {
            seq: 1,
            id: uuid(),
            time: "2026-12-01 10:00:00.000001",
            actor_type: "system",
            actor_id: None,
            owner: None,
            action: "namespace.create",
            target_type: Some("namespace"),
            target_id: Some("customers".into()),
            namespace: Some("customers"),
            outcome: "success",
            request_id: None,
            ip: None,
            changes: Some(r#"{"after":{"slug":"customers"},"before":null}"#.into()),
            prev_hash: String::new(),
            hash: String::new(),
        },
        OldEvent {
            seq: 2,
            id: uuid(),
            time: "2026-12-01 10:00:01.250000",
            actor_type: "client",
            actor_id: Some(client.clone()),
            owner: Some(owner.clone()),
            action: "oauth.token",
            target_type: Some("client"),
            target_id: Some(client.clone()),
            namespace: None,
            outcome: "success",
            request_id: Some(uuid()),
            ip: Some("127.0.0.1"),
            changes: Some(format!(
                r#"{{"grant_type":"client_credentials","jti":"3q2-7wAAAAAAAAAAAAAAAA","scope":"users:read@customers","x":"{}"}}"#,
                uuid()
            )),
            prev_hash: String::new(),
            hash: String::new(),
        },
        OldEvent {
            seq: 3,
            id: uuid(),
            time: "2026-12-01 10:00:02.999999",
            actor_type: "anonymous",
            actor_id: None,
            owner: None,
            action: "auth.basic.failure",
            target_type: None,
            target_id: None,
            namespace: None,
            outcome: "failure",
            request_id: Some("req:from-a-proxy_1".into()),
            ip: Some("2001:db8::7"),
            changes: Some(r#"{"presented":"Grüße \"quoted\" \u0001"}"#.into()),
            prev_hash: String::new(),
            hash: String::new(),
        },
        OldEvent {
            seq: 4,
            id: uuid(),
            time: "2026-12-01 10:00:03.000000",
            actor_type: "account",
            actor_id: Some(account.clone()),
            owner: None,
            action: "user.read",
            target_type: Some("account"),
            target_id: Some(account.to_uppercase()),
            namespace: Some("customers"),
            outcome: "denied",
            request_id: Some("0192F1A2-7B3C-7DEF-8123-456789ABCDEF".into()),
            ip: Some("010.0.0.1"),
            changes: Some(r#"{"detail":"needs users:read@customers","missing_grant":"users:read@customers"}"#.into()),
            prev_hash: String::new(),
            hash: String::new(),
        },
        OldEvent {
            seq: 5,
            id: uuid(),
            time: "2026-12-01 10:01:00.000000",
            actor_type: "client",
            actor_id: Some(client),
            owner: Some(owner),
            action: "access.summary",
            target_type: None,
            target_id: None,
            namespace: Some("customers"),
            outcome: "success",
            request_id: None,
            ip: Some("::ffff:10.1.2.3"),
            changes: Some(format!(
                r#"{{"action":"user.read","count":7,"first_request_id":"{}","first_time":"2026-12-01T10:00:00.5Z","last_request_id":"{}","last_time":"2026-12-01T10:00:59.25Z"}}"#,
                uuid(),
                uuid()
            )),
            prev_hash: String::new(),
            hash: String::new(),
        },
    ];
    let mut prev = GENESIS.to_owned();
    for e in &mut events {
        e.prev_hash = prev;
        seal(e);
        prev = e.hash.clone();
    }
    events
}

fn quote(v: Option<&str>) -> String {
    v.map(|t| format!("'{}'", t.replace('\'', "''"))).unwrap_or_else(|| "NULL".into())
}

/// A database as the server left it before the compact storage: every earlier migration, then
/// `events` inserted in their textual form with the chain's head on the last one.
fn old_database(events: &[OldEvent]) -> TestDb {
    let mut inserts = String::new();
    for e in events {
        inserts.push_str(&format!(
            "INSERT INTO audit_events (seq, id, time, actor_type, actor_id, actor_owner_account_id, action, \
             target_type, target_id, namespace, outcome, request_id, ip, changes, prev_hash, hash) VALUES \
             ({}, '{}', '{}', '{}', {}, {}, '{}', {}, {}, {}, '{}', {}, {}, {}, '{}', '{}');\n",
            e.seq,
            e.id,
            e.time,
            e.actor_type,
            quote(e.actor_id.as_deref()),
            quote(e.owner.as_deref()),
            e.action,
            quote(e.target_type),
            quote(e.target_id.as_deref()),
            quote(e.namespace),
            e.outcome,
            quote(e.request_id.as_deref()),
            quote(e.ip),
            quote(e.changes.as_deref()),
            e.prev_hash,
            e.hash
        ));
    }
    database_before(COMPACT_MIGRATION, events, |_| inserts.clone())
}

/// A database whose migrations stop before `migration`, with `inserts` run and the chain's
/// head on the last of `events`.
fn database_before(migration: &str, events: &[OldEvent], inserts: impl Fn(bool) -> String) -> TestDb {
    let db = TestDb::new();
    let inserts = inserts(db.is_postgres());
    let backend = if db.is_postgres() { "postgres" } else { "sqlite" };
    let dir = format!("{}/../migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
    let source = FileBasedMigrations::from_path(&dir).expect("migrations directory");
    let last = events.last().unwrap();
    let inserts =
        format!("{inserts}UPDATE audit_chain_head SET seq = {}, hash = '{}' WHERE id = 1;", last.seq, last.hash);
    fn apply<C, B>(conn: &mut C, source: &FileBasedMigrations, before: &str, sql: &str)
    where
        C: MigrationHarness<B> + MigrationConnection + SimpleConnection,
        B: diesel::backend::Backend,
        FileBasedMigrations: MigrationSource<B>,
    {
        let mut old: Vec<_> = source.migrations().unwrap();
        old.retain(|m| m.name().version().to_string() < before.replace('-', ""));
        assert!(old.len() >= 5, "the earlier migrations are found");
        old.sort_by_key(|m| m.name().version().to_string());
        conn.setup().unwrap();
        for m in &old {
            conn.run_migration(&**m).unwrap();
        }
        conn.batch_execute(sql).unwrap();
    }
    if db.is_postgres() {
        let mut conn = diesel::PgConnection::establish(&db.url).unwrap();
        apply(&mut conn, &source, migration, &inserts);
    } else {
        let path = db.url.trim_start_matches("sqlite://").to_owned();
        let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
        apply(&mut conn, &source, migration, &inserts);
    }
    db
}

/// The events the API lists with `query`, oldest first, by seq.
fn listed(app: &TestApp, query: &str) -> Vec<Value> {
    let reply = app.admin().get(&format!("/api/v1/audit-events?page_size=100{query}"));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut items = reply.json["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

/// The API lists each of `events` with its fields, id and hash as they were written.
fn assert_listed_as(app: &TestApp, events: &[OldEvent]) {
    let old = listed(app, "");
    for e in events {
        let got = old.iter().find(|v| v["seq"] == e.seq).unwrap_or_else(|| panic!("event {} is listed", e.seq));
        assert_eq!(got["id"], e.id.as_str());
        assert_eq!(got["hash"], e.hash.as_str());
        let time = chrono::DateTime::parse_from_rfc3339(got["time"].as_str().unwrap()).unwrap();
        assert_eq!(time.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string(), e.time);
        assert_eq!(got["actor"]["type"], e.actor_type);
        assert_eq!(got["actor"]["id"].as_str(), e.actor_id.as_deref());
        assert_eq!(got["actor"]["owner_account_id"].as_str(), e.owner.as_deref());
        assert_eq!(got["action"], e.action);
        assert_eq!(got["target"]["type"].as_str(), e.target_type);
        assert_eq!(got["target"]["id"].as_str(), e.target_id.as_deref());
        assert_eq!(got["namespace"].as_str(), e.namespace);
        assert_eq!(got["outcome"], e.outcome);
        assert_eq!(got["request_id"].as_str(), e.request_id.as_deref());
        assert_eq!(got["ip"].as_str(), e.ip);
        let changes: Value = serde_json::from_str(e.changes.as_deref().unwrap()).unwrap();
        assert_eq!(got["changes"], changes);
    }
}

#[test]
fn an_old_database_migrates_in_place_and_its_chain_goes_on() {
    let events = old_chain();
    let db = old_database(&events);

    let migrated = gatehouse(&db, &["migrate"], None);
    assert_eq!(migrated.code, 0, "{}{}", migrated.stdout, migrated.stderr);
    assert!(
        migrated.stdout.contains(&COMPACT_MIGRATION.replace('-', "")),
        "the compact migration ran: {}",
        migrated.stdout
    );
    let verified = gatehouse(&db, &["audit", "verify"], None);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    assert!(verified.stdout.contains("intact: 5 events"), "{}", verified.stdout);

    // Bootstrapping and serving append to the same chain.
    let app = TestApp::start_on(db, &[]);
    assert_listed_as(&app, &events);
    // Filters find old events by their textual values.
    let by_target = listed(&app, &format!("&target={}", events[0].target_id.as_deref().unwrap()));
    assert_eq!(by_target.iter().map(|v| v["seq"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1]);
    let by_ip_text = listed(&app, "&outcome=denied&namespace=customers");
    assert_eq!(by_ip_text.iter().map(|v| v["seq"].as_i64().unwrap()).collect::<Vec<_>>(), vec![4]);
    let by_actor = listed(&app, &format!("&actor={}&action=oauth.", events[1].actor_id.as_deref().unwrap()));
    assert_eq!(by_actor.iter().map(|v| v["seq"].as_i64().unwrap()).collect::<Vec<_>>(), vec![2]);

    // A time window: since inclusive, until exclusive.
    let window = listed(&app, "&since=2026-12-01T10:00:01Z&until=2026-12-01T10:00:03Z");
    assert_eq!(window.iter().map(|v| v["seq"].as_i64().unwrap()).collect::<Vec<_>>(), vec![2, 3]);
    let from = listed(&app, "&since=2026-12-01T10:00:03Z&until=2026-12-02T00:00:00Z");
    assert_eq!(from.iter().map(|v| v["seq"].as_i64().unwrap()).collect::<Vec<_>>(), vec![4, 5]);

    app.create_namespace("after-migration");
    let newest = listed(&app, "&action=namespace.create");
    assert!(newest.last().unwrap()["seq"].as_i64().unwrap() > 5, "{newest:?}");
    let api = app.admin().get("/api/v1/audit-events:verify");
    assert_eq!(api.status, 200, "{}", api.text);
    assert_eq!(api.json["intact"], true, "{}", api.text);
    let verified = gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);

    // The chain really links: altering a migrated event breaks it at that event.
    let sql = if app.db.is_postgres() {
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change; \
         UPDATE audit_events SET outcome = 1 WHERE seq = 4"
    } else {
        "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET outcome = 1 WHERE seq = 4"
    };
    app.db.execute(sql);
    let broken = gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(broken.code, 1, "{}", broken.stdout);
    assert!(broken.stdout.contains("event 4 "), "{}", broken.stdout);
}

#[test]
fn the_append_only_guards_stand_on_the_compact_table() {
    let app = TestApp::start();
    for sql in ["UPDATE audit_events SET outcome = 2 WHERE seq = 1", "DELETE FROM audit_events WHERE seq = 1"] {
        let db = &app.db;
        assert!(std::panic::catch_unwind(|| db.execute(sql)).is_err(), "{sql} must be refused");
    }
    if app.db.is_postgres() {
        let db = &app.db;
        assert!(std::panic::catch_unwind(|| db.execute("TRUNCATE audit_events")).is_err());
    }
    assert_eq!(app.db.number("SELECT COUNT(*) AS n FROM audit_events WHERE seq = 1"), 1);
}

#[test]
fn events_are_stored_compactly() {
    let app = TestApp::start();
    app.create_namespace("compact");
    // A new event stores no id (it is derived), names its actor by a code of audit_names, and
    // its hash as bytes.
    let newest = |sql: &str| app.db.number(&format!("SELECT {sql} AS n FROM audit_events ORDER BY seq DESC LIMIT 1"));
    assert_eq!(newest("CAST(CASE WHEN id IS NULL THEN 1 ELSE 0 END AS BIGINT)"), 1);
    let len = if app.db.is_postgres() { "octet_length" } else { "length" };
    assert_eq!(newest(&format!("CAST({len}(hash) AS BIGINT)")), 32);
    let actor = newest("CAST(actor AS BIGINT)");
    assert_eq!(
        app.db.number(&format!(
            "SELECT CAST({len}(value) AS BIGINT) AS n FROM audit_names WHERE code = {actor} AND kind = 1"
        )),
        16,
        "the actor's id is a name, stored once as its 16 bytes"
    );
    let names = app.db.number("SELECT COUNT(*) AS n FROM audit_names");
    app.create_namespace("compact-too");
    assert_eq!(
        app.db.number("SELECT COUNT(*) AS n FROM audit_names"),
        names + 2,
        "the same actor and action again, a new namespace (as the target and as the namespace)"
    );

    // The derived id is a UUID v7 of the event's time, and every event's is its own.
    let items = app.admin().get("/api/v1/audit-events?page_size=100");
    assert_eq!(items.status, 200, "{}", items.text);
    let items = items.json["items"].as_array().unwrap().clone();
    let mut ids: Vec<&str> = items.iter().map(|e| e["id"].as_str().unwrap()).collect();
    for e in &items {
        let id = uuid::Uuid::parse_str(e["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7, "{e}");
        let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
        let time = chrono::DateTime::parse_from_rfc3339(e["time"].as_str().unwrap()).unwrap();
        assert_eq!(secs as i64 * 1000 + nanos as i64 / 1_000_000, time.timestamp_millis(), "{e}");
    }
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "ids are unique");
}

/// Every page of `query` at `page_size` 2, following the page tokens: the seqs, in order.
fn paged(app: &TestApp, query: &str) -> Vec<i64> {
    let mut seqs = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let after = token.as_deref().map(|t| format!("&page_token={t}")).unwrap_or_default();
        let reply = app.admin().get(&format!("/api/v1/audit-events?page_size=2{query}{after}"));
        assert_eq!(reply.status, 200, "{}", reply.text);
        seqs.extend(reply.json["items"].as_array().unwrap().iter().map(|v| v["seq"].as_i64().unwrap()));
        match reply.json["next_page_token"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => return seqs,
        }
    }
}

/// A disjunction (an action prefix over several actions, `involving`) is walked per alternative
/// and merged (ADR 0008): its pages hold the same events, newest first, each once, as the
/// unfiltered list filtered by hand.
#[test]
fn filters_walked_per_alternative_page_like_one_query() {
    let app = TestApp::start();
    app.create_namespace("walks");
    let (owner_id, client) = app.owner_with_client("walker", &["users:write@walks"], &["users:write@walks"]);
    for name in ["w1", "w2", "w3"] {
        let made = app.as_client(&client).post("/api/v1/namespaces/walks/users", &json!({"username": name}));
        assert_eq!(made.status, 201, "{}", made.text);
        let rotated = app.admin().post(&format!("/api/v1/clients/{}/secrets", client.id), &json!({}));
        assert_eq!(rotated.status, 201, "{}", rotated.text);
    }
    app.create_namespace("walks-too");
    let all = app.admin().get("/api/v1/audit-events?page_size=200");
    assert_eq!(all.status, 200, "{}", all.text);
    assert!(all.json["next_page_token"].is_null(), "every event on one page");
    let all = all.json["items"].as_array().unwrap().clone();
    let expected = |keep: &dyn Fn(&Value) -> bool| -> Vec<i64> {
        all.iter().filter(|e| keep(e)).map(|e| e["seq"].as_i64().unwrap()).collect()
    };

    let prefix = expected(&|e| e["action"].as_str().unwrap().starts_with("namespace."));
    assert!(prefix.len() >= 2, "{prefix:?}");
    assert_eq!(paged(&app, "&action=namespace."), prefix);
    assert_eq!(paged(&app, "&action=namespace*"), prefix);
    let client_events = expected(&|e| e["action"].as_str().unwrap().starts_with("client"));
    assert!(client_events.len() >= 3, "{client_events:?}");
    assert_eq!(paged(&app, "&action=client*"), client_events);
    assert!(paged(&app, "&action=no.such.prefix.").is_empty());

    let involving = paged(&app, &format!("&involving={owner_id}"));
    let mine = |v: &Value| v.as_str() == Some(owner_id.as_str()) || v.as_str() == Some(client.id.as_str());
    let by_hand = expected(&|e| {
        e["actor"]["owner_account_id"].as_str() == Some(owner_id.as_str())
            || e["actor"]["id"].as_str() == Some(owner_id.as_str())
            || mine(&e["target"]["id"])
    });
    assert!(by_hand.len() >= 7, "{by_hand:?}");
    assert_eq!(involving, by_hand);
}

const NAMES_MIGRATION: &str = "2026-12-06-000009";

/// Bytes as an SQL literal of `BLOB` (SQLite) or `BYTEA` (PostgreSQL).
fn blob(postgres: bool, bytes: &[u8]) -> String {
    if postgres {
        format!("'\\x{}'::bytea", hex::encode(bytes))
    } else {
        format!("X'{}'", hex::encode(bytes))
    }
}

/// A value as the first compact form (ADR 0008) stored an id: a canonical UUID as its 16 bytes,
/// anything else as 0xFF and its text; as an SQL literal.
fn v1_id(postgres: bool, text: Option<&str>) -> String {
    match text {
        None => "NULL".into(),
        Some(t) => match uuid::Uuid::parse_str(t) {
            Ok(u) if u.hyphenated().to_string() == t && !t.starts_with("ff") => blob(postgres, u.as_bytes()),
            _ => blob(postgres, &[&[0xFF], t.as_bytes()].concat()),
        },
    }
}

/// A database of the first compact form (migrations up to ADR 0008's, events with stored ids,
/// ids as bytes, actions and namespaces as text), holding `events`.
fn compact_v1_database(events: &[OldEvent]) -> TestDb {
    let code = |names: &[&str], name: &str| names.iter().position(|n| *n == name).unwrap() + 1;
    let inserts = |pg: bool| {
        let mut inserts = String::new();
        for e in events {
            let time = chrono::NaiveDateTime::parse_from_str(e.time, "%Y-%m-%d %H:%M:%S%.6f").unwrap();
            let ip = match e.ip {
                Some("127.0.0.1") => blob(pg, &[127, 0, 0, 1]),
                Some(other) => blob(pg, &[&[0xFF], other.as_bytes()].concat()),
                None => "NULL".into(),
            };
            // Changes in the packed form (fragments 1, 2 and 5) where they are exactly those
            // fragments, else behind 0x00 as text.
            let changes = match e.changes.as_deref() {
                Some(r#"{"grant_type":"client_credentials"}"#) => blob(pg, &[1, 2, 5]),
                Some(text) => blob(pg, &[&[0x00], text.as_bytes()].concat()),
                None => "NULL".into(),
            };
            inserts.push_str(&format!(
                "INSERT INTO audit_events (seq, id, time, actor_type, outcome, actor_id, actor_owner_account_id, \
                 action, target_type, target_id, namespace, request_id, ip, changes, hash) VALUES \
                 ({}, {}, {}, {}, {}, {}, {}, '{}', {}, {}, {}, {}, {}, {}, {});\n",
                e.seq,
                v1_id(pg, Some(&e.id)),
                time.and_utc().timestamp_micros(),
                code(&["client", "account", "system", "anonymous"], e.actor_type),
                code(&["success", "denied", "failure"], e.outcome),
                v1_id(pg, e.actor_id.as_deref()),
                v1_id(pg, e.owner.as_deref()),
                e.action,
                quote(e.target_type),
                v1_id(pg, e.target_id.as_deref()),
                quote(e.namespace),
                v1_id(pg, e.request_id.as_deref()),
                ip,
                changes,
                blob(pg, &hex::decode(&e.hash).unwrap())
            ));
        }
        inserts
    };
    database_before(NAMES_MIGRATION, events, inserts)
}

/// ADR 0010: a database of the first compact form migrates to audit names in place; its events
/// keep their ids, fields and hashes (the chain verifies, the API lists them as written, the
/// filters find them by their values), and new events go on the same chain with derived ids.
#[test]
fn a_compact_database_migrates_to_audit_names_and_its_chain_goes_on() {
    let mut events = old_chain();
    // One event whose changes the first compact form had packed.
    events[1].changes = Some(r#"{"grant_type":"client_credentials"}"#.into());
    let mut prev = GENESIS.to_owned();
    for e in &mut events {
        e.prev_hash = prev;
        seal(e);
        prev = e.hash.clone();
    }
    let db = compact_v1_database(&events);

    let migrated = gatehouse(&db, &["migrate"], None);
    assert_eq!(migrated.code, 0, "{}{}", migrated.stdout, migrated.stderr);
    assert!(migrated.stdout.contains(&NAMES_MIGRATION.replace('-', "")), "{}", migrated.stdout);
    let verified = gatehouse(&db, &["audit", "verify"], None);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    assert!(verified.stdout.contains("intact: 5 events"), "{}", verified.stdout);
    // The ids, actions and namespaces became names, each once.
    assert_eq!(db.number("SELECT COUNT(*) AS n FROM audit_names WHERE kind = 3"), 1, "one namespace");
    assert_eq!(db.number("SELECT COUNT(*) AS n FROM audit_events WHERE id IS NULL"), 0, "old events keep their ids");

    let app = TestApp::start_on(db, &[]);
    assert_listed_as(&app, &events);
    // (Starting the server appended events of its own, after these.)
    let seqs = |query: &str| {
        listed(&app, query).iter().map(|v| v["seq"].as_i64().unwrap()).filter(|seq| *seq <= 5).collect::<Vec<_>>()
    };
    assert_eq!(seqs(&format!("&actor={}", events[1].actor_id.as_deref().unwrap())), vec![2, 5]);
    assert_eq!(seqs(&format!("&involving={}", events[1].owner.as_deref().unwrap())), vec![2, 5]);
    assert_eq!(seqs(&format!("&target={}", events[3].target_id.as_deref().unwrap())), vec![4]);
    assert_eq!(seqs("&namespace=customers"), vec![1, 4, 5]);
    assert_eq!(seqs("&action=auth."), vec![3]);
    assert_eq!(seqs("&action=oauth.token&outcome=success"), vec![2]);
    assert!(seqs("&namespace=nowhere").is_empty());
    assert!(seqs("&actor=0192f1a2-7b3c-7def-8123-456789abcdef").is_empty());
    assert_eq!(seqs("&since=2026-12-01T10:00:01Z&until=2026-12-01T10:00:03Z"), vec![2, 3]);
    assert_eq!(seqs("&since=2026-12-01T10:00:03Z&until=2026-12-02T00:00:00Z"), vec![4, 5]);
    assert!(seqs("&since=2026-12-01T10:01:00.000001Z&until=2026-12-01T10:02:00Z").is_empty());
    assert_eq!(seqs("&until=2026-12-01T10:00:00.000002Z"), vec![1]);

    app.create_namespace("after-names");
    let newest = listed(&app, "&namespace=after-names");
    assert!(!newest.is_empty() && newest.iter().all(|v| v["seq"].as_i64().unwrap() > 5), "{newest:?}");
    assert!(app.db.number("SELECT COUNT(*) AS n FROM audit_events WHERE seq > 5 AND id IS NOT NULL") == 0);
    let verified = gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    let export = app.admin().get("/api/v1/audit-events:export?after_seq=0");
    assert_eq!(export.status, 200, "{}", export.text);
    let exported: Vec<Value> = export.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(exported[0]["id"], events[0].id.as_str(), "a migrated event keeps its stored id");
    assert!(exported.len() > 5);

    // Names are append-only: a changed name would change every event that uses it.
    for sql in ["UPDATE audit_names SET value = X'00' WHERE kind = 3", "DELETE FROM audit_names WHERE kind = 3"] {
        let db = &app.db;
        assert!(std::panic::catch_unwind(|| db.execute(sql)).is_err(), "{sql} must be refused");
    }
}
