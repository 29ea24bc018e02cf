//! OpenID Connect Back-Channel Logout 1.0: when a sign-in session ends, each client that got
//! tokens in it and has a `backchannel_logout_uri` receives a logout token, delivered through
//! the outbox with retries. A small receiver here takes them; `jose` (npm, through
//! tests/openid-client/rp.mjs) verifies them against the server's JWKS; the `sid` must be the
//! one openid-client read from the ID token.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::oauth::{provider, ALICE_PASSWORD, REDIRECT};
use crate::openid_client::Rp;
use crate::support::browser::Browser;
use crate::support::{creds_of, eventually, ClientCreds, TestApp};

/// Whether the receiver accepts, and every token it got with the status it answered.
type Received = Arc<Mutex<(bool, Vec<(String, u16)>)>>;

/// Receives logout tokens: answers 200 while `accept`, 500 otherwise; records every token.
#[derive(Clone)]
struct Receiver {
    url: String,
    state: Received,
}

impl Receiver {
    fn start(accept: bool) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/backchannel-logout", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new((accept, Vec::new())));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let request = read_request(&mut stream);
                let mut state = shared.lock().unwrap();
                let status = if state.0 { 200 } else { 500 };
                let form_post =
                    request.0.to_ascii_lowercase().contains("content-type: application/x-www-form-urlencoded");
                let token = url::form_urlencoded::parse(request.1.as_bytes())
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.into_owned());
                if let (true, Some(token)) = (form_post, token) {
                    state.1.push((token, status));
                }
                let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        Receiver { url, state }
    }

    fn accept(&self, accept: bool) {
        self.state.lock().unwrap().0 = accept;
    }

    /// The tokens answered with `status`.
    fn tokens(&self, status: u16) -> Vec<String> {
        self.state.lock().unwrap().1.iter().filter(|(_, s)| *s == status).map(|(t, _)| t.clone()).collect()
    }
}

/// The head and body of one HTTP request.
fn read_request(stream: &mut std::net::TcpStream) -> (String, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            while data.len() < end + 4 + length {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
            }
            let body = String::from_utf8_lossy(&data[end + 4..]).to_string();
            return (head, body);
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return (String::from_utf8_lossy(&data).to_string(), String::new()),
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// A confidential web app that takes logout tokens at `uri`.
fn relying_party(app: &TestApp, uri: &str) -> ClientCreds {
    let created = app.admin().post(
        "/api/v1/clients",
        &json!({
            "name": "Shop with logout",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [REDIRECT],
            "user_namespace": "customers",
            "skip_consent": true,
            "backchannel_logout_uri": uri,
            "backchannel_logout_session_required": true
        }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["backchannel_logout_uri"], json!(uri));
    assert_eq!(created.json["backchannel_logout_session_required"], json!(true));
    creds_of(&created.json)
}

/// Signs alice in through openid-client's code flow; its validated tokens.
fn sign_in(rp: &mut Rp, browser: &Browser) -> Value {
    let callback = rp.sign_in(browser, "openid profile", "alice", ALICE_PASSWORD);
    rp.ok(json!({ "op": "code_grant", "callback_url": callback }))
}

fn deliveries(app: &TestApp) -> Vec<Value> {
    let listed = app.admin().get("/api/v1/audit-events?action=oauth.backchannel_logout");
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.json["items"].as_array().unwrap().clone()
}

#[test]
fn rp_initiated_logout_sends_a_logout_token_that_jose_verifies() {
    let p = provider(&[]);
    let receiver = Receiver::start(true);
    let shop = relying_party(&p.app, &receiver.url);
    let mut rp = Rp::start();
    let discovered =
        rp.configure(&p.app, &shop.client_id, json!({ "client_secret": shop.secret, "auth": "client_secret_basic" }));
    assert_eq!(discovered["backchannel_logout_supported"], json!(true));
    assert_eq!(discovered["backchannel_logout_session_supported"], json!(true));
    assert_eq!(discovered["frontchannel_logout_supported"], json!(false));
    let browser = Browser::new(&p.app.base);
    let tokens = sign_in(&mut rp, &browser);
    let sid = tokens["claims"]["sid"].as_str().expect("the ID token carries sid").to_owned();

    // Another client that got no tokens in this session hears nothing.
    let bystander = Receiver::start(true);
    relying_party(&p.app, &bystander.url);

    let logout = rp.ok(json!({ "op": "end_session_url", "id_token_hint": tokens["id_token"] }));
    let answer = browser.get(logout["url"].as_str().unwrap());
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(eventually(Duration::from_secs(20), || !receiver.tokens(200).is_empty()), "no logout token arrived");
    let token = receiver.tokens(200).remove(0);
    let verified = rp.ok(json!({ "op": "verify_logout_token", "token": token, "audience": shop.client_id }));
    assert_eq!(verified["payload"]["sid"], json!(sid), "{verified}");
    assert_eq!(verified["payload"]["sub"], json!(p.alice));
    assert_eq!(verified["header"]["typ"], json!("logout+jwt"));
    // Not addressed to another client: jose refuses it for another audience.
    let refused = rp.call(json!({ "op": "verify_logout_token", "token": token, "audience": p.web.client_id }));
    assert!(refused.is_err(), "{refused:?}");

    let on_record = deliveries(&p.app);
    assert!(
        on_record.iter().any(|e| e["outcome"] == json!("success") && e["target"]["id"] == json!(shop.id)),
        "{on_record:#?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(bystander.tokens(200).is_empty() && bystander.tokens(500).is_empty(), "the bystander heard nothing");
    assert_eq!(receiver.tokens(200).len(), 1, "one session, one token");
}

/// The claims of a JWT, unverified (jose verifies the first tokens; these only say which session).
fn payload_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn told_about(receiver: &Receiver, sid: &str) -> bool {
    receiver.tokens(200).iter().any(|t| payload_of(t)["sid"] == json!(sid))
}

#[test]
fn sessions_ended_by_an_administrator_are_told_with_retries_across_a_restart() {
    let mut p = provider(&[]);
    let receiver = Receiver::start(false);
    let shop = relying_party(&p.app, &receiver.url);
    let mut rp = Rp::discover(&p.app, &shop.client_id, Some(&shop.secret), "client_secret_basic");
    let browser = Browser::new(&p.app.base);
    let sid = sign_in(&mut rp, &browser)["claims"]["sid"].as_str().unwrap().to_owned();

    // An administrator sets alice's password: her sessions end; the receiver is failing.
    let reset = p.app.admin().put(
        &format!("/api/v1/namespaces/customers/users/{}/password", p.alice),
        &json!({ "password": "a brand new long password" }),
    );
    assert_eq!(reset.status, 204, "{}", reset.text);
    assert!(eventually(Duration::from_secs(20), || !receiver.tokens(500).is_empty()), "no attempt");
    assert!(
        eventually(Duration::from_secs(10), || deliveries(&p.app).iter().any(|e| e["outcome"] == json!("failure"))),
        "the failed attempt is on record"
    );
    // Retried until the receiver answers.
    receiver.accept(true);
    assert!(eventually(Duration::from_secs(30), || told_about(&receiver, &sid)), "never delivered");
    let token = receiver.tokens(200).remove(0);
    let verified = rp.ok(json!({ "op": "verify_logout_token", "token": token, "audience": shop.client_id }));
    assert_eq!(verified["payload"]["sid"], json!(sid));
    assert_eq!(verified["payload"]["sub"], json!(p.alice));

    // A new session, then the account is disabled: that ends it too.
    let password = "a brand new long password";
    let callback = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid" }));
    let browser = Browser::new(&p.app.base);
    let answer = browser.sign_in(callback["url"].as_str().unwrap(), "alice", password);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": crate::support::browser::location(&answer) }));
    let sid = tokens["claims"]["sid"].as_str().unwrap().to_owned();
    let alice = format!("/api/v1/namespaces/customers/users/{}", p.alice);
    let disabled = p.app.admin().patch(&alice, &json!({ "disabled": true }));
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert!(eventually(Duration::from_secs(20), || told_about(&receiver, &sid)), "disabling did not end the session");

    // One more session; it ends while the receiver fails, and the server is killed before it
    // is delivered: the restarted server delivers it.
    assert_eq!(p.app.admin().patch(&alice, &json!({ "disabled": false })).status, 200);
    let callback = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid" }));
    let browser = Browser::new(&p.app.base);
    let answer = browser.sign_in(callback["url"].as_str().unwrap(), "alice", password);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": crate::support::browser::location(&answer) }));
    let sid = tokens["claims"]["sid"].as_str().unwrap().to_owned();
    receiver.accept(false);
    let failed_before = receiver.tokens(500).len();
    let reset = p.app.admin().put(&format!("{alice}/password"), &json!({ "password": "yet another long password" }));
    assert_eq!(reset.status, 204, "{}", reset.text);
    assert!(eventually(Duration::from_secs(20), || receiver.tokens(500).len() > failed_before), "no attempt");
    // Killed once the failed attempt is recorded (a process killed in the middle of a send
    // leaves its claim, which lapses after a minute).
    let waiting = "SELECT COUNT(*) AS n FROM outbox WHERE channel = 'backchannel_logout' AND sent_at IS NULL \
                   AND claimed_until IS NULL AND attempts > 0";
    assert!(eventually(Duration::from_secs(10), || p.app.db.number(waiting) == 1), "the retry is not scheduled");
    p.app.kill_and_restart();
    receiver.accept(true);
    assert!(eventually(Duration::from_secs(40), || told_about(&receiver, &sid)), "lost across the restart");
}

#[test]
fn backchannel_logout_uri_follows_the_rules_of_server_called_urls() {
    let p = provider(&[]);
    let refused = p
        .app
        .admin()
        .post("/api/v1/clients", &json!({ "name": "x", "backchannel_logout_uri": "http://rp.example/logout" }));
    refused.assert_problem(400);
    assert!(refused.error_fields().contains(&"backchannel_logout_uri".to_owned()), "{}", refused.text);
    let created = p
        .app
        .admin()
        .post("/api/v1/clients", &json!({ "name": "x", "backchannel_logout_uri": "https://rp.example/logout" }));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["backchannel_logout_session_required"], json!(false));
    let id = created.json["id"].as_str().unwrap();
    let bad = p.app.admin().patch(&format!("/api/v1/clients/{id}"), &json!({ "backchannel_logout_uri": "ftp://x/" }));
    bad.assert_problem(400);
    let cleared = p.app.admin().patch(&format!("/api/v1/clients/{id}"), &json!({ "backchannel_logout_uri": null }));
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(cleared.json["backchannel_logout_uri"], json!(null));

    // Its owner, without clients:write, cannot re-point it.
    let (_, owned) = p.app.owner_with_client("owner", &["users:read@customers"], &["users:read@customers"]);
    let as_owner = p.app.as_client(&owned);
    let moved = as_owner.patch(
        &format!("/api/v1/clients/{}", owned.id),
        &json!({ "backchannel_logout_uri": "https://attacker.example/logout" }),
    );
    assert_eq!(moved.status, 403, "{}", moved.text);
}
