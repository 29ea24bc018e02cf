//! Access summaries (the default `--audit-reads summary`): successful reads rolled up into one
//! `access.summary` event per actor, action, namespace and target per minute; everything else
//! stays a full event, committed before it is answered.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{eventually, Api, TestApp};

/// Every access summary on record.
fn summaries(app: &TestApp) -> Vec<Value> {
    let events = app.admin().get("/api/v1/audit-events?action=access.summary&page_size=200");
    assert_eq!(events.status, 200, "{}", events.text);
    events.json["items"].as_array().unwrap().clone()
}

/// Summed counts by (actor id, summarised action, target id).
fn counts(summaries: &[Value]) -> HashMap<(String, String, String), u64> {
    let mut counts = HashMap::new();
    for s in summaries {
        let key = (
            s["actor"]["id"].as_str().unwrap_or_default().to_owned(),
            s["changes"]["action"].as_str().unwrap().to_owned(),
            s["target"]["id"].as_str().unwrap_or_default().to_owned(),
        );
        *counts.entry(key).or_default() += s["changes"]["count"].as_u64().unwrap();
    }
    counts
}

fn key(actor: &str, action: &str, target: &str) -> (String, String, String) {
    (actor.to_owned(), action.to_owned(), target.to_owned())
}

#[test]
fn reads_are_counted_in_one_summary_per_actor_action_and_target() {
    let mut app = TestApp::start();
    app.create_namespace("customers");
    let alice = app.create_account("customers", "alice", &[]);
    let bob = app.create_account("customers", "bob", &[]);
    let (_, weak) = app.owner_with_client("reader", &["users:read@customers"], &["users:read@customers"]);
    let admin = app.admin();
    let mut request_ids = Vec::new();
    for _ in 0..5 {
        let r = admin.get(&format!("/api/v1/namespaces/customers/users/{alice}"));
        assert_eq!(r.status, 200, "{}", r.text);
        request_ids.push(r.header("x-request-id").unwrap().to_owned());
    }
    for _ in 0..2 {
        assert_eq!(admin.get(&format!("/api/v1/namespaces/customers/users/{bob}")).status, 200);
    }
    for _ in 0..3 {
        assert_eq!(admin.get("/api/v1/namespaces").status, 200);
    }
    assert_eq!(app.as_client(&weak).get(&format!("/api/v1/namespaces/customers/users/{alice}")).status, 200);

    // A graceful stop writes the open minute's summaries.
    assert_eq!(app.terminate(), Some(0));
    app.restart();
    let all = summaries(&app);
    let counts = counts(&all);
    let admin_id = app.admin_client.id.clone();
    assert_eq!(counts.get(&key(&admin_id, "user.read", &alice)), Some(&5), "{all:#?}");
    assert_eq!(counts.get(&key(&admin_id, "user.read", &bob)), Some(&2), "{all:#?}");
    assert_eq!(counts.get(&key(&admin_id, "namespace.list", "")), Some(&3), "{all:#?}");
    assert_eq!(counts.get(&key(&weak.id, "user.read", &alice)), Some(&1), "{all:#?}");

    // The reads of alice: one summary, or two if a minute closed in between; first and last
    // request ids are those of the first and last read.
    let mut of_alice: Vec<&Value> =
        all.iter().filter(|s| s["actor"]["id"] == admin_id.as_str() && s["target"]["id"] == alice.as_str()).collect();
    of_alice.sort_by_key(|s| s["seq"].as_i64());
    assert_eq!(of_alice[0]["changes"]["first_request_id"], request_ids[0].as_str());
    assert_eq!(of_alice.last().unwrap()["changes"]["last_request_id"], request_ids[4].as_str());
    assert!(of_alice[0]["changes"]["first_time"].as_str() <= of_alice[0]["changes"]["last_time"].as_str());
    assert_eq!(of_alice[0]["namespace"], "customers");
    assert_eq!(of_alice[0]["target"]["type"], "account");
    assert_eq!(of_alice[0]["outcome"], "success");

    // The audit API's filters find them.
    let by_target = app.admin().get(&format!("/api/v1/audit-events?action=access.summary&target={bob}"));
    let items = by_target.json["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|s| s["target"]["id"] == bob.as_str()), "{}", by_target.text);
    let by_actor = app.admin().get(&format!("/api/v1/audit-events?actor={}&namespace=customers", weak.id));
    assert!(by_actor.json["items"].as_array().unwrap().iter().any(|s| s["action"] == "access.summary"));
    // No read was recorded as an event of its own.
    let reads = app.admin().get("/api/v1/audit-events?action=user.read");
    assert_eq!(reads.json["items"], json!([]), "{}", reads.text);
}

#[test]
fn a_closed_minute_is_on_record_without_a_restart() {
    let app = TestApp::start();
    for _ in 0..4 {
        assert_eq!(app.admin().get("/api/v1/namespaces").status, 200);
    }
    let listed = key(&app.admin_client.id, "namespace.list", "");
    // Summaries are written a second after their minute closes.
    let written = eventually(Duration::from_secs(90), || counts(&summaries(&app)).get(&listed) == Some(&4));
    assert!(written, "{:#?}", summaries(&app));
}

#[test]
fn a_killed_server_loses_no_refusal_failure_or_change_only_open_read_summaries() {
    let mut app = TestApp::start();
    app.create_namespace("customers");
    let (_, weak) = app.owner_with_client("reader", &["users:read@customers"], &["users:read@customers"]);
    let target = app.create_account("customers", "target", &[]);
    let weak_api = app.as_client(&weak);
    let mut created = Vec::new();
    for i in 0..30 {
        // Unknown client ids: refused (401, or 429 once the address is throttled), each on record.
        let refused = Api::new(&app.base, Some((format!("nobody-{i}"), "wrong".into()))).get("/api/v1/me");
        assert!(matches!(refused.status, 401 | 429), "{}", refused.text);
        weak_api.delete(&format!("/api/v1/namespaces/customers/users/{target}")).assert_problem(403);
        let r = app.admin().post("/api/v1/namespaces/customers/users", &json!({ "username": format!("made-{i}") }));
        assert_eq!(r.status, 201, "{}", r.text);
        created.push(r.json["id"].as_str().unwrap().to_owned());
        assert_eq!(weak_api.get(&format!("/api/v1/namespaces/customers/users/{target}")).status, 200);
    }
    // No chance to write anything more.
    app.kill_and_restart();

    let admin = app.admin();
    // The address may still be throttled for a second after the failures.
    assert!(eventually(Duration::from_secs(10), || admin.get("/api/v1/me").status == 200));
    let failures = admin.get("/api/v1/audit-events?action=auth.basic.failure&page_size=200");
    let unknown = failures.json["items"].as_array().unwrap().iter().filter(|e| e["actor"]["type"] == "anonymous");
    assert_eq!(unknown.count(), 30, "{}", failures.text);
    let denials = admin.get(&format!("/api/v1/audit-events?actor={}&outcome=denied&page_size=200", weak.id));
    assert_eq!(denials.json["items"].as_array().unwrap().len(), 30, "{}", denials.text);
    let changes = admin.get("/api/v1/audit-events?action=user.create&namespace=customers&page_size=200");
    let recorded: Vec<&str> =
        changes.json["items"].as_array().unwrap().iter().filter_map(|e| e["target"]["id"].as_str()).collect();
    assert!(created.iter().all(|id| recorded.contains(&id.as_str())), "{}", changes.text);
    // Reads of the open minute may be lost, but none is counted twice or invented.
    let reads = counts(&summaries(&app)).get(&key(&weak.id, "user.read", &target)).copied().unwrap_or(0);
    assert!(reads <= 30, "{reads}");
    let verified = admin.get("/api/v1/audit-events:verify");
    assert_eq!(verified.json["intact"], true, "{}", verified.text);
}
