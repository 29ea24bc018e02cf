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

/// Every kind of bad row in one NDJSON import, over more than one chunk: the exact per-row
/// results, and exactly one `user.create` event per created account with its whole record
/// (what the import answered before it inserted a chunk at a time; issue 15).
#[test]
fn an_import_answers_and_audits_every_kind_of_row_exactly() {
    let app = TestApp::start();
    app.create_namespace("imp");
    let admin = app.admin();
    let existing = admin.post(
        "/api/v1/namespaces/imp/users",
        &json!({ "username": "existing", "email": "existing@example.com", "phone_number": "+14155550100" }),
    );
    assert_eq!(existing.status, 201, "{}", existing.text);
    let mut lines: Vec<String> = vec![
        json!({ "username": "a0", "email": "a0@example.com", "password_hash": BCRYPT }).to_string(),
        json!({ "username": "A0" }).to_string(),
        json!({ "username": "existing" }).to_string(),
        json!({ "username": "b3", "email": "EXISTING@example.com" }).to_string(),
        json!({ "username": "b4", "email": "a0@example.com" }).to_string(),
        json!({ "username": "bad name" }).to_string(),
        json!({ "username": "b6", "password": "a plain password", "password_hash": BCRYPT }).to_string(),
        json!({ "username": "b7", "password_hash": "md5:abcdef" }).to_string(),
        json!({ "username": "existing", "email": "existing@example.com" }).to_string(),
        json!({ "phone_number": "+14155550100" }).to_string(),
        json!({ "email_verified": true }).to_string(),
        "{ broken json".to_owned(),
        json!({ "username": "b12", "given_name": "G", "family_name": "F", "name": "G F", "attributes": { "k": "v" },
                "disabled": true, "phone_number": "+14155550111", "phone_number_verified": true })
        .to_string(),
        json!({ "username": "b13", "email": "b13@example.com", "email_verified": true, "password": "plain password 13" })
            .to_string(),
        json!({ "username": "a0", "email": "a0@example.com" }).to_string(),
        json!({ "username": "b15", "email": "existing@example.com", "phone_number": "+14155550100" }).to_string(),
        json!({ "email": "b16@example.com", "phone_number": "+14155550100" }).to_string(),
        json!({ "username": "b17", "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA" }).to_string(),
        json!({ "username": "b18", "unknown": 1 }).to_string(),
    ];
    for i in 0..1_100 {
        lines.push(json!({ "username": format!("f{i}"), "email": format!("f{i}@example.com") }).to_string());
    }
    // In a later chunk: duplicates of rows of the first; a row like a failed one is created.
    lines.push(json!({ "username": "F3" }).to_string());
    lines.push(json!({ "username": "late", "email": "F5@EXAMPLE.COM" }).to_string());
    lines.push(json!({ "username": "late" }).to_string());
    lines.push(json!({ "username": "late2", "phone_number": "+14155550111" }).to_string());
    let body = lines.join("\n");
    let r = admin.send(
        admin
            .request(Method::POST, "/api/v1/namespaces/imp/users:import")
            .header("content-type", "application/x-ndjson")
            .body(body),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let taken =
        |field: &str| json!([{ "field": field, "message": format!("{field} is already taken in this namespace") }]);
    // A row that collides on several sign-in names is reported by the first unique index the
    // database checks: PostgreSQL in the order they were made, SQLite the other way round.
    let first = |fields: [&str; 2]| if app.db.is_postgres() { taken(fields[0]) } else { taken(fields[1]) };
    let expected_errors = json!([
        { "index": 1, "errors": taken("username") },
        { "index": 2, "errors": taken("username") },
        { "index": 3, "errors": taken("email") },
        { "index": 4, "errors": taken("email") },
        { "index": 5, "errors": [{ "field": "username", "message": "must not contain spaces or control characters" }] },
        { "index": 6, "errors": [{ "field": "password_hash", "message": "give password or password_hash, not both" }] },
        { "index": 7, "errors": [{ "field": "password_hash", "message": "must be a PHC string: $argon2id$…, $argon2i$…, $argon2d$… or $2b$…" }] },
        { "index": 8, "errors": first(["username", "email"]) },
        { "index": 9, "errors": taken("phone_number") },
        { "index": 10, "errors": [{ "field": "username", "message": "one of username, email or phone_number is required" }] },
        { "index": 11, "errors": [{ "field": "row", "message": "is not valid JSON (key must be a string at line 1 column 3)" }] },
        { "index": 14, "errors": first(["username", "email"]) },
        { "index": 15, "errors": first(["email", "phone_number"]) },
        { "index": 16, "errors": taken("phone_number") },
        { "index": 18, "errors": [{ "field": "unknown", "message": "unknown field `unknown`, expected one of `username`, `email`, `email_verified`, `phone_number`, `phone_number_verified`, `name`, `given_name`, `family_name`, `attributes`, `disabled`, `password`, `password_hash`" }] },
        { "index": 1119, "errors": taken("username") },
        { "index": 1120, "errors": taken("email") },
        { "index": 1122, "errors": taken("phone_number") },
    ]);
    assert_eq!(r.json["errors"], expected_errors, "{}", r.text);
    let failed = expected_errors.as_array().unwrap().len();
    assert_eq!(r.json["failed"], failed);
    assert_eq!(r.json["created"], lines.len() - failed);

    // One user.create per created account, with the account's whole record.
    let listed = {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = admin.get(&format!(
                "/api/v1/namespaces/imp/users?page_size=200{}",
                token.as_ref().map(|t| format!("&page_token={t}")).unwrap_or_default()
            ));
            all.extend(page.json["items"].as_array().unwrap().iter().cloned());
            match page.json["next_page_token"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        all
    };
    let export = admin.send(admin.request(Method::GET, "/api/v1/audit-events:export?action=user.create&namespace=imp"));
    assert_eq!(export.status, 200, "{}", export.text);
    let events: Vec<Value> = export.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), listed.len(), "one user.create per account (the one made before the import too)");
    let by_target: std::collections::HashMap<String, &Value> =
        events.iter().map(|e| (e["target"]["id"].as_str().unwrap().to_owned(), e)).collect();
    assert_eq!(by_target.len(), events.len());
    for account in &listed {
        let id = account["id"].as_str().unwrap();
        let event = by_target[id];
        if account["username"] == "existing" {
            continue;
        }
        let mut after = account.clone();
        let after = after.as_object_mut().unwrap();
        after.remove("created_at");
        after.remove("updated_at");
        after.insert("permissions".into(), json!([]));
        let expected = json!({ "before": null, "after": after, "via": "import" });
        assert_eq!(event["changes"], expected, "{}", event);
        assert_eq!(event["target"]["type"], "account");
        assert_eq!(event["outcome"], "success");
        assert_eq!(event["actor"]["type"], "client");
    }
    let b12 = listed.iter().find(|a| a["username"] == "b12").unwrap();
    assert_eq!(b12["attributes"], json!({ "k": "v" }));
    assert_eq!(b12["disabled"], true);
    let summary = admin.get("/api/v1/audit-events?action=user.import&namespace=imp");
    assert_eq!(
        summary.json["items"][0]["changes"],
        json!({ "created": lines.len() - failed, "failed": failed }),
        "{}",
        summary.text
    );
    let verify = admin.get("/api/v1/audit-events:verify");
    assert_eq!(verify.json["intact"], true, "{}", verify.text);
}
