//! Two replicas on one database: whatever one of them decides, the other enforces on its very
//! next request, and both append to one audit chain. (On SQLite the two processes share the
//! file; on PostgreSQL, the production layout, they share the database.)

use serde_json::json;

use crate::support::{gatehouse, ClientCreds, Reply, TestApp};

fn token(base: &str, creds: &ClientCreds, form: &[(&str, &str)]) -> Reply {
    let api = crate::support::http::Api::new(base, None);
    api.send(
        api.request(reqwest::Method::POST, "/oauth/token").basic_auth(&creds.client_id, Some(&creds.secret)).form(form),
    )
}

#[test]
fn a_token_issued_by_one_replica_works_at_the_other_until_revoked_there() {
    let app = TestApp::start();
    let b = app.replica();
    let creds = app.create_client(&app.admin_account_id, &["namespaces:read@*"]);
    let issued = token(&app.base, &creds, &[("grant_type", "client_credentials")]);
    assert_eq!(issued.status, 200, "{}", issued.text);
    let access = issued.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(b.anonymous().with_bearer(&access).get("/api/v1/namespaces").status, 200);
    let api = b.anonymous();
    let r = api.send(
        api.request(reqwest::Method::POST, "/oauth/revoke")
            .basic_auth(&creds.client_id, Some(&creds.secret))
            .form(&[("token", access.as_str())]),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.anonymous().with_bearer(&access).get("/api/v1/namespaces").status, 401);
}

#[test]
fn rotation_demotion_and_disabling_on_one_replica_take_effect_on_the_other() {
    let app = TestApp::start();
    let b = app.replica();
    app.create_namespace("customers");
    let (owner, creds) = app.owner_with_client("owner", &["users:read@customers"], &["users:read@customers"]);
    // B verifies (and remembers) the secret first.
    assert_eq!(b.as_client(&creds).get("/api/v1/namespaces/customers/users").status, 200);

    let rotated =
        app.admin().post(&format!("/api/v1/clients/{}/secrets", creds.id), &json!({"previous_secret_expires_in": 0}));
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    b.as_client(&creds).get("/api/v1/me").assert_problem(401);
    let creds = ClientCreds { secret: rotated.json["client_secret"].as_str().unwrap().into(), ..creds };
    assert_eq!(b.as_client(&creds).get("/api/v1/namespaces/customers/users").status, 200);

    app.set_grants("system", &owner, &[]);
    b.as_client(&creds).get("/api/v1/namespaces/customers/users").assert_problem(403);
    app.set_grants("system", &owner, &["users:read@customers"]);
    assert_eq!(b.as_client(&creds).get("/api/v1/namespaces/customers/users").status, 200);

    let disabled = app.admin().patch(&format!("/api/v1/namespaces/system/users/{owner}"), &json!({"disabled": true}));
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    b.as_client(&creds).get("/api/v1/me").assert_problem(401);

    let deleted = app.admin().delete(&format!("/api/v1/clients/{}", creds.id));
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    b.as_client(&creds).get("/api/v1/me").assert_problem(401);
}

#[test]
fn a_refresh_token_revoked_on_one_replica_is_refused_by_the_other() {
    let app = TestApp::start();
    let b = app.replica();
    app.create_namespace("customers");
    let web = app.admin().post(
        "/api/v1/clients",
        &json!({"name": "web", "grant_types": ["password", "refresh_token"], "password_grant_enabled": true, "user_namespace": "customers"}),
    );
    assert_eq!(web.status, 201, "{}", web.text);
    let web = crate::support::creds_of(&web.json);
    let user = app
        .admin()
        .post("/api/v1/namespaces/customers/users", &json!({"username": "alice", "password": "alice's long password"}));
    assert_eq!(user.status, 201, "{}", user.text);
    let first = token(
        &app.base,
        &web,
        &[("grant_type", "password"), ("username", "alice"), ("password", "alice's long password")],
    );
    assert_eq!(first.status, 200, "{}", first.text);
    let refresh = first.json["refresh_token"].as_str().unwrap().to_owned();
    // Rotated at B, then the old token comes back at A: reuse, the family is revoked.
    let second = token(&b.base, &web, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!(second.status, 200, "{}", second.text);
    let newer = second.json["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(token(&app.base, &web, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).status, 400);
    let refused = token(&b.base, &web, &[("grant_type", "refresh_token"), ("refresh_token", &newer)]);
    assert_eq!(refused.status, 400, "the whole family is revoked on every replica: {}", refused.text);
}

#[test]
fn a_lock_out_on_one_replica_holds_on_the_other() {
    let app = TestApp::start();
    let b = app.replica();
    let creds = app.create_client(&app.admin_account_id, &["namespaces:read@*"]);
    let wrong = ClientCreds { secret: "wrong".into(), ..creds.clone() };
    for _ in 0..5 {
        assert_eq!(token(&app.base, &wrong, &[("grant_type", "client_credentials")]).status, 401);
    }
    let locked = b.as_client(&creds).get("/api/v1/me");
    locked.assert_problem(429);
    assert!(locked.header("retry-after").is_some());
}

#[test]
fn keys_rotated_on_one_replica_are_published_by_the_other_and_the_chain_stays_one() {
    let app = TestApp::start();
    let b = app.replica();
    let kids = |base: &str| -> Vec<String> {
        let jwks = crate::support::http::Api::new(base, None).get("/oauth/jwks");
        jwks.json["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
    };
    let before = kids(&b.base);
    let rotated = app.admin().post("/api/v1/keys:rotate", &json!({}));
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let after_a = kids(&app.base);
    assert_ne!(after_a, before);
    let mut after_b = kids(&b.base);
    let mut expected = after_a.clone();
    after_b.sort();
    expected.sort();
    assert_eq!(after_b, expected, "B publishes what A rotated to");
    // A token signed by A's new current key verifies at B.
    let creds = app.create_client(&app.admin_account_id, &["namespaces:read@*"]);
    let issued = token(&app.base, &creds, &[("grant_type", "client_credentials")]);
    let access = issued.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(b.anonymous().with_bearer(&access).get("/api/v1/namespaces").status, 200);

    // Both replicas append to one chain, concurrently, and it verifies.
    std::thread::scope(|s| {
        for base in [app.base.clone(), b.base.clone()] {
            let creds = creds.clone();
            s.spawn(move || {
                for i in 0..20 {
                    let api =
                        crate::support::http::Api::new(&base, Some((creds.client_id.clone(), creds.secret.clone())));
                    let _ = api.get(&format!("/api/v1/namespaces?page_size={}", 1 + i % 5));
                }
            });
        }
    });
    let verify = gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(verify.code, 0, "{} {}", verify.stdout, verify.stderr);
}
