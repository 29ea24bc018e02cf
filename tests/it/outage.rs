//! PostgreSQL stopped under load: requests answer 503 problem+json within the pool timeout (no
//! hang, no panic, no crash), /readyz turns red, and the same process serves again by itself
//! once the database is back. Runs on a PostgreSQL server of the test's own (support::pg_cluster).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::pg_cluster::PgCluster;
use crate::support::{eventually, gatehouse, TestApp, TestDb};

/// `--db-pool-timeout` of the server under test, in seconds.
const POOL_TIMEOUT: u64 = 2;

#[derive(Debug)]
struct Observed {
    kind: &'static str,
    status: Option<u16>,
    /// A 503 in the shape of its endpoint: problem+json, or OAuth's `temporarily_unavailable`.
    well_formed: bool,
    took: Duration,
}

fn observe(kind: &'static str, request: reqwest::blocking::RequestBuilder) -> (Observed, serde_json::Value) {
    let started = Instant::now();
    let result = request.send();
    let took = started.elapsed();
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let content_type =
                response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let body: serde_json::Value = response.json().unwrap_or_default();
            let well_formed = if kind == "token" {
                content_type == "application/json" && body["error"] == "temporarily_unavailable"
            } else {
                content_type == "application/problem+json" && body["status"] == status
            };
            (Observed { kind, status: Some(status), well_formed, took }, body)
        }
        Err(_) => (Observed { kind, status: None, well_formed: false, took }, serde_json::Value::Null),
    }
}

#[test]
fn postgres_shut_down_under_load_gives_503s_and_service_resumes_by_itself() {
    outage_under_load("fast");
}

#[test]
fn postgres_crashed_under_load_gives_503s_and_service_resumes_by_itself() {
    outage_under_load("immediate");
}

/// Stops PostgreSQL with `pg_ctl -m <mode>` for 6 s under mixed load, then starts it again.
fn outage_under_load(mode: &str) {
    let cluster = PgCluster::start();
    let mut app =
        TestApp::start_on(TestDb::postgres_at(&cluster.base_url()), &["--db-pool-timeout", &POOL_TIMEOUT.to_string()]);
    app.create_namespace("load");
    let creds = app.create_client(&app.admin_account_id, &["users:*@load"]);
    let reader = app.create_account("load", "someone", &[]);

    let base = app.base.clone();
    let observed = Mutex::new(Vec::<Observed>::new());
    let acknowledged = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    let (mut recovery, mut red_within) = (Duration::ZERO, Duration::ZERO);
    std::thread::scope(|s| {
        for worker in 0..3 {
            let (base, creds, reader, observed, acknowledged, stop) =
                (&base, &creds, &reader, &observed, &acknowledged, &stop);
            s.spawn(move || {
                // A client that would wait far longer than the server may: a hang shows as `took`.
                let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let username = format!("w{worker}-{i}");
                    let (o, body) = match i % 3 {
                        0 => observe(
                            "create",
                            http.post(format!("{base}/api/v1/namespaces/load/users"))
                                .basic_auth(&creds.client_id, Some(&creds.secret))
                                .json(&json!({ "username": username })),
                        ),
                        1 => observe(
                            "read",
                            http.get(format!("{base}/api/v1/namespaces/load/users/{reader}"))
                                .basic_auth(&creds.client_id, Some(&creds.secret)),
                        ),
                        _ => observe(
                            "token",
                            http.post(format!("{base}/oauth/token"))
                                .basic_auth(&creds.client_id, Some(&creds.secret))
                                .form(&[("grant_type", "client_credentials")]),
                        ),
                    };
                    if o.kind == "create" && o.status == Some(201) {
                        acknowledged.lock().unwrap().push(body["id"].as_str().unwrap().to_owned());
                    }
                    observed.lock().unwrap().push(o);
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));

        cluster.stop(mode);
        let stopped = Instant::now();
        // Readiness turns red, answered within the pool timeout.
        let api = app.anonymous();
        assert!(
            eventually(Duration::from_secs(POOL_TIMEOUT + 5), || {
                let started = Instant::now();
                let ready = api.get("/readyz");
                let red = ready.status == 503 && ready.header("content-type") == Some("application/problem+json");
                if red {
                    red_within = started.elapsed();
                }
                red
            }),
            "/readyz did not turn red"
        );
        assert!(red_within <= Duration::from_secs(POOL_TIMEOUT + 2), "/readyz took {red_within:?} to answer");
        // The outage lasts a while under load.
        while stopped.elapsed() < Duration::from_secs(6) {
            std::thread::sleep(Duration::from_millis(50));
        }

        cluster.restart();
        let restarted = Instant::now();
        let admin = app.admin();
        assert!(
            eventually(Duration::from_secs(30), || api.get("/readyz").status == 200
                && admin.get(&format!("/api/v1/namespaces/load/users/{reader}")).status == 200),
            "the service did not resume after the database came back"
        );
        recovery = restarted.elapsed();
        // Mark where the recovered phase begins, then let the load run on a healthy database.
        observed.lock().unwrap().push(Observed {
            kind: "recovered",
            status: None,
            well_formed: false,
            took: Duration::ZERO,
        });
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
    });
    let observed = observed.into_inner().unwrap();
    let recovered_at = observed.iter().position(|o| o.kind == "recovered").unwrap();
    let unavailable = observed.iter().filter(|o| o.status == Some(503)).count();
    let slowest = observed.iter().map(|o| o.took).max().unwrap_or_default();
    println!(
        "outage ({mode}): {} requests, {unavailable} answered 503, slowest {slowest:?}; /readyz red within {red_within:?}; \
         service back {recovery:?} after PostgreSQL restarted",
        observed.len() - 1
    );
    assert!(unavailable > 0, "the load never saw the outage");
    for o in &observed[..recovered_at] {
        match o.status {
            Some(200 | 201) => {}
            Some(503) => assert!(o.well_formed, "a 503 without its problem (or OAuth error) body: {o:?}"),
            _ => panic!("during the outage every answer is a success or a 503 problem: {o:?}"),
        }
        assert!(o.took <= Duration::from_secs(POOL_TIMEOUT + 3), "a request hung: {o:?}");
    }
    // Once ready again, everything succeeds: no connection of the pool stays broken.
    let after: Vec<&Observed> = observed[recovered_at + 1..].iter().collect();
    assert!(after.len() > 10, "too little load after recovery: {}", after.len());
    for o in after {
        assert!(matches!(o.status, Some(200 | 201)), "after recovery: {o:?}");
    }
    assert!(app.is_running(), "the server exited during the outage: {}", app.log());
    assert!(!app.log().contains("panicked"), "{}", app.log());

    // Nothing acknowledged is lost, and the chain still verifies.
    let admin = app.admin();
    for id in acknowledged.into_inner().unwrap() {
        assert_eq!(admin.get(&format!("/api/v1/namespaces/load/users/{id}")).status, 200, "acknowledged {id} is gone");
    }
    let verify = gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(verify.code, 0, "{} {}", verify.stdout, verify.stderr);
}
