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
