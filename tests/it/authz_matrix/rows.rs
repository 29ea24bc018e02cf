//! Rows of the matrix (an operation called by one kind of caller), how they are sent and
//! judged, and the checks that close the run.

use super::*;

/// How a row's request is authenticated.
#[derive(Clone, Copy)]
pub(super) enum Who<'a> {
    Anonymous,
    Client(&'a ClientCreds),
    /// A real client id with a wrong secret, from its own address (so that the per-address
    /// brute-force lock, which the matrix would trip, stays out of the picture).
    WrongSecret(&'a ClientCreds, usize),
    Bearer(&'a str),
    Console {
        browser: &'a Browser,
        csrf: Option<&'a str>,
    },
}

pub(super) enum Payload {
    None,
    Json(Value),
    Raw { content_type: &'static str, text: &'static str },
}

pub(super) struct Row<'a> {
    pub(super) operation: String,
    pub(super) caller: String,
    pub(super) who: Who<'a>,
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) payload: Payload,
    pub(super) expect: u16,
    /// For a 403: the grants the problem may name as missing (any, when empty).
    pub(super) missing: Vec<String>,
    pub(super) header: Option<(&'static str, &'static str)>,
}

pub(super) fn send(app: &TestApp, row: &Row) -> Reply {
    let api = match row.who {
        Who::Anonymous | Who::Console { .. } => app.anonymous(),
        Who::Client(creds) => app.as_client(creds),
        Who::WrongSecret(creds, _) => {
            Api::new(&app.base, Some((creds.client_id.clone(), "not-the-secret-1234".into())))
        }
        Who::Bearer(token) => app.anonymous().with_bearer(token),
    };
    if let Who::Console { browser, csrf } = row.who {
        let headers: Vec<(&str, &str)> = csrf.map(|c| ("X-CSRF-Token", c)).into_iter().collect();
        let body = match &row.payload {
            Payload::None => None,
            Payload::Json(v) => Some(v),
            Payload::Raw { .. } => panic!("raw bodies are not sent by the console"),
        };
        return browser.request(row.method.as_str(), &row.path, &headers, body);
    }
    let mut builder = api.request(row.method.clone(), &row.path);
    if let Who::WrongSecret(_, n) = row.who {
        builder = builder.header("x-forwarded-for", address(n));
    }
    if let Some((name, value)) = row.header {
        builder = builder.header(name, value);
    }
    builder = match &row.payload {
        Payload::None => builder,
        Payload::Json(v) => builder.json(v),
        Payload::Raw { content_type, text } => builder.header("content-type", *content_type).body(*text),
    };
    api.send(builder)
}

/// The address the `n`th wrong secret comes from.
pub(super) fn address(n: usize) -> String {
    format!("10.77.{}.{}", n / 200, n % 200 + 1)
}

/// What is wrong with `reply` as the answer to `row`, if anything.
pub(super) fn verdict(row: &Row, reply: &Reply) -> Option<String> {
    let mut wrong = Vec::new();
    if reply.status != row.expect {
        wrong.push(format!("expected {}, got {}", row.expect, reply.status));
    }
    if reply.status >= 400 {
        if reply.header("content-type") != Some("application/problem+json") {
            wrong.push(format!("error as {:?}, not application/problem+json", reply.header("content-type")));
        } else if reply.json["status"] != reply.status
            || !reply.json["title"].is_string()
            || !reply.json["detail"].is_string()
        {
            wrong.push("an incomplete problem".into());
        }
    }
    if reply.status == 401 && reply.header("www-authenticate").is_none_or(str::is_empty) {
        wrong.push("401 without WWW-Authenticate".into());
    }
    if reply.status == 403 && row.expect == 403 && !row.missing.is_empty() {
        let named = reply.json["missing_grant"].as_str().unwrap_or("");
        if !row.missing.iter().any(|m| m == named) {
            wrong.push(format!("403 names missing grant {named:?}, expected one of {:?}", row.missing));
        }
    }
    (!wrong.is_empty())
        .then(|| format!("{} as {}: {} — {}", row.operation, row.caller, wrong.join("; "), truncate(&reply.text)))
}

pub(super) fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

/// Runs rows on a few threads; returns what went wrong.
pub(super) fn run_rows(app: &TestApp, rows: &[Row], threads: usize) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(row) = rows.get(i) else { break };
                if let Some(problem) = verdict(row, &send(app, row)) {
                    failures.lock().unwrap().push(problem);
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// Public routes answer without credentials; what is wrong otherwise.
pub(super) fn public_routes_answer_anonymously(app: &TestApp) -> Vec<String> {
    let anon = app.anonymous();
    let mut failures = Vec::new();
    for route in PUBLIC {
        let (method, path) = route.split_once(' ').unwrap();
        let r = match method {
            "GET" => app.anonymous().get(path),
            _ => anon.send(anon.request(Method::POST, path).form(&[("grant_type", "client_credentials")])),
        };
        let ok = match method {
            "GET" => r.status == 200,
            // No client authentication at the token endpoint: an OAuth error (RFC 6749 §5.2).
            _ => r.status == 401 && r.json["error"] == "invalid_client",
        };
        if !ok {
            failures.push(format!("{route} without credentials: {} {}", r.status, truncate(&r.text)));
        }
    }

    failures
}

/// Input refused before credentials were checked would leave no trace: every wrong secret of
/// the malformed requests is on record as a failed authentication from its address, and the
/// administrator's refused inputs as failures of the administrator; what is missing.
pub(super) fn refused_input_is_on_record(app: &TestApp, input_rows: &[Row], superuser: &ClientCreds) -> Vec<String> {
    let mut failures = Vec::new();
    let events = app.admin().get("/api/v1/audit-events?action=auth.basic.failure&page_size=200");
    assert_eq!(events.status, 200, "{}", events.text);
    let addresses: BTreeSet<&str> =
        events.json["items"].as_array().unwrap().iter().filter_map(|e| e["ip"].as_str()).collect();
    for row in input_rows.iter().filter(|r| r.expect == 401) {
        if let Who::WrongSecret(_, n) = row.who {
            if !addresses.contains(address(n).as_str()) {
                failures.push(format!(
                    "{} as wrong secret: no auth.basic.failure from {} in the audit log",
                    row.operation,
                    address(n)
                ));
            }
        }
    }
    let refused = app
        .admin()
        .get(&format!("/api/v1/audit-events?actor={}&action=namespace.create&outcome=failure", superuser.id));
    let statuses: Vec<&Value> =
        refused.json["items"].as_array().unwrap().iter().map(|e| &e["changes"]["status"]).collect();
    for status in [400, 415] {
        if !statuses.contains(&&json!(status)) {
            failures.push(format!(
                "the administrator's POST /api/v1/namespaces refused with {status} is not in the audit log: {}",
                truncate(&refused.text)
            ));
        }
    }

    failures
}
