//! The authorization matrix: every operation of the Management API × every kind of caller.
//!
//! The operations come from the server itself (its OpenAPI document), and the expectation table
//! (`table.rs`) is keyed by "METHOD path": an operation without an entry, an entry without an
//! operation, or a route the server serves but does not document fails the test. Each
//! operation is called with real path parameters and a valid body by
//!
//! - nobody, a wrong secret, a disabled client, a client of a disabled or deleted owner, a
//!   console session cookie without its `X-CSRF-Token` header, and an end user's token that
//!   was granted no scope for the Management API: `401` with `WWW-Authenticate`;
//! - a client without grants, a client holding every other grant (one per needed grant), a
//!   client holding the needed grants for another namespace, an end user's access token and a
//!   console session of an account without grants: `403` naming a missing grant (`404` for a
//!   client the caller may not even read: such clients are invisible), or success where the
//!   operation needs no grant;
//! - a client holding exactly the needed grants: success. Together with the rows above this
//!   shows that each operation's grants are the ones it needs.
//!
//! Every error is `application/problem+json`. Besides, a wrong secret with a malformed body
//! or query is a `401` too: credentials are decided before input is validated.

mod rows;
mod table;

use rows::*;
use table::*;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use reqwest::Method;
use serde_json::{json, Value};

use crate::console::console_sign_in;
use crate::support::browser::Browser;
use crate::support::{Api, ClientCreds, Reply, TestApp, ADMIN_PASSWORD};

const RESOURCES: [&str; 6] = ["namespaces", "users", "permissions", "clients", "audit", "keys"];
const ACTIONS: [&str; 2] = ["read", "write"];
/// The namespace the "wrong namespace" callers hold their grants in.
const OTHER_NAMESPACE: &str = "beta";
const END_USER_PASSWORD: &str = "end user's long password";
const VIEWER_PASSWORD: &str = "console viewer's long password";
/// In a body: the caller's own current password (PUT /me/password).
const OWN_PASSWORD: &str = "<own password>";

/// Management API routes that need no credentials, by design, and other public routes of the
/// server checked here too: each answers an anonymous request.
const PUBLIC: &[&str] = &[
    "GET /api/v1/openapi.json",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /.well-known/openid-configuration",
    "GET /oauth/jwks",
    // OAuth client authentication of its own (RFC 6749): answered with an OAuth error, not a
    // Management API 401.
    "POST /oauth/token",
];

/// Every "METHOD path" of the OpenAPI document.
fn documented(app: &TestApp) -> BTreeSet<String> {
    let doc = app.anonymous().get("/api/v1/openapi.json");
    assert_eq!(doc.status, 200, "{}", doc.text);
    let mut operations = BTreeSet::new();
    for (path, item) in doc.json["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(&method.as_str()) {
                operations.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    operations
}

/// The routes of the server's route table (`gatehouse::http::routes`), as it lists them:
/// (Management API routes, other routes of that table).
fn routed() -> (BTreeSet<String>, BTreeSet<String>) {
    use gatehouse::http::routes::{MANAGEMENT_API, OPERATIONS, UNDOCUMENTED};
    let api = MANAGEMENT_API.iter().chain(UNDOCUMENTED).map(|o| format!("{} /api/v1{}", o.method, o.path)).collect();
    let other = OPERATIONS.iter().map(|o| format!("{} {}", o.method, o.path)).collect();
    (api, other)
}

/// Every `<resource>:<action>@*` except the one of `grant`.
fn all_but(grant: &str) -> Vec<String> {
    let pair = grant.split('@').next().unwrap();
    RESOURCES
        .iter()
        .flat_map(|r| ACTIONS.iter().map(move |a| format!("{r}:{a}")))
        .filter(|p| p != pair)
        .map(|p| format!("{p}@*"))
        .collect()
}

/// The same grants for the other namespace.
fn elsewhere(grants: &[&str]) -> Vec<String> {
    grants.iter().map(|g| format!("{}@{OTHER_NAMESPACE}", g.split('@').next().unwrap())).collect()
}

fn owned(grants: &[&str]) -> Vec<String> {
    grants.iter().map(|g| (*g).to_owned()).collect()
}

/// An account of `namespace` with `grants` (and `password`, if any); its id.
fn account(app: &TestApp, namespace: &str, username: &str, grants: &[&str], password: Option<&str>) -> String {
    let mut body = json!({ "username": username });
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    let r = app.admin().post(&format!("/api/v1/namespaces/{namespace}/users"), &body);
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_owned();
    if !grants.is_empty() {
        app.set_grants(namespace, &id, grants);
    }
    id
}

#[test]
fn every_operation_answers_every_kind_of_caller_as_the_contract_says() {
    let started = std::time::Instant::now();
    // Wrong secrets come from many addresses (X-Forwarded-For): see `Who::WrongSecret`.
    let app = TestApp::start_with(&["--trust-forwarded-for"]);
    let table = operations();

    // ---- the table covers exactly what the server routes and documents
    let documented = documented(&app);
    let keys: BTreeSet<String> = table.iter().map(|o| o.key.to_owned()).collect();
    assert_eq!(keys.len(), table.len(), "an operation is in the table twice");
    let missing: Vec<&String> = documented.difference(&keys).collect();
    assert!(missing.is_empty(), "operations of the OpenAPI document without an expectation in the matrix: {missing:?}");
    let stale: Vec<&String> = keys.difference(&documented).collect();
    assert!(stale.is_empty(), "expectations for operations the OpenAPI document does not have: {stale:?}");
    let (routed_api, routed_other) = routed();
    let public: BTreeSet<String> = PUBLIC.iter().map(|p| (*p).to_owned()).collect();
    let expected_api: BTreeSet<String> =
        documented.iter().cloned().chain(public.iter().filter(|p| p.contains(" /api/v1/")).cloned()).collect();
    assert_eq!(routed_api, expected_api, "the routed Management API is the documented one plus the public routes");
    let unlisted: Vec<&String> = routed_other.difference(&public).collect();
    assert!(
        unlisted.is_empty(),
        "routes of the route table that are neither Management API nor listed as public: {unlisted:?}"
    );

    // ---- fixtures
    for ns in ["alpha", OTHER_NAMESPACE, "doomed"] {
        app.create_namespace(ns);
    }
    let mut fixtures: BTreeMap<&str, String> = BTreeMap::new();
    fixtures.insert("alpha", "alpha".into());
    fixtures.insert("doomed", "doomed".into());
    // No account of the matrix has a second factor: this id names none.
    fixtures.insert("factor", "01939a7e-0000-7000-8000-000000000000".into());
    fixtures.insert("user", account(&app, "alpha", "target", &[], None));
    fixtures.insert("victim", account(&app, "alpha", "victim", &[], None));
    let member = account(&app, "alpha", "member", &[], None);
    for name in ["group", "doomed-group"] {
        fixtures.insert(name, app.create_group("alpha", name, &[]));
    }
    app.add_member("alpha", &fixtures["group"], &member);
    fixtures.insert("member", member);
    account(&app, "alpha", "end-user", &[], Some(END_USER_PASSWORD));
    account(&app, "system", "viewer", &[], Some(VIEWER_PASSWORD));
    // The owner of the clients operated on lives in `alpha`: grants over them are `@alpha`.
    let alpha_owner = account(&app, "alpha", "alpha-owner", &[], None);
    // The callers' clients are owned by a superuser: their grants are their effective ones.
    let boss = account(&app, "system", "boss", &["*:*@*"], None);
    let departed = account(&app, "system", "departed", &["*:*@*"], None);
    let deleted = account(&app, "system", "deleted", &["*:*@*"], None);

    // One client per distinct grant set a caller needs: exactly the grants, every other grant,
    // the grants in the other namespace, none.
    let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut wanted_owner: BTreeMap<String, String> = BTreeMap::new();
    wanted.insert("none".into(), vec![]);
    for operation in &table {
        if let Access::Grants(grants) = operation.access {
            wanted.insert(format!("exactly {grants:?}"), owned(grants));
            wanted.insert(format!("elsewhere {grants:?}"), elsewhere(grants));
            for g in grants {
                wanted.insert(format!("all but {g}"), all_but(g));
            }
        }
    }
    wanted.insert("disabled".into(), vec!["*:*@*".into()]);
    wanted.insert("departed".into(), vec!["*:*@*".into()]);
    wanted_owner.insert("departed".into(), departed.clone());
    wanted.insert("orphan".into(), vec!["*:*@*".into()]);
    wanted_owner.insert("orphan".into(), deleted.clone());
    wanted.insert("target".into(), vec![]);
    wanted_owner.insert("target".into(), alpha_owner.clone());
    wanted.insert("doomed-client".into(), vec![]);
    wanted_owner.insert("doomed-client".into(), alpha_owner.clone());
    let wanted: Vec<(String, Vec<String>)> = wanted.into_iter().collect();
    let clients: BTreeMap<String, ClientCreds> = {
        let made = Mutex::new(BTreeMap::new());
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((label, grants)) = wanted.get(i) else { break };
                    let owner = wanted_owner.get(label).unwrap_or(&boss);
                    let r = app.admin().post(
                        "/api/v1/clients",
                        &json!({ "name": label, "permissions": grants, "owner_account_id": owner }),
                    );
                    assert_eq!(r.status, 201, "{label}: {}", r.text);
                    made.lock().unwrap().insert(label.clone(), crate::support::creds_of(&r.json));
                });
            }
        });
        made.into_inner().unwrap()
    };
    let client = |label: &str| clients.get(label).unwrap_or_else(|| panic!("no client {label}"));
    fixtures.insert("client", client("target").id.clone());
    fixtures.insert("doomed-client", client("doomed-client").id.clone());

    // Disabled: the client itself, and the owner of another; deleted: the owner of a third.
    // All of them worked before.
    for label in ["disabled", "departed", "orphan"] {
        assert_eq!(app.as_client(client(label)).get("/api/v1/me").status, 200, "{label} works before it is disabled");
    }
    let r = app.admin().patch(&format!("/api/v1/clients/{}", client("disabled").id), &json!({ "disabled": true }));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.admin().patch(&format!("/api/v1/namespaces/system/users/{departed}"), &json!({ "disabled": true }));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.admin().delete(&format!("/api/v1/namespaces/system/users/{deleted}"));
    assert_eq!(r.status, 204, "{}", r.text);

    // An end user's access token from the token endpoint (password grant of a sign-in app).
    let login_app = app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "sign-in app", "password_grant_enabled": true, "user_namespace": "alpha" }),
    );
    assert_eq!(login_app.status, 201, "{}", login_app.text);
    let login_app = crate::support::creds_of(&login_app.json);
    fixtures.insert("app", login_app.client_id.clone());
    for name in ["stream", "doomed-stream"] {
        let body = json!({ "name": name, "url": "https://siem.example.com/in" });
        let stream = app.admin().post("/api/v1/log-streams", &body);
        assert_eq!(stream.status, 201, "{}", stream.text);
        fixtures.insert(name, stream.json["id"].as_str().unwrap().to_owned());
    }
    let anon = app.anonymous();
    let token = anon.send(
        anon.request(Method::POST, "/oauth/token").basic_auth(&login_app.client_id, Some(&login_app.secret)).form(&[
            ("grant_type", "password"),
            ("username", "end-user"),
            ("password", END_USER_PASSWORD),
            ("scope", "account"),
        ]),
    );
    assert_eq!(token.status, 200, "{}", token.text);
    let token = token.json["access_token"].as_str().expect("an access token").to_owned();
    // The same end user's token asked for without a scope for the Management API: it is for the
    // application alone (its audience), and the Management API does not take it.
    let app_token = anon.send(
        anon.request(Method::POST, "/oauth/token").basic_auth(&login_app.client_id, Some(&login_app.secret)).form(&[
            ("grant_type", "password"),
            ("username", "end-user"),
            ("password", END_USER_PASSWORD),
            ("scope", "openid"),
        ]),
    );
    assert_eq!(app_token.status, 200, "{}", app_token.text);
    let app_token = app_token.json["access_token"].as_str().expect("an access token").to_owned();

    // Console sessions: the administrator's (sent without its CSRF header) and one of an
    // account without grants (sent with it).
    let (admin_console, _admin_csrf) = console_sign_in(&app, "admin", ADMIN_PASSWORD);
    let (viewer_console, viewer_csrf) = console_sign_in(&app, "viewer", VIEWER_PASSWORD);
    let setup_done = started.elapsed();

    // ---- the rows
    // Wrong secrets: each of a pool of real clients is used at most three times, below the
    // per-client lock-out threshold (five).
    let pool: Vec<&ClientCreds> = wanted
        .iter()
        .filter(|(l, _)| l.starts_with("exactly") || l.starts_with("all but") || l.starts_with("elsewhere"))
        .map(|(l, _)| client(l))
        .collect();
    let wrong_count = AtomicUsize::new(0);
    let wrong = || {
        let n = wrong_count.fetch_add(1, Ordering::SeqCst);
        assert!(n < pool.len() * 3, "too few clients for the wrong-secret rows");
        Who::WrongSecret(pool[n % pool.len()], n)
    };
    let superuser = &app.admin_client;
    let mut safe_rows = Vec::new();
    let mut change_rows = Vec::new();
    let mut callers: BTreeSet<String> = BTreeSet::new();
    for operation in &table {
        let mut path = operation.template().to_owned();
        for (placeholder, fixture) in operation.at {
            path = path.replace(&format!("{{{placeholder}}}"), &fixtures[fixture]);
        }
        assert!(!path.contains('{'), "{}: a path parameter without a fixture", operation.key);
        let payload = |own_password: Option<&str>| match operation.body {
            None => Payload::None,
            Some(text) => {
                let text = text.replace(OWN_PASSWORD, own_password.unwrap_or("not an account's password"));
                Payload::Json(serde_json::from_str(&text).expect("a body of the table"))
            }
        };
        let needed: Vec<String> = match operation.access {
            Access::Grants(g) => owned(g),
            _ => vec![],
        };
        // A refusal for a caller holding `holds`: 404 when it may not see the target at all.
        let refusal = |holds: &[String]| -> u16 {
            match operation.hidden_without {
                Some(read)
                    if !holds.iter().any(|g| g == read || g == &format!("{}@*", read.split('@').next().unwrap())) =>
                {
                    404
                }
                _ => 403,
            }
        };
        let mut add = |caller: &str, who, expect: u16, missing: Vec<String>, own_password: Option<&str>| {
            callers.insert(caller.split(" (").next().unwrap().to_owned());
            let row = Row {
                operation: operation.key.to_owned(),
                caller: caller.to_owned(),
                who,
                method: operation.method(),
                path: path.clone(),
                payload: payload(own_password),
                expect,
                missing,
                header: None,
            };
            // Successful changes go last, one at a time, after every refusal was checked
            // against the unchanged fixtures.
            if (200..300).contains(&expect) && operation.is_change() {
                change_rows.push(row);
            } else {
                safe_rows.push(row);
            }
        };

        add("no credentials", Who::Anonymous, 401, vec![], None);
        add("wrong secret", wrong(), 401, vec![], None);
        add("disabled client (*:*@*)", Who::Client(client("disabled")), 401, vec![], None);
        add("client of a disabled owner (*:*@*)", Who::Client(client("departed")), 401, vec![], None);
        add("client of a deleted owner (*:*@*)", Who::Client(client("orphan")), 401, vec![], None);
        add(
            "console session without X-CSRF-Token (admin)",
            Who::Console { browser: &admin_console, csrf: None },
            401,
            vec![],
            None,
        );
        add("end user's token for its application alone", Who::Bearer(&app_token), 401, vec![], None);
        let viewer = Who::Console { browser: &viewer_console, csrf: Some(&viewer_csrf) };
        match operation.access {
            Access::Authenticated => {
                add("client without grants", Who::Client(client("none")), operation.success, vec![], None);
                add("end user's access token", Who::Bearer(&token), operation.success, vec![], None);
                add("console session of an account without grants", viewer, operation.success, vec![], None);
            }
            Access::OwnAccount => {
                add("client without grants", Who::Client(client("none")), 403, vec![], None);
                add("client with *:*@*", Who::Client(superuser), 403, vec![], None);
                add("end user's access token", Who::Bearer(&token), operation.success, vec![], Some(END_USER_PASSWORD));
                add(
                    "console session of an account without grants",
                    viewer,
                    operation.success,
                    vec![],
                    Some(VIEWER_PASSWORD),
                );
            }
            Access::Grants(grants) => {
                add("client without grants", Who::Client(client("none")), refusal(&[]), needed.clone(), None);
                add("end user's access token", Who::Bearer(&token), refusal(&[]), needed.clone(), None);
                add("console session of an account without grants", viewer, refusal(&[]), needed.clone(), None);
                for g in grants {
                    let holds = all_but(g);
                    add(
                        &format!("client with every other grant (all but {g})"),
                        Who::Client(client(&format!("all but {g}"))),
                        refusal(&holds),
                        vec![(*g).to_owned()],
                        None,
                    );
                }
                let other = elsewhere(grants);
                let other_expect = if operation.any_namespace { operation.success } else { refusal(&other) };
                add(
                    &format!("client with the grants in another namespace ({other:?})"),
                    Who::Client(client(&format!("elsewhere {grants:?}"))),
                    other_expect,
                    needed.clone(),
                    None,
                );
                add(
                    &format!("client with exactly the needed grants ({grants:?})"),
                    Who::Client(client(&format!("exactly {grants:?}"))),
                    operation.success,
                    vec![],
                    None,
                );
            }
        }
    }
    let matrix_rows = safe_rows.len() + change_rows.len();

    // A wrong secret with a malformed body or query is a 401 as well; the same requests with a
    // good secret are the 4xx they deserve, so the input really is bad.
    let user_list = "/api/v1/namespaces/alpha/users?page_size=0".to_owned();
    let secrets = format!("/api/v1/clients/{}/secrets", fixtures["client"]);
    let namespace = || Payload::Json(json!({ "slug": "never-created", "display_name": "Never" }));
    type Malformed<'a> = (Method, String, Payload, Option<(&'static str, &'static str)>, u16, &'a str);
    let malformed: Vec<Malformed> = vec![
        (
            Method::POST,
            "/api/v1/namespaces".into(),
            Payload::Json(json!({ "slug": 42 })),
            None,
            400,
            "a field of the wrong type",
        ),
        (
            Method::POST,
            "/api/v1/namespaces".into(),
            Payload::Raw { content_type: "text/plain", text: "slug=x" },
            None,
            415,
            "a wrong content type",
        ),
        (
            Method::POST,
            "/api/v1/namespaces".into(),
            namespace(),
            Some(("idempotency-key", "not a key")),
            400,
            "a malformed Idempotency-Key",
        ),
        (
            Method::POST,
            "/api/v1/namespaces/alpha/users".into(),
            Payload::Raw { content_type: "application/json", text: "{not json" },
            None,
            400,
            "broken JSON",
        ),
        (
            Method::POST,
            "/api/v1/clients".into(),
            Payload::Json(json!({ "permissions": ["root"] })),
            None,
            400,
            "a missing field and a bad grant",
        ),
        (
            Method::POST,
            secrets.clone(),
            Payload::Json(json!({ "previous_secret_expires_in": -1 })),
            None,
            400,
            "an optional body out of range",
        ),
        (
            Method::PUT,
            "/api/v1/me/password".into(),
            Payload::Json(json!({ "current_password": "" })),
            None,
            400,
            "a missing field",
        ),
        (Method::GET, user_list, Payload::None, None, 400, "a query out of range"),
        (
            Method::GET,
            "/api/v1/namespaces/alpha/users/not-a-uuid".into(),
            Payload::None,
            None,
            400,
            "a path id that is not a UUID",
        ),
        (Method::DELETE, "/api/v1/clients/not-a-uuid".into(), Payload::None, None, 400, "a path id that is not a UUID"),
        (
            Method::PATCH,
            "/api/v1/namespaces/alpha".into(),
            Payload::Json(json!({ "display_name": "Alpha" })),
            Some(("if-match", "\"é\"")),
            400,
            "a malformed If-Match",
        ),
    ];
    let mut input_rows = Vec::new();
    for (method, path, payload, header, bad, what) in malformed {
        let (payload, again) = match payload {
            Payload::Json(v) => (Payload::Json(v.clone()), Payload::Json(v)),
            Payload::Raw { content_type, text } => {
                (Payload::Raw { content_type, text }, Payload::Raw { content_type, text })
            }
            Payload::None => (Payload::None, Payload::None),
        };
        let operation = format!("{method} {path} with {what}");
        input_rows.push(Row {
            operation: operation.clone(),
            caller: "wrong secret".into(),
            who: wrong(),
            method: method.clone(),
            path: path.clone(),
            payload,
            expect: 401,
            missing: vec![],
            header,
        });
        input_rows.push(Row {
            operation,
            caller: "client with *:*@*".into(),
            who: Who::Client(superuser),
            method,
            path,
            payload: again,
            expect: bad,
            missing: vec![],
            header,
        });
    }
    // No credentials with a malformed body: a 401 as well.
    input_rows.push(Row {
        operation: "POST /api/v1/namespaces with broken JSON".into(),
        caller: "no credentials".into(),
        who: Who::Anonymous,
        method: Method::POST,
        path: "/api/v1/namespaces".into(),
        payload: Payload::Raw { content_type: "application/json", text: "{" },
        expect: 401,
        missing: vec![],
        header: None,
    });

    // Methods a documented path does not have: 405 problems (the server routes nothing else there).
    let mut paths: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for operation in &table {
        paths.entry(operation.template()).or_default().insert(operation.method().to_string());
    }
    for (template, methods) in &paths {
        let sample = table.iter().find(|o| o.template() == *template).unwrap();
        let mut path = template.to_string();
        for (placeholder, fixture) in sample.at {
            path = path.replace(&format!("{{{placeholder}}}"), &fixtures[fixture]);
        }
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            if !methods.contains(method.as_str()) {
                input_rows.push(Row {
                    operation: format!("{method} {template} (undocumented)"),
                    caller: "client with *:*@*".into(),
                    who: Who::Client(superuser),
                    method,
                    path: path.clone(),
                    payload: Payload::None,
                    expect: 405,
                    missing: vec![],
                    header: None,
                });
            }
        }
    }

    let mut failures = run_rows(&app, &safe_rows, 6);
    failures.extend(run_rows(&app, &input_rows, 6));
    // PUT /me/password last: it changes what the others sign in with.
    change_rows.sort_by_key(|r| r.operation.contains("/me/password"));
    failures.extend(run_rows(&app, &change_rows, 1));

    failures.extend(public_routes_answer_anonymously(&app));
    failures.extend(refused_input_is_on_record(&app, &input_rows, superuser));

    eprintln!(
        "authorization matrix: {} operations × {} kinds of caller = {matrix_rows} rows ({} refusals and reads, {} successful changes); \
         {} rows on input before credentials and undocumented methods; setup {:.1?}, total {:.1?}",
        table.len(),
        callers.len(),
        safe_rows.len(),
        change_rows.len(),
        input_rows.len(),
        setup_done,
        started.elapsed(),
    );
    eprintln!("kinds of caller: {callers:?}");
    assert!(failures.is_empty(), "{} of the matrix's rows failed:\n{}", failures.len(), failures.join("\n"));
}
