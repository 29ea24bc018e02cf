//! Bulk import: JSON arrays and NDJSON, PHC hashes, per-row errors.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::TestApp;

/// A bcrypt hash (cost 4) of "imported password".
const BCRYPT: &str = "$2b$04$p3L02m8UBj.xaqidqzJRn.vemhbXF0MXv6XyQybzBfF2I0G.zHXb6";

#[test]
fn a_json_array_import_creates_good_rows_and_reports_bad_ones() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let rows = json!([
        { "username": "imp1", "email": "imp1@example.com", "password_hash": BCRYPT },
        { "username": "imp2", "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA" },
        { "username": "bad name" },
        { "username": "imp1" },
        { "username": "imp4", "password_hash": "md5:abcdef" },
        { "username": "imp5", "password": "a plain password" },
        { "nonsense": true },
        "not an object",
        { "username": "imp8", "phone_number": "+14155550100", "attributes": { "national_id": "X-1" } }
    ]);
    let r = app.admin().post("/api/v1/namespaces/customers/users:import", &rows);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["created"], 4, "{}", r.text);
    assert_eq!(r.json["failed"], 5);
    let failed: Vec<u64> = r.json["errors"].as_array().unwrap().iter().map(|e| e["index"].as_u64().unwrap()).collect();
    assert_eq!(failed, vec![2, 3, 4, 6, 7]);
    let fields = |i: usize| -> Vec<String> {
        r.json["errors"][i]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(fields(0), vec!["username"]);
    assert_eq!(fields(1), vec!["username"], "duplicate within the file");
    assert_eq!(fields(2), vec!["password_hash"]);

    let listed = app.admin().get("/api/v1/namespaces/customers/users");
    let mut names: Vec<&str> =
        listed.json["items"].as_array().unwrap().iter().map(|a| a["username"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, vec!["imp1", "imp2", "imp5", "imp8"]);
    assert!(listed.json["items"].as_array().unwrap().iter().all(|a| a["has_password"] == (a["username"] != "imp8")));
    assert!(!listed.text.contains("$2b$") && !listed.text.contains("argon2"));

    let audit = app.admin().get("/api/v1/audit-events?action=user.import");
    assert_eq!(audit.json["items"][0]["changes"]["created"], 4, "{}", audit.text);
}

#[test]
fn an_ndjson_import_reports_errors_by_line() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let mut body = String::new();
    for i in 0..500 {
        body.push_str(&json!({ "username": format!("nd{i}"), "email": format!("nd{i}@example.com") }).to_string());
        body.push('\n');
    }
    body.push_str("{ broken json\n\n");
    body.push_str(&json!({ "username": "nd0" }).to_string());
    let admin = app.admin();
    let r = admin.send(
        admin
            .request(Method::POST, "/api/v1/namespaces/customers/users:import")
            .header("content-type", "application/x-ndjson")
            .body(body),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["created"], 500);
    let failed: Vec<u64> = r.json["errors"].as_array().unwrap().iter().map(|e| e["index"].as_u64().unwrap()).collect();
    assert_eq!(failed, vec![500, 502]);
    let search = admin.get("/api/v1/namespaces/customers/users?q=nd49&page_size=200");
    assert_eq!(search.json["items"].as_array().unwrap().len(), 11, "nd49 and nd490..nd499");
}

#[test]
fn import_needs_users_write_and_an_existing_namespace() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let (_, reader) = app.owner_with_client("bob", &["users:read@customers"], &["users:read@customers"]);
    let r = app.as_client(&reader).post("/api/v1/namespaces/customers/users:import", &json!([{ "username": "x1" }]));
    r.assert_problem(403);
    app.admin().post("/api/v1/namespaces/nowhere/users:import", &json!([{ "username": "x1" }])).assert_problem(404);
    app.admin().post("/api/v1/namespaces/customers/users:import", &json!({ "username": "x1" })).assert_problem(400);
    let admin = app.admin();
    let text = admin.send(
        admin
            .request(Method::POST, "/api/v1/namespaces/customers/users:import")
            .header("content-type", "text/csv")
            .body("username\nx1"),
    );
    text.assert_problem(415);
    assert_eq!(app.admin().get("/api/v1/namespaces/customers/users").json["items"], Value::Array(vec![]));
}
