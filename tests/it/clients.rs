//! API clients: secrets shown once, rotation with overlap, disabling.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::support::{ClientCreds, TestApp};

#[test]
fn the_secret_appears_only_in_the_response_that_created_the_client() {
    let app = TestApp::start();
    let created = app.admin().post("/api/v1/clients", &json!({ "name": "ci", "permissions": ["audit:read@*"] }));
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap();
    assert_eq!(created.header("location"), Some(format!("/api/v1/clients/{id}").as_str()));
    let secret = created.json["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 32);
    assert_eq!(created.json["owner"]["account_id"], app.admin_account_id);
    assert_eq!(created.json["grant_types"], json!(["client_credentials"]));

    let read = app.admin().get(&format!("/api/v1/clients/{id}"));
    assert_eq!(read.status, 200);
    assert!(read.json.get("client_secret").is_none());
    assert!(!read.text.contains(secret));
    let listed = app.admin().get("/api/v1/clients");
    assert!(!listed.text.contains(secret));
    let events = app.admin().get(&format!("/api/v1/audit-events?target={id}"));
    assert!(!events.text.contains(secret), "the audit log never holds a secret");
    assert!(!app.log().contains(secret), "the server log never holds a secret");
}

fn rotate(app: &TestApp, client: &ClientCreds, body: serde_json::Value) -> (ClientCreds, Option<DateTime<Utc>>) {
    let r = app.admin().post(&format!("/api/v1/clients/{}/secrets", client.id), &body);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["client_id"], client.client_id.as_str());
    let expires = r.json["previous_secret_expires_at"].as_str().map(|t| t.parse().unwrap());
    (ClientCreds { secret: r.json["client_secret"].as_str().unwrap().to_owned(), ..client.clone() }, expires)
}

#[test]
fn rotation_keeps_the_old_secret_for_the_overlap() {
    let app = TestApp::start();
    let client = app.create_client(&app.admin_account_id, &["audit:read@*"]);
    assert_eq!(app.as_client(&client).get("/api/v1/me").status, 200, "old secret verified and cached");

    let before = Utc::now();
    let (new, expires) = rotate(&app, &client, json!({ "previous_secret_expires_in": 3600 }));
    let expires = expires.expect("previous secret expiry");
    let seconds = (expires - before).num_seconds();
    assert!((3595..=3605).contains(&seconds), "expires in {seconds} s");
    assert_eq!(app.as_client(&new).get("/api/v1/me").status, 200);
    assert_eq!(app.as_client(&client).get("/api/v1/me").status, 200, "old secret works during the overlap");

    let (newest, _) = rotate(&app, &new, json!({}));
    assert_eq!(app.as_client(&newest).get("/api/v1/me").status, 200);
    assert_eq!(app.as_client(&new).get("/api/v1/me").status, 200, "default overlap is a day");
}

#[test]
fn rotation_with_zero_overlap_ends_the_old_secret_at_once() {
    let app = TestApp::start();
    let client = app.create_client(&app.admin_account_id, &["audit:read@*"]);
    let old = app.as_client(&client);
    assert_eq!(old.get("/api/v1/me").status, 200, "old secret verified and cached");

    let (new, expires) = rotate(&app, &client, json!({ "previous_secret_expires_in": 0 }));
    assert!(expires.unwrap() <= Utc::now());
    old.get("/api/v1/me").assert_problem(401);
    assert_eq!(app.as_client(&new).get("/api/v1/me").status, 200);
}

#[test]
fn rotation_without_a_body_uses_the_default_overlap() {
    let app = TestApp::start();
    let client = app.create_client(&app.admin_account_id, &["audit:read@*"]);
    let r =
        app.admin().send(app.admin().request(reqwest::Method::POST, &format!("/api/v1/clients/{}/secrets", client.id)));
    assert_eq!(r.status, 201, "{}", r.text);
    let expires: DateTime<Utc> = r.json["previous_secret_expires_at"].as_str().unwrap().parse().unwrap();
    let hours = (expires - Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.1).contains(&hours), "{hours}");
    let too_long = app
        .admin()
        .post(&format!("/api/v1/clients/{}/secrets", client.id), &json!({ "previous_secret_expires_in": 99_999_999 }));
    too_long.assert_problem(400);
    assert_eq!(too_long.error_fields(), vec!["previous_secret_expires_in"]);
}

#[test]
fn a_disabled_client_is_refused_until_enabled_again() {
    let app = TestApp::start();
    let client = app.create_client(&app.admin_account_id, &["audit:read@*"]);
    let api = app.as_client(&client);
    assert_eq!(api.get("/api/v1/me").status, 200);
    let off = app.admin().patch(&format!("/api/v1/clients/{}", client.id), &json!({ "disabled": true }));
    assert_eq!(off.status, 200);
    api.get("/api/v1/me").assert_problem(401);
    app.admin().patch(&format!("/api/v1/clients/{}", client.id), &json!({ "disabled": false }));
    assert_eq!(api.get("/api/v1/me").status, 200);
    assert_eq!(app.admin().delete(&format!("/api/v1/clients/{}", client.id)).status, 204);
    api.get("/api/v1/me").assert_problem(401);
}

#[test]
fn oauth_settings_are_checked() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let no_redirect =
        app.admin().post("/api/v1/clients", &json!({ "name": "web", "grant_types": ["authorization_code"] }));
    no_redirect.assert_problem(400);
    assert_eq!(no_redirect.error_fields(), vec!["redirect_uris"]);
    let bad_uri = app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "web", "grant_types": ["authorization_code"], "redirect_uris": ["http://evil.example.com/cb"] }),
    );
    bad_uri.assert_problem(400);
    assert_eq!(bad_uri.error_fields(), vec!["redirect_uris"]);
    let unknown_ns = app.admin().post("/api/v1/clients", &json!({ "name": "web", "user_namespace": "nowhere" }));
    unknown_ns.assert_problem(400);
    let good = app.admin().post(
        "/api/v1/clients",
        &json!({
            "name": "web",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": ["https://app.example.com/cb"],
            "user_namespace": "customers",
            "password_grant_enabled": true
        }),
    );
    assert_eq!(good.status, 201, "{}", good.text);
    assert_eq!(good.json["grant_types"], json!(["authorization_code", "password", "refresh_token"]));
    assert_eq!(good.json["user_namespace"], "customers");
}

#[test]
fn only_an_administrator_of_all_clients_turns_on_the_password_grant() {
    let app = TestApp::start();
    let (_, owner_client) = app.owner_with_client("bob", &["clients:*@system"], &["clients:*@system"]);
    let target = app.create_client(&app.admin_account_id, &[]);
    let r = app
        .as_client(&owner_client)
        .patch(&format!("/api/v1/clients/{}", target.id), &json!({ "password_grant_enabled": true }));
    r.assert_problem(403);
    assert_eq!(r.json["missing_grant"], "clients:write@*");
    let ok = app.admin().patch(&format!("/api/v1/clients/{}", target.id), &json!({ "password_grant_enabled": true }));
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["password_grant_enabled"], true);
}

#[test]
fn clients_list_pages_by_keyset() {
    let app = TestApp::start();
    for _ in 0..4 {
        app.create_client(&app.admin_account_id, &[]);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("/api/v1/clients?page_size=2&page_token={t}"),
            None => "/api/v1/clients?page_size=2".to_owned(),
        };
        let page = app.admin().get(&path);
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(page.json["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page.json["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "4 created + the bootstrap and console clients");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 6);
}
