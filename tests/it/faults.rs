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
                    let request = api
                        .request(reqwest::Method::POST, "/api/v1/namespaces/load/users")
                        .json(&json!({ "username": username }));
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
                    let request =
                        api.request(reqwest::Method::POST, "/api/v1/namespaces/load/users:import").json(&rows);
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
        while (imported.lock().unwrap().len() < 200 || tokens.lock().unwrap().len() < 50)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        app.kill_and_restart();
        stop.store(true, Ordering::Relaxed);
    });

    let (imported, tokens) = (imported.into_inner().unwrap(), tokens.into_inner().unwrap());
    assert!(
        imported.len() >= 200 && tokens.len() >= 50,
        "the load did not get going: {} {}",
        imported.len(),
        tokens.len()
    );
    let admin = app.admin();
    for name in &imported {
        let found = admin.get(&format!("/api/v1/namespaces/load/users?q={name}"));
        assert!(
            found.json["items"].as_array().unwrap().iter().any(|u| u["username"] == name.as_str()),
            "imported {name} is gone after kill -9"
        );
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
            Some(t) => {
                format!("/api/v1/audit-events?action=oauth.token&actor={}&page_size=200&page_token={t}", creds.id)
            }
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

/// Registrations while the mail server is down are answered and their codes queued; the queue
/// survives a kill -9 of the server, and every code is delivered, once, when SMTP is back.
#[test]
fn registrations_while_smtp_is_down_are_delivered_once_it_returns_even_across_a_crash() {
    use crate::oauth::{provider, rp, start_url};
    use crate::support::browser::{hidden, Browser};
    use crate::support::mail::SmtpSink;

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut p = provider(&["--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    let client = rp(&p.app, &p.web);
    let emails: Vec<String> = (0..6).map(|i| format!("user{i}@example.com")).collect();
    let mut pending = Vec::new();
    for email in &emails {
        let browser = Browser::new(&p.app.base);
        let (url, _, _) = start_url(&client);
        let request = hidden(&browser.get(&url).text, "request").unwrap();
        let form = browser.get(&format!("/oauth/register?request={request}"));
        let verify =
            browser.submit(&form, "/oauth/register", &[("email", email), ("password", "a long enough password")]);
        assert_eq!(verify.status, 200, "registration answered while SMTP is down: {}", verify.text);
        assert!(verify.text.contains("email_code"));
        pending.push((browser, verify));
    }
    // The server tries, fails, and dies before the mail server comes back.
    std::thread::sleep(Duration::from_secs(1));
    p.app.kill_and_restart();

    let smtp = SmtpSink::start_on(port);
    for ((browser, verify), email) in pending.iter_mut().zip(&emails) {
        let code = smtp.code_for(email);
        // The page was served by the process that died; its form posts to the new one (cookies
        // do not depend on the port).
        browser.base = p.app.base.clone();
        let done = browser.submit(verify, "/oauth/verify", &[("email_code", &code)]);
        assert_eq!(done.status, 303, "{email}: {}", done.text);
    }
    std::thread::sleep(Duration::from_secs(2));
    for email in &emails {
        let copies = smtp.messages().iter().filter(|m| m.contains(email.as_str())).count();
        assert_eq!(copies, 1, "{email} got {copies} messages");
    }
    let users = p.app.admin().get("/api/v1/namespaces/customers/users?page_size=100");
    assert_eq!(users.json["items"].as_array().unwrap().len(), 1 + emails.len(), "{}", users.text);
}

/// SIGTERM under load: requests the server has accepted finish with their answer, nothing it
/// acknowledged is lost, no answer is a 5xx, and the process exits 0.
#[test]
fn sigterm_under_load_finishes_in_flight_requests() {
    let mut app = TestApp::start();
    app.create_namespace("load");
    let creds = app.create_client(&app.admin_account_id, &["users:*@load"]);
    let base = app.base.clone();
    let acknowledged = Mutex::new(Vec::<(String, String)>::new());
    let answered_after_sigterm = std::sync::atomic::AtomicUsize::new(0);
    let failures = Mutex::new(Vec::<String>::new());
    let terminated = AtomicBool::new(false);
    let code = std::thread::scope(|s| {
        for worker in 0..8 {
            let (base, creds, acknowledged, answered_after_sigterm, failures, terminated) =
                (&base, &creds, &acknowledged, &answered_after_sigterm, &failures, &terminated);
            s.spawn(move || {
                // A connection per request: a request is either accepted by the server or refused.
                let http = reqwest::blocking::Client::builder()
                    .pool_max_idle_per_host(0)
                    .timeout(Duration::from_secs(60))
                    .build()
                    .unwrap();
                for i in 0.. {
                    let username = format!("w{worker}-{i}");
                    // Each creation hashes a password: a request that takes a while.
                    let sent_before_sigterm = !terminated.load(Ordering::SeqCst);
                    let response = http
                        .post(format!("{base}/api/v1/namespaces/load/users"))
                        .basic_auth(&creds.client_id, Some(&creds.secret))
                        .json(&json!({ "username": username, "password": "a long enough password" }))
                        .send();
                    let after = terminated.load(Ordering::SeqCst);
                    match response {
                        Ok(r) if r.status().as_u16() == 201 => {
                            let body: serde_json::Value = r.json().unwrap();
                            acknowledged.lock().unwrap().push((username, body["id"].as_str().unwrap().to_owned()));
                            if sent_before_sigterm && after {
                                answered_after_sigterm.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Ok(r) => failures.lock().unwrap().push(format!("{username}: {}", r.status())),
                        // Refused or reset: the server had not accepted it (it stopped listening).
                        Err(_) if after => return,
                        Err(e) => failures.lock().unwrap().push(format!("{username}: {e}")),
                    }
                    if after {
                        return;
                    }
                }
            });
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while acknowledged.lock().unwrap().len() < 24 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        terminated.store(true, Ordering::SeqCst);
        app.terminate()
    });
    assert_eq!(code, Some(0), "{}", app.log());
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "answers other than 201 under load: {failures:?}");
    let finished = answered_after_sigterm.load(Ordering::SeqCst);
    assert!(finished > 0, "no request was in flight when SIGTERM came");
    println!("SIGTERM: {finished} in-flight creations finished after the signal");

    app.kill_and_restart();
    let admin = app.admin();
    for (username, id) in acknowledged.into_inner().unwrap() {
        let user = admin.get(&format!("/api/v1/namespaces/load/users/{id}"));
        assert_eq!(user.status, 200, "acknowledged {username} is gone after a graceful stop");
    }
    let verify = gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(verify.code, 0, "{} {}", verify.stdout, verify.stderr);
}
