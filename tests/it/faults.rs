//! Faults: the server killed with SIGKILL in the middle of a write-heavy load loses nothing it
//! acknowledged, shows nothing half-written, and its audit chain still verifies.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use crate::support::{gatehouse, Api, TestApp};

#[test]
fn kill_9_during_creations_and_grants_loses_nothing_acknowledged() {
    let mut app = TestApp::start();
    app.create_namespace("load");
    let creds = app.create_client(&app.admin_account_id, &["users:*@load"]);
    let base = app.base.clone();
    let acknowledged = Mutex::new(Vec::<(String, String)>::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for worker in 0..4 {
            let (base, creds, acknowledged, stop) = (base.clone(), creds.clone(), &acknowledged, &stop);
            s.spawn(move || {
                let api = Api::new(&base, Some((creds.client_id.clone(), creds.secret.clone())));
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let username = format!("w{worker}-{i}");
                    i += 1;
                    let request = api.request(reqwest::Method::POST, "/api/v1/namespaces/load/users").json(&json!({ "username": username }));
                    // A refused connection once the server is gone is expected; only a 201 counts.
                    if let Ok(response) = request.send() {
                        if response.status().as_u16() == 201 {
                            let body: serde_json::Value = response.json().unwrap_or_default();
                            if let Some(id) = body["id"].as_str() {
                                acknowledged.lock().unwrap().push((username, id.to_owned()));
                            }
                        }
                    }
                }
            });
        }
        // Let the load run, then pull the plug while it is still writing.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while acknowledged.lock().unwrap().len() < 40 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        app.kill_and_restart();
        stop.store(true, Ordering::Relaxed);
    });

    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() >= 40, "the load did not get going: {}", acknowledged.len());
    let admin = app.admin();
    for (username, id) in &acknowledged {
        let user = admin.get(&format!("/api/v1/namespaces/load/users/{id}"));
        assert_eq!(user.status, 200, "acknowledged {username} ({id}) is gone after kill -9: {}", user.text);
        assert_eq!(user.json["username"], username.as_str());
    }
    // Nothing half-written: every account that exists has its creation event.
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("/api/v1/namespaces/load/users?page_size=200&page_token={t}"),
            None => "/api/v1/namespaces/load/users?page_size=200".to_owned(),
        };
        let page = admin.get(&path);
        ids.extend(page.json["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page.json["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert!(ids.len() >= acknowledged.len());
    for id in &ids {
        let events = admin.get(&format!("/api/v1/audit-events?target={id}&action=user.create"));
        assert_eq!(events.json["items"].as_array().map(Vec::len), Some(1), "account {id} without its creation event");
    }
    let verify = gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(verify.code, 0, "{} {}", verify.stdout, verify.stderr);
}

#[test]
fn kill_9_during_imports_and_token_grants_loses_nothing_acknowledged() {
    let mut app = TestApp::start();
    app.create_namespace("load");
    let creds = app.create_client(&app.admin_account_id, &["users:*@load", "namespaces:read@*"]);
    let base = app.base.clone();
    let imported = Mutex::new(Vec::<String>::new());
    let tokens = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for worker in 0..2 {
            let (base, creds, imported, stop) = (base.clone(), creds.clone(), &imported, &stop);
            s.spawn(move || {
                let api = Api::new(&base, Some((creds.client_id.clone(), creds.secret.clone())));
                let mut batch = 0;
                while !stop.load(Ordering::Relaxed) {
                    let names: Vec<String> = (0..50).map(|i| format!("imp{worker}-{batch}-{i}")).collect();
                    batch += 1;
                    let rows: Vec<serde_json::Value> = names.iter().map(|n| json!({ "username": n })).collect();
                    let request = api.request(reqwest::Method::POST, "/api/v1/namespaces/load/users:import").json(&rows);
                    if let Ok(response) = request.send() {
                        let body: serde_json::Value = response.json().unwrap_or_default();
                        if body["created"] == 50 {
                            imported.lock().unwrap().extend(names);
                        }
                    }
                }
            });
        }
        for _ in 0..2 {
            let (base, creds, tokens, stop) = (base.clone(), creds.clone(), &tokens, &stop);
            s.spawn(move || {
                let api = Api::new(&base, None);
                while !stop.load(Ordering::Relaxed) {
                    let request = api
                        .request(reqwest::Method::POST, "/oauth/token")
                        .basic_auth(&creds.client_id, Some(&creds.secret))
                        .form(&[("grant_type", "client_credentials")]);
                    if let Ok(response) = request.send() {
                        let body: serde_json::Value = response.json().unwrap_or_default();
                        if let Some(token) = body["access_token"].as_str() {
                            tokens.lock().unwrap().push(token.to_owned());
                        }
                    }
                }
            });
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while (imported.lock().unwrap().len() < 200 || tokens.lock().unwrap().len() < 50) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        app.kill_and_restart();
        stop.store(true, Ordering::Relaxed);
    });

    let (imported, tokens) = (imported.into_inner().unwrap(), tokens.into_inner().unwrap());
    assert!(imported.len() >= 200 && tokens.len() >= 50, "the load did not get going: {} {}", imported.len(), tokens.len());
    let admin = app.admin();
    for name in &imported {
        let found = admin.get(&format!("/api/v1/namespaces/load/users?q={name}"));
        assert!(found.json["items"].as_array().unwrap().iter().any(|u| u["username"] == name.as_str()), "imported {name} is gone after kill -9");
    }
    // Tokens handed out before the crash verify after it: the keys they were signed with are
    // in the database, as are the grants' audit events.
    for token in tokens.iter().step_by(7) {
        assert_eq!(Api::new(&app.base, None).with_bearer(token).get("/api/v1/namespaces").status, 200);
    }
    let mut grants = 0;
    let mut page_token: Option<String> = None;
    loop {
        let path = match &page_token {
            Some(t) => format!("/api/v1/audit-events?action=oauth.token&actor={}&page_size=200&page_token={t}", creds.id),
            None => format!("/api/v1/audit-events?action=oauth.token&actor={}&page_size=200", creds.id),
        };
        let page = admin.get(&path);
        grants += page.json["items"].as_array().unwrap().iter().filter(|e| e["outcome"] == "success").count();
        match page.json["next_page_token"].as_str() {
            Some(t) => page_token = Some(t.to_owned()),
            None => break,
        }
    }
    assert!(grants >= tokens.len(), "{} grants acknowledged, {grants} audited", tokens.len());
    let verify = gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(verify.code, 0, "{} {}", verify.stdout, verify.stderr);
}
