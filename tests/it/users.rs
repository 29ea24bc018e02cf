//! Accounts and namespaces: CRUD, uniqueness, search, paging, preconditions.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use serde_json::{json, Value};

use crate::support::TestApp;

#[test]
fn account_lifecycle_create_read_patch_delete() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let admin = app.admin();
    let created = admin.post(
        "/api/v1/namespaces/customers/users",
        &json!({
            "username": "alice", "email": "alice@example.com", "email_verified": true,
            "phone_number": "+14155550123", "name": "Alice A.", "given_name": "Alice", "family_name": "A.",
            "attributes": { "national_id": "123", "tier": 2 }, "password": "a good long password"
        }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), Some(format!("/api/v1/namespaces/customers/users/{id}").as_str()));
    assert_eq!(created.json["has_password"], true);
    assert!(
        !created.text.contains("a good long password") && !created.text.contains("argon2"),
        "no password or hash: {}",
        created.text
    );

    let read = admin.get(&format!("/api/v1/namespaces/customers/users/{id}"));
    assert_eq!(read.status, 200);
    assert_eq!(read.json["attributes"]["national_id"], "123");
    let etag = read.header("etag").expect("ETag").to_owned();

    let patched = admin.send(
        admin
            .request(reqwest::Method::PATCH, &format!("/api/v1/namespaces/customers/users/{id}"))
            .header("if-match", &etag)
            .json(&json!({ "email": "alice@new.example.com", "name": null })),
    );
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["email_verified"], false, "a new email is unverified");
    assert_eq!(patched.json["name"], Value::Null);
    assert_eq!(patched.json["given_name"], "Alice", "absent fields stay");
    assert_ne!(patched.header("etag"), Some(etag.as_str()));

    let password = admin.put(
        &format!("/api/v1/namespaces/customers/users/{id}/password"),
        &json!({ "password": "another long password" }),
    );
    assert_eq!(password.status, 204, "{}", password.text);
    admin
        .put(&format!("/api/v1/namespaces/customers/users/{id}/password"), &json!({ "password": "short" }))
        .assert_problem(400);

    assert_eq!(admin.delete(&format!("/api/v1/namespaces/customers/users/{id}")).status, 204);
    admin.get(&format!("/api/v1/namespaces/customers/users/{id}")).assert_problem(404);
}

#[test]
fn stale_if_match_is_refused_with_412_and_changes_nothing() {
    let app = TestApp::start();
    let admin = app.admin();
    let id = app.create_account("system", "bob", &[]);
    let path = format!("/api/v1/namespaces/system/users/{id}");
    let etag = admin.get(&path).header("etag").unwrap().to_owned();
    assert_eq!(admin.patch(&path, &json!({ "name": "first" })).status, 200);

    let stale = admin.send(
        admin.request(reqwest::Method::PATCH, &path).header("if-match", &etag).json(&json!({ "name": "second" })),
    );
    stale.assert_problem(412);
    assert_eq!(admin.get(&path).json["name"], "first");
    let stale_delete = admin.send(admin.request(reqwest::Method::DELETE, &path).header("if-match", &etag));
    stale_delete.assert_problem(412);
    let stale_grants = admin.send(
        admin
            .request(reqwest::Method::PUT, &format!("{path}/permissions"))
            .header("if-match", &etag)
            .json(&json!({ "permissions": ["users:read@system"] })),
    );
    stale_grants.assert_problem(412);
    let any = admin
        .send(admin.request(reqwest::Method::PATCH, &path).header("if-match", "*").json(&json!({ "name": "third" })));
    assert_eq!(any.status, 200);

    let ns = admin.get("/api/v1/namespaces/system");
    let ns_etag = ns.header("etag").unwrap().to_owned();
    admin.patch("/api/v1/namespaces/system", &json!({ "display_name": "Admins" }));
    let stale_ns = admin.send(
        admin
            .request(reqwest::Method::PATCH, "/api/v1/namespaces/system")
            .header("if-match", &ns_etag)
            .json(&json!({ "display_name": "x" })),
    );
    stale_ns.assert_problem(412);
}

#[test]
fn sign_in_names_are_unique_per_namespace_after_folding() {
    let app = TestApp::start();
    app.create_namespace("shop-a");
    app.create_namespace("shop-b");
    let admin = app.admin();
    assert_eq!(
        admin
            .post("/api/v1/namespaces/shop-a/users", &json!({ "username": "Alice", "email": "Alice@Example.com" }))
            .status,
        201
    );
    for duplicate in
        [json!({ "username": "alice" }), json!({ "username": "ＡＬＩＣＥ" }), json!({ "email": "alice@example.COM" })]
    {
        let r = admin.post("/api/v1/namespaces/shop-a/users", &duplicate);
        r.assert_problem(409);
    }
    assert_eq!(
        admin.post("/api/v1/namespaces/shop-b/users", &json!({ "username": "alice" })).status,
        201,
        "another namespace is another set of names"
    );
    let bob = admin.post("/api/v1/namespaces/shop-a/users", &json!({ "username": "bob" }));
    let taken = admin.patch(
        &format!("/api/v1/namespaces/shop-a/users/{}", bob.json["id"].as_str().unwrap()),
        &json!({ "username": "ALICE" }),
    );
    taken.assert_problem(409);
}

#[test]
fn concurrent_creation_of_the_same_username_yields_exactly_one_201() {
    let app = TestApp::start();
    let barrier = Arc::new(Barrier::new(8));
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let api = app.admin();
                let barrier = barrier.clone();
                s.spawn(move || {
                    barrier.wait();
                    api.post(
                        "/api/v1/namespaces/system/users",
                        &json!({ "username": "racer", "password": "a long password!" }),
                    )
                    .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
}

#[test]
fn search_by_prefix_of_username_email_or_phone_ignores_case() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let admin = app.admin();
    for body in [
        json!({ "username": "Margaret" }),
        json!({ "username": "marge" }),
        json!({ "username": "zed", "email": "MARK@example.com" }),
        json!({ "username": "phoney", "phone_number": "+4915112345678" }),
        json!({ "username": "other", "disabled": true }),
    ] {
        assert_eq!(admin.post("/api/v1/namespaces/customers/users", &body).status, 201);
    }
    let names = |q: &str| -> Vec<String> {
        let r = admin.get(&format!("/api/v1/namespaces/customers/users?q={q}"));
        assert_eq!(r.status, 200, "{}", r.text);
        let mut names: Vec<String> =
            r.json["items"].as_array().unwrap().iter().map(|a| a["username"].as_str().unwrap().to_owned()).collect();
        names.sort();
        names
    };
    assert_eq!(names("MAR"), vec!["Margaret", "marge", "zed"]);
    assert_eq!(names("marg"), vec!["Margaret", "marge"]);
    assert_eq!(names("%2B4915"), vec!["phoney"]);
    assert_eq!(names("nobody"), Vec::<String>::new());
    assert_eq!(names("%25"), Vec::<String>::new(), "no wildcard injection");
    let disabled = admin.get("/api/v1/namespaces/customers/users?disabled=true");
    assert_eq!(disabled.json["items"].as_array().unwrap().len(), 1);
}

#[test]
fn paging_is_stable_under_concurrent_inserts() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let import: Vec<Value> = (0..30).map(|i| json!({ "username": format!("u{i:03}") })).collect();
    let r = app.admin().post("/api/v1/namespaces/customers/users:import", &Value::Array(import));
    assert_eq!(r.json["created"], 30, "{}", r.text);

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut inserted = 0;
    loop {
        let path = match &token {
            Some(t) => format!("/api/v1/namespaces/customers/users?page_size=7&page_token={t}"),
            None => "/api/v1/namespaces/customers/users?page_size=7".to_owned(),
        };
        let page = app.admin().get(&path);
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(page.json["items"].as_array().unwrap().iter().map(|a| a["username"].as_str().unwrap().to_owned()));
        // Others insert while we page.
        for _ in 0..3 {
            inserted += 1;
            let created = app
                .admin()
                .post("/api/v1/namespaces/customers/users", &json!({ "username": format!("late{inserted}") }));
            assert_eq!(created.status, 201);
        }
        match page.json["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no account twice: {seen:?}");
    for i in 0..30 {
        assert!(unique.contains(&format!("u{i:03}")), "u{i:03} was skipped");
    }
    assert!(seen.iter().any(|n| n.starts_with("late")), "inserts after the cursor appear on later pages");
}

#[test]
fn page_size_and_token_are_validated() {
    let app = TestApp::start();
    let admin = app.admin();
    admin.get("/api/v1/namespaces/system/users?page_size=0").assert_problem(400);
    admin.get("/api/v1/namespaces/system/users?page_size=201").assert_problem(400);
    admin.get("/api/v1/namespaces/system/users?page_token=not-a-token").assert_problem(400);
    admin.get("/api/v1/namespaces/system/users?bogus=1").assert_problem(400);
    admin.get("/api/v1/namespaces/nowhere/users").assert_problem(404);
    assert_eq!(admin.get("/api/v1/namespaces/system/users?page_size=200").status, 200);
}

#[test]
fn a_namespace_is_deleted_only_when_empty() {
    let app = TestApp::start();
    app.create_namespace("temp-ns");
    let admin = app.admin();
    let id = app.create_account("temp-ns", "someone", &[]);
    admin.delete("/api/v1/namespaces/temp-ns").assert_problem(409);
    assert_eq!(admin.delete(&format!("/api/v1/namespaces/temp-ns/users/{id}")).status, 204);
    assert_eq!(admin.delete("/api/v1/namespaces/temp-ns").status, 204);
    admin.get("/api/v1/namespaces/temp-ns").assert_problem(404);
    admin.post("/api/v1/namespaces", &json!({ "slug": "system", "display_name": "again" })).assert_problem(409);
}

#[test]
fn namespaces_are_listed_by_what_the_caller_may_read() {
    let app = TestApp::start();
    app.create_namespace("shop-a");
    app.create_namespace("shop-b");
    let (_, client) = app.owner_with_client("bob", &["namespaces:read@shop-a"], &["namespaces:read@shop-a"]);
    let listed = app.as_client(&client).get("/api/v1/namespaces");
    assert_eq!(listed.status, 200, "{}", listed.text);
    let slugs: Vec<&str> =
        listed.json["items"].as_array().unwrap().iter().map(|n| n["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, vec!["shop-a"]);
    let all = app.admin().get("/api/v1/namespaces");
    assert_eq!(all.json["items"].as_array().unwrap().len(), 3);
}

#[test]
fn an_account_cannot_delete_itself_through_its_client() {
    let app = TestApp::start();
    let r = app.admin().delete(&format!("/api/v1/namespaces/system/users/{}", app.admin_account_id));
    r.assert_problem(409);
}
