//! Log streams: the audit chain pushed to a receiver in signed batches, at least once, in chain
//! order, with nothing skipped; and the NDJSON export.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{eventually, Api, TestApp};

// ---------------------------------------------------------------- a receiver

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Answers 200.
    Accept,
    /// Answers 500.
    Fail,
    /// Reads the request and closes the connection without an answer.
    HangUp,
}

/// One request the receiver got; `status` 0 when it hung up.
#[derive(Clone, Debug)]
struct Delivery {
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
    status: u16,
}

impl Delivery {
    fn events(&self) -> Vec<Value> {
        let body: Value = serde_json::from_str(&self.body).expect("a batch is JSON");
        body["events"].as_array().expect("a batch has events").clone()
    }
    fn id(&self) -> &str {
        &self.headers["webhook-id"]
    }
}

/// A small HTTP server on a thread: records every request and answers as its mode says.
#[derive(Clone)]
struct Receiver {
    port: u16,
    state: Arc<Mutex<(Mode, Vec<Delivery>)>>,
}

impl Receiver {
    fn start(mode: Mode) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let receiver =
            Receiver { port: listener.local_addr().unwrap().port(), state: Arc::new(Mutex::new((mode, vec![]))) };
        let state = receiver.state.clone();
        std::thread::spawn(move || {
            for connection in listener.incoming().flatten() {
                handle(connection, &state);
            }
        });
        receiver
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn set(&self, mode: Mode) {
        self.state.lock().unwrap().0 = mode;
    }

    fn deliveries(&self, path: &str) -> Vec<Delivery> {
        self.state.lock().unwrap().1.iter().filter(|d| d.path == path).cloned().collect()
    }

    fn acknowledged(&self, path: &str) -> Vec<Delivery> {
        self.deliveries(path).into_iter().filter(|d| d.status == 200).collect()
    }

    fn count(&self, path: &str, status: u16) -> usize {
        self.deliveries(path).iter().filter(|d| d.status == status).count()
    }
}

fn handle(mut connection: TcpStream, state: &Mutex<(Mode, Vec<Delivery>)>) {
    connection.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(connection.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut state = state.lock().unwrap();
    let status = match state.0 {
        Mode::Accept => 200,
        Mode::Fail => 500,
        Mode::HangUp => 0,
    };
    state.1.push(Delivery { path, headers, body: String::from_utf8(body).unwrap(), status });
    drop(state);
    if status != 0 {
        let reason = if status == 200 { "OK" } else { "Internal Server Error" };
        let _ = connection.write_all(
            format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
        );
    }
}

// ---------------------------------------------------------------- helpers

/// The whole chain as the list API shows it (every page), oldest first.
fn chain(api: &Api, query: &str) -> Vec<Value> {
    let mut events = vec![];
    let mut token: Option<String> = None;
    loop {
        let page = match &token {
            Some(t) => format!("&page_token={t}"),
            None => String::new(),
        };
        let r = api.get(&format!("/api/v1/audit-events?page_size=200{query}{page}"));
        assert_eq!(r.status, 200, "{}", r.text);
        events.extend(r.json["items"].as_array().unwrap().iter().cloned());
        match r.json["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    events.reverse();
    events
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

/// Runs the `standardwebhooks` package over `deliveries`: each must verify with `secret`, and
/// fail once a byte of its body is changed.
fn verify_with_standardwebhooks(deliveries: &[Delivery], secret: &str) {
    let recorded: Vec<Value> = deliveries.iter().map(|d| json!({ "headers": d.headers, "body": d.body })).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deliveries.json");
    std::fs::write(&file, serde_json::to_vec(&recorded).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/it/support/verify_webhooks.py");
    let out = std::process::Command::new("python3").arg(script).arg(&file).arg(secret).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "standardwebhooks refused a delivery: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), format!("verified {}", deliveries.len()));
}

// ---------------------------------------------------------------- tests

#[test]
fn a_receiver_that_was_down_gets_every_event_once_in_chain_order() {
    let app = TestApp::start();
    let admin = app.admin();
    let receiver = Receiver::start(Mode::Fail);

    let all = admin.post("/api/v1/log-streams", &json!({ "name": "SIEM", "url": receiver.url("/all") }));
    assert_eq!(all.status, 201, "{}", all.text);
    let secret = all.json["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let all_id = all.json["id"].as_str().unwrap().to_owned();
    let all_url = format!("/api/v1/log-streams/{all_id}");
    assert_eq!(all.header("location"), Some(all_url.as_str()));
    let start = all.json["status"]["last_delivered_seq"].as_i64().unwrap();
    let users = admin.post(
        "/api/v1/log-streams",
        &json!({ "name": "new users", "url": receiver.url("/users"), "filter": { "action": "user.create" } }),
    );
    assert_eq!(users.status, 201, "{}", users.text);
    let users_secret = users.json["secret"].as_str().unwrap().to_owned();
    let users_url = format!("/api/v1/log-streams/{}", users.json["id"].as_str().unwrap());
    let users_start = users.json["status"]["last_delivered_seq"].as_i64().unwrap();

    // The secret is shown once.
    let shown = admin.get(&all_url);
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(shown.json.get("secret").is_none() && !shown.text.contains(&secret), "{}", shown.text);
    assert!(!admin.get("/api/v1/log-streams").text.contains("whsec_"));

    // Events while the receiver answers 500: the stream's status says so, its cursor stays.
    app.create_namespace("streamed");
    for i in 0..30 {
        app.create_account("streamed", &format!("user{i}"), &[]);
    }
    assert!(eventually(Duration::from_secs(30), || receiver.count("/all", 500) >= 3), "no retries");
    let status = admin.get(&all_url).json["status"].clone();
    assert!(status["last_error"].as_str().is_some_and(|e| e.contains("500")), "{status}");
    assert_eq!(status["last_delivered_seq"], start, "{status}");
    assert!(status["failing_since"].is_string() && status["attempts"].as_i64().unwrap() >= 1, "{status}");

    // Then it hangs up without answering.
    receiver.set(Mode::HangUp);
    for i in 30..45 {
        app.create_account("streamed", &format!("user{i}"), &[]);
    }
    assert!(eventually(Duration::from_secs(40), || receiver.count("/all", 0) >= 2), "no retries after hang-ups");
    let status = admin.get(&all_url).json["status"].clone();
    assert!(status["last_error"].as_str().is_some_and(|e| e.contains("cannot reach")), "{status}");
    assert_eq!(status["last_delivered_seq"], start, "{status}");

    // Up again: a last event to wait for, then no more requests until both streams are quiet.
    receiver.set(Mode::Accept);
    let marker = app.create_account("streamed", "the-last-one", &[]);
    let has_marker = |path: &str| {
        receiver.acknowledged(path).iter().flat_map(|d| d.events()).any(|e| e["target"]["id"] == marker.as_str())
    };
    assert!(eventually(Duration::from_secs(60), || has_marker("/all") && has_marker("/users")), "not delivered");
    let mut quiet = receiver.deliveries("/all").len();
    assert!(eventually(Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(1500));
        let now = receiver.deliveries("/all").len();
        std::mem::replace(&mut quiet, now) == now
    }));

    // Every event of the chain after the stream's start, once, in order, as the API shows it.
    let chain = chain(&admin, "");
    let head = chain.last().unwrap()["seq"].as_i64().unwrap();
    let expected: Vec<&Value> = chain.iter().filter(|e| e["seq"].as_i64().unwrap() > start).collect();
    // Events appended since the deliveries went quiet (a minute's access summaries, closed
    // meanwhile) are delivered a moment later; events after the head read here may follow them.
    let delivered_seqs = || seqs(&receiver.acknowledged("/all").iter().flat_map(|d| d.events()).collect::<Vec<_>>());
    assert!(eventually(Duration::from_secs(30), || delivered_seqs().last().is_some_and(|s| *s >= head)), "the head");
    let acknowledged = receiver.acknowledged("/all");
    let delivered: Vec<Value> = acknowledged.iter().flat_map(|d| d.events()).collect();
    let last = seqs(&delivered).last().copied().unwrap();
    assert_eq!(seqs(&delivered), (start + 1..=last).collect::<Vec<_>>(), "a gap, a repeat or a reordering");
    let up_to_head: Vec<&Value> = delivered.iter().filter(|e| e["seq"].as_i64().unwrap() <= head).collect();
    assert_eq!(up_to_head, expected, "delivered events differ from the API's");
    for batch in &acknowledged {
        let events = seqs(&batch.events());
        assert_eq!(batch.id(), format!("{all_id}:{}-{}", events[0], events[events.len() - 1]));
    }
    // The failed batch was retried as it was: same id, same body, until acknowledged.
    let attempts = receiver.deliveries("/all");
    let first_failed = &attempts[0];
    assert_ne!(first_failed.status, 200);
    assert_eq!(first_failed.id(), acknowledged[0].id());
    assert_eq!(first_failed.body, acknowledged[0].body);
    assert!(attempts.iter().take_while(|d| d.status != 200).all(|d| d.id() == first_failed.id()));

    let cursor = || admin.get(&all_url).json["status"]["last_delivered_seq"].as_i64().unwrap();
    assert!(eventually(Duration::from_secs(20), || cursor() >= last), "the cursor stops short of {last}");
    let status = admin.get(&all_url).json["status"].clone();
    assert!(status["last_error"].is_null() && status["failing_since"].is_null(), "{status}");
    assert!(status["last_success_at"].is_string(), "{status}");

    // The filter limits what is delivered; the cursor moves past the rest.
    let user_events: Vec<Value> = receiver.acknowledged("/users").iter().flat_map(|d| d.events()).collect();
    let expected_users: Vec<i64> = chain
        .iter()
        .filter(|e| e["action"] == "user.create" && e["seq"].as_i64().unwrap() > users_start)
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs(&user_events), expected_users);
    assert_eq!(expected_users.len(), 46, "30 + 15 accounts and the marker");
    assert!(eventually(Duration::from_secs(20), || {
        admin.get(&users_url).json["status"]["last_delivered_seq"].as_i64().unwrap() >= head
    }));

    // An independent implementation verifies every signature, failed attempts included.
    verify_with_standardwebhooks(&receiver.deliveries("/all"), &secret);
    verify_with_standardwebhooks(&receiver.deliveries("/users"), &users_secret);
    assert!(!std::fs::read_to_string(&app.log_file).unwrap().contains(&secret), "the secret is in the log");

    let failed = attempts.iter().filter(|d| d.status != 200).count();
    println!(
        "log stream delivery: {} events produced after the stream's start, {} delivered in {} acknowledged \
         batches, {} failed attempts (500 or hang-up) retried; filtered stream: {} events in {} batches",
        head - start,
        delivered.len(),
        acknowledged.len(),
        failed,
        user_events.len(),
        receiver.acknowledged("/users").len()
    );
}

#[test]
fn bad_streams_are_refused_and_changes_are_audited() {
    let app = TestApp::start();
    let admin = app.admin();
    let refused = [
        (json!({ "name": "plain", "url": "http://siem.example.com/in" }), "url"),
        (json!({ "name": "ftp", "url": "ftp://siem.example.com/in" }), "url"),
        (json!({ "name": "creds", "url": "https://user:pw@siem.example.com/in" }), "url"),
        (json!({ "name": "", "url": "https://siem.example.com/in" }), "name"),
        (json!({ "name": "o", "url": "https://siem.example.com/in", "filter": { "outcome": "maybe" } }), "outcome"),
        (
            json!({ "name": "a", "url": "https://siem.example.com/in", "filter": { "action": "Not An Action" } }),
            "action",
        ),
        (json!({ "name": "u", "url": "https://siem.example.com/in", "filter": { "colour": "red" } }), ""),
        (json!({ "name": "s", "url": "https://siem.example.com/in", "start_after_seq": 1_000_000 }), "start_after_seq"),
    ];
    for (body, field) in refused {
        let r = admin.post("/api/v1/log-streams", &body);
        r.assert_problem(400);
        assert!(r.error_fields().iter().any(|f| f.contains(field)) || field.is_empty(), "{body}: {}", r.text);
    }
    let list = admin.get("/api/v1/log-streams");
    assert_eq!(list.json["items"], json!([]), "a refused stream was created: {}", list.text);

    // Reading needs audit:read@*, changing audit:write@*.
    let (_, reader) = app.owner_with_client("auditor", &["audit:read@*"], &["audit:read@*"]);
    let body = json!({ "name": "SIEM", "url": "https://siem.example.com/in" });
    app.as_client(&reader).post("/api/v1/log-streams", &body).assert_problem(403);
    assert_eq!(app.as_client(&reader).get("/api/v1/log-streams").status, 200);
    let (_, nobody) = app.owner_with_client("nobody", &[], &[]);
    app.as_client(&nobody).get("/api/v1/log-streams").assert_problem(403);

    let created = admin.post(
        "/api/v1/log-streams",
        &json!({ "name": "SIEM", "url": "https://siem.example.com/in", "start_after_seq": 0 }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["status"]["last_delivered_seq"], 0);
    let url = format!("/api/v1/log-streams/{}", created.json["id"].as_str().unwrap());
    let patched = admin.patch(&url, &json!({ "disabled": true, "filter": { "namespace": "system" } }));
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["disabled"], true);
    assert_eq!(patched.json["filter"], json!({ "namespace": "system" }));
    admin.patch(&url, &json!({ "url": "http://siem.example.com/" })).assert_problem(400);
    assert_eq!(admin.get(&url).json["url"], "https://siem.example.com/in");
    assert_eq!(admin.delete(&url).status, 204);
    admin.get(&url).assert_problem(404);

    let events = admin.get("/api/v1/audit-events?action=log_stream.&page_size=200");
    // The changes, each on record (the reads and the refused update are recorded too).
    let actions: Vec<&str> = events.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "success" && e["target"]["type"] == "log_stream")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["log_stream.delete", "log_stream.update", "log_stream.create"], "{}", events.text);
    assert!(events.text.contains("[redacted]") && !events.text.contains("whsec_"), "{}", events.text);
}

/// The NDJSON lines of an export.
fn export(api: &Api, query: &str) -> Vec<Value> {
    let r = api.get(&format!("/api/v1/audit-events:export{query}"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    r.text.lines().map(|l| serde_json::from_str(l).expect("each line is an event")).collect()
}

#[test]
fn the_export_is_the_list_in_chain_order() {
    let app = TestApp::start();
    let admin = app.admin();
    app.create_namespace("exported");
    // More than one page of the export (1000 events).
    for i in 0..1010 {
        app.create_account("exported", &format!("user{i}"), &[]);
    }
    let listed = chain(&admin, "");
    let exported = export(&admin, "");
    assert!(exported.len() > 1010);
    assert_eq!(seqs(&exported), (1..=exported.len() as i64).collect::<Vec<_>>(), "in chain order, no gap");
    assert_eq!(&exported[..listed.len()], &listed[..], "the export differs from the list");

    let after = listed[500]["seq"].as_i64().unwrap();
    let filtered = export(&admin, &format!("?after_seq={after}&action=user.create"));
    let expected: Vec<&Value> =
        listed.iter().filter(|e| e["action"] == "user.create" && e["seq"].as_i64().unwrap() > after).collect();
    assert_eq!(filtered.iter().collect::<Vec<_>>(), expected);

    // A caller without audit:read@* exports only what it may list.
    let (owner, weak) = app.owner_with_client("weak", &[], &[]);
    let own = export(&app.as_client(&weak), "");
    assert!(!own.is_empty() && own.len() < 100, "{}", own.len());
    assert!(own.iter().all(|e| e["actor"]["owner_account_id"] == owner.as_str()
        || e["actor"]["id"] == owner.as_str()
        || e["actor"]["id"] == weak.id.as_str()
        || e["target"]["id"] == owner.as_str()
        || e["target"]["id"] == weak.id.as_str()));

    admin.get("/api/v1/audit-events:export?after_seq=-1").assert_problem(400);
    admin.get("/api/v1/audit-events:export?outcome=maybe").assert_problem(400);
}

#[test]
fn two_replicas_never_deliver_a_stream_twice() {
    let app = TestApp::start();
    let replica = app.replica();
    let admin = app.admin();
    let receiver = Receiver::start(Mode::Accept);
    let stream = admin.post("/api/v1/log-streams", &json!({ "name": "SIEM", "url": receiver.url("/hook") }));
    assert_eq!(stream.status, 201, "{}", stream.text);
    let start = stream.json["status"]["last_delivered_seq"].as_i64().unwrap();
    app.create_namespace("replicated");
    // Writes through both replicas, while both workers deliver.
    let on_replica = replica.as_client(&app.admin_client);
    for i in 0..120 {
        let api = if i % 2 == 0 { &admin } else { &on_replica };
        let r = api.post("/api/v1/namespaces/replicated/users", &json!({ "username": format!("user{i}") }));
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let marker = app.create_account("replicated", "the-last-one", &[]);
    let delivered = || -> Vec<Value> { receiver.acknowledged("/hook").iter().flat_map(|d| d.events()).collect() };
    assert!(eventually(Duration::from_secs(60), || delivered().iter().any(|e| e["target"]["id"] == marker.as_str())));
    std::thread::sleep(Duration::from_secs(2));
    let seqs = seqs(&delivered());
    let head = *seqs.last().unwrap();
    assert_eq!(seqs, (start + 1..=head).collect::<Vec<_>>(), "a batch delivered twice, or a gap");
    assert!(receiver.acknowledged("/hook").len() >= 2, "more than one batch");
}

// ---------------------------------------------------------------- nobody keeps power they lost

#[test]
fn a_stream_is_for_those_who_may_read_the_whole_audit_log_and_only_while_they_may() {
    let app = TestApp::start();
    let admin = app.admin();
    let receiver = Receiver::start(Mode::Accept);
    // audit:write@* alone does not let anyone route every event to a URL of their choosing.
    let (_, writer) = app.owner_with_client("writer", &["audit:write@*"], &["audit:write@*"]);
    let refused =
        app.as_client(&writer).post("/api/v1/log-streams", &json!({ "name": "x", "url": receiver.url("/w") }));
    refused.assert_problem(403);
    assert_eq!(refused.json["missing_grant"], "audit:read@*", "{}", refused.text);
    assert_eq!(admin.get("/api/v1/log-streams").json["items"], json!([]));

    // An auditor's client creates a stream: its owner is the auditor.
    let (auditor, client) = app.owner_with_client("auditor", &["audit:*@*"], &["audit:*@*"]);
    let created =
        app.as_client(&client).post("/api/v1/log-streams", &json!({ "name": "a", "url": receiver.url("/a") }));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["owner_account_id"], auditor.as_str());
    let stream = format!("/api/v1/log-streams/{}", created.json["id"].as_str().unwrap());
    app.create_namespace("before-demotion");
    let delivered =
        |slug: &str| receiver.acknowledged("/a").iter().flat_map(|d| d.events()).any(|e| e["target"]["id"] == slug);
    assert!(eventually(Duration::from_secs(30), || delivered("before-demotion")));

    // The auditor loses audit:read@*: the stream stops, saying why, and skips nothing.
    app.set_grants("system", &auditor, &["audit:write@*"]);
    app.create_namespace("after-demotion");
    let stopped = eventually(Duration::from_secs(30), || {
        admin.get(&stream).json["status"]["last_error"].as_str().is_some_and(|e| e.contains("audit:read@*"))
    });
    assert!(stopped, "{}", admin.get(&stream).text);
    std::thread::sleep(Duration::from_secs(2));
    assert!(!delivered("after-demotion"), "a demoted owner's stream still delivers");
    // Its client cannot take it back either.
    let patched = app.as_client(&client).patch(&stream, &json!({ "url": receiver.url("/a") }));
    patched.assert_problem(403);

    // An administrator takes the stream over: it resumes where it stopped.
    let taken = admin.patch(&stream, &json!({ "url": receiver.url("/a") }));
    assert_eq!(taken.status, 200, "{}", taken.text);
    assert_eq!(taken.json["owner_account_id"], app.admin_account_id.as_str());
    assert!(eventually(Duration::from_secs(60), || delivered("after-demotion")), "{}", admin.get(&stream).text);
    let seqs: Vec<i64> =
        receiver.acknowledged("/a").iter().flat_map(|d| d.events()).filter_map(|e| e["seq"].as_i64()).collect();
    let mut unique = seqs.clone();
    unique.dedup();
    assert_eq!(seqs, unique, "nothing delivered twice");
}

#[test]
fn an_archive_never_takes_events_a_stream_has_not_delivered() {
    let app = TestApp::start();
    let admin = app.admin();
    let receiver = Receiver::start(Mode::Fail);
    let created = admin
        .post("/api/v1/log-streams", &json!({ "name": "behind", "url": receiver.url("/b"), "start_after_seq": 0 }));
    assert_eq!(created.status, 201, "{}", created.text);
    let stream = format!("/api/v1/log-streams/{}", created.json["id"].as_str().unwrap());
    app.create_namespace("kept-for-the-stream");
    let dir = tempfile::tempdir().unwrap();
    let before = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let archive = |dir: &std::path::Path| {
        let out = crate::support::gatehouse(
            &app.db,
            &["audit", "archive", "--before", &before, "--out", dir.to_str().unwrap()],
            None,
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
    };
    std::thread::sleep(Duration::from_millis(1100));
    archive(dir.path());
    let first = admin.get("/api/v1/audit-events?page_size=200&action=namespace.create");
    assert!(first.text.contains("kept-for-the-stream"), "the undelivered events stay live: {}", first.text);

    // Disabled, the stream no longer holds the chain back.
    assert_eq!(admin.patch(&stream, &json!({ "disabled": true })).status, 200);
    let dir2 = tempfile::tempdir().unwrap();
    archive(dir2.path());
    let after = admin.get("/api/v1/audit-events?page_size=200&action=namespace.create");
    assert!(!after.text.contains("kept-for-the-stream"), "{}", after.text);
}
