//! Open-loop soak of a running Gatehouse (started by `bench/soak.sh`): mixed traffic at a fixed
//! rate per kind of operation, whatever the server's latency (each request is sent at its
//! scheduled time and its latency counts from that time, so a stall shows up as latency rather
//! than as fewer requests). Prints one markdown table and exits 1 on any unexpected answer.
//!
//! Operations (requests per second, from the environment):
//!
//! | kind | request | expected | rate |
//! |---|---|---|---|
//! | read | Basic-auth `GET /api/v1/namespaces/soak/users/{id}` | 200 | `SOAK_READ_RATE` (200) |
//! | create | `POST …/users` with a password (one argon2id hash each) | 201 | `SOAK_CREATE_RATE` (10) |
//! | client_credentials | `POST /oauth/token`, client_secret_basic | 200 | `SOAK_CC_RATE` (50) |
//! | refresh_token | rotation: each chain presents the refresh token its last grant returned | 200 | `SOAK_REFRESH_RATE` (20) |
//! | failed login, client secret | client_credentials with a wrong secret | 401 | `SOAK_FAILED_SECRET_RATE` (2) |
//! | failed login, password | password grant with a wrong password | 400 `invalid_grant` | `SOAK_FAILED_PASSWORD_RATE` (2) |
//!
//! Failed logins are throttled per account or client (5 failures) and per address (20). Like
//! people mistyping from many places, the failures here are spread so that none of those
//! limits is reached: each comes from its own address (`X-Forwarded-For` from the
//! 2001:db8::/32 documentation prefix, so the server runs with `--trust-forwarded-for`) and
//! each target account or client gets at most 4 of them. A 429 is then an error too.
//!
//! Input (environment): `SOAK_BASE_URL`, `SOAK_CLIENT_ID` / `SOAK_CLIENT_SECRET` (a client
//! holding `*:*@*`, e.g. the bootstrap client), `SOAK_SERVER_PID` (RSS from /proc),
//! `SOAK_DATABASE_URL` (`sqlite://path`: file + -wal sizes; `postgres://…`:
//! `pg_database_size`), `SOAK_BACKEND` (a label), `SOAK_SECONDS` (600), `SOAK_WARMUP_SECONDS`
//! (10), `SOAK_REFRESH_CHAINS` (32), `SOAK_SAMPLE_SECONDS` (10, RSS), `SOAK_TIMEOUT_SECONDS`
//! (10), `SOAK_CC_ALG` (`RS256`, or `ES256`/`EdDSA`).

mod measure;
mod requests;

use measure::{db_bytes_async, mib, ms, rss_kib, Recorder, Stats};
use requests::{api, form_encode, pair};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// Failures per target account or client: below the per-subject lock-out threshold (5).
const FAILURES_PER_TARGET: u64 = 4;
/// Requests of one kind in flight at most; past this a request is not sent and counts as an
/// error (the server is not keeping up).
const MAX_IN_FLIGHT: u64 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Read,
    Create,
    ClientCredentials,
    Refresh,
    FailedSecret,
    FailedPassword,
}

const KINDS: [Kind; 6] =
    [Kind::Read, Kind::Create, Kind::ClientCredentials, Kind::Refresh, Kind::FailedSecret, Kind::FailedPassword];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Read => "Basic-auth GET user",
            Kind::Create => "create user with password",
            Kind::ClientCredentials => "client_credentials grant",
            Kind::Refresh => "refresh_token grant (rotating)",
            Kind::FailedSecret => "failed login: wrong client secret (401)",
            Kind::FailedPassword => "failed login: wrong password (400)",
        }
    }
    fn rate_var(self) -> (&'static str, f64) {
        match self {
            Kind::Read => ("SOAK_READ_RATE", 200.0),
            Kind::Create => ("SOAK_CREATE_RATE", 10.0),
            Kind::ClientCredentials => ("SOAK_CC_RATE", 50.0),
            Kind::Refresh => ("SOAK_REFRESH_RATE", 20.0),
            Kind::FailedSecret => ("SOAK_FAILED_SECRET_RATE", 2.0),
            Kind::FailedPassword => ("SOAK_FAILED_PASSWORD_RATE", 2.0),
        }
    }
    fn index(self) -> usize {
        KINDS.iter().position(|k| *k == self).unwrap()
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v} is not a valid value")),
        _ => default,
    }
}

fn env_required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

struct Ctx {
    http: Client,
    base: String,
    admin: (String, String),
    cc: (String, String),
    web: (String, String),
    target_user: String,
    secret_targets: Vec<String>,
    password_targets: Vec<String>,
    chains_tx: mpsc::UnboundedSender<String>,
    chains_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>,
    recorder: Recorder,
}

/// Unexpected answers shown on stderr at most (all are counted).
const SHOWN_UNEXPECTED: u64 = 20;
static UNEXPECTED: AtomicU64 = AtomicU64::new(0);

fn expect(status: StatusCode, wanted: u16, body: &str) -> Result<(), String> {
    if status.as_u16() == wanted {
        Ok(())
    } else {
        if UNEXPECTED.fetch_add(1, Ordering::Relaxed) < SHOWN_UNEXPECTED {
            let snippet: String = body.chars().take(120).collect();
            eprintln!("unexpected {status} (wanted {wanted}): {snippet}");
        }
        Err(format!("status {}", status.as_u16()))
    }
}

fn transport(e: reqwest::Error) -> String {
    if UNEXPECTED.fetch_add(1, Ordering::Relaxed) < SHOWN_UNEXPECTED {
        eprintln!("request failed: {e:?}");
    }
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection refused".into()
    } else {
        let mut cause: &dyn std::error::Error = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        format!("transport: {cause}")
    }
}

/// A documentation address (2001:db8::/32), unique per failed attempt.
fn address(kind: u16, seq: u64) -> String {
    format!("2001:db8:{kind:x}:{:x}:{:x}:{:x}::1", (seq >> 32) & 0xffff, (seq >> 16) & 0xffff, seq & 0xffff)
}

async fn token_grant(
    ctx: &Ctx,
    auth: &(String, String),
    form: &str,
    forwarded_for: Option<String>,
) -> Result<(StatusCode, String), String> {
    let mut req = ctx
        .http
        .post(format!("{}/oauth/token", ctx.base))
        .basic_auth(&auth.0, Some(&auth.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    let res = req.send().await.map_err(transport)?;
    let status = res.status();
    let body = res.text().await.map_err(transport)?;
    Ok((status, body))
}

/// A new refresh chain: the password grant of the `refresher` account.
async fn new_chain(ctx: &Ctx) -> Result<String, String> {
    let (status, body) =
        token_grant(ctx, &ctx.web, "grant_type=password&username=refresher&password=refresher%20password", None)
            .await?;
    expect(status, 200, &body)?;
    refresh_token_of(&body)
}

fn refresh_token_of(body: &str) -> Result<String, String> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["refresh_token"].as_str().map(str::to_owned))
        .ok_or_else(|| "no refresh_token in the answer".to_owned())
}

async fn one(ctx: Arc<Ctx>, kind: Kind, seq: u64, at: Instant) {
    let outcome: Result<(), String> = async {
        match kind {
            Kind::Read => {
                let res = ctx
                    .http
                    .get(format!("{}/api/v1/namespaces/soak/users/{}", ctx.base, ctx.target_user))
                    .basic_auth(&ctx.admin.0, Some(&ctx.admin.1))
                    .send()
                    .await
                    .map_err(transport)?;
                let status = res.status();
                let body = res.text().await.map_err(transport)?;
                expect(status, 200, &body)
            }
            Kind::Create => {
                let res = ctx
                    .http
                    .post(format!("{}/api/v1/namespaces/soak/users", ctx.base))
                    .basic_auth(&ctx.admin.0, Some(&ctx.admin.1))
                    .header("content-type", "application/json")
                    .body(
                        json!({"username": format!("soak-{seq}"), "password": format!("soak password {seq}")})
                            .to_string(),
                    )
                    .send()
                    .await
                    .map_err(transport)?;
                let status = res.status();
                let body = res.text().await.map_err(transport)?;
                expect(status, 201, &body)
            }
            Kind::ClientCredentials => {
                let (status, body) = token_grant(&ctx, &ctx.cc, "grant_type=client_credentials", None).await?;
                expect(status, 200, &body)
            }
            Kind::Refresh => {
                let token = ctx.chains_rx.lock().await.recv().await.ok_or("refresh chains closed")?;
                let result = token_grant(
                    &ctx,
                    &ctx.web,
                    &format!("grant_type=refresh_token&refresh_token={}", form_encode(&token)),
                    None,
                )
                .await
                .and_then(|(status, body)| {
                    expect(status, 200, &body)?;
                    refresh_token_of(&body)
                });
                match result {
                    Ok(next) => {
                        let _ = ctx.chains_tx.send(next);
                        Ok(())
                    }
                    Err(e) => {
                        // Start the chain anew so that one error does not cascade.
                        match new_chain(&ctx).await {
                            Ok(fresh) => {
                                let _ = ctx.chains_tx.send(fresh);
                            }
                            Err(again) => eprintln!("could not start a new refresh chain: {again}"),
                        }
                        Err(e)
                    }
                }
            }
            Kind::FailedSecret => {
                let client_id = &ctx.secret_targets[(seq / FAILURES_PER_TARGET) as usize % ctx.secret_targets.len()];
                let wrong = (client_id.clone(), format!("wrong-secret-{seq}"));
                let (status, body) =
                    token_grant(&ctx, &wrong, "grant_type=client_credentials", Some(address(1, seq))).await?;
                expect(status, 401, &body)
            }
            Kind::FailedPassword => {
                let username = &ctx.password_targets[(seq / FAILURES_PER_TARGET) as usize % ctx.password_targets.len()];
                let form =
                    format!("grant_type=password&username={}&password=wrong%20password%20{seq}", form_encode(username));
                let (status, body) = token_grant(&ctx, &ctx.web, &form, Some(address(2, seq))).await?;
                expect(status, 400, &body)?;
                if body.contains("\"invalid_grant\"") {
                    Ok(())
                } else {
                    Err("400 without invalid_grant".into())
                }
            }
        }
    }
    .await;
    ctx.recorder.record(kind, at, outcome);
    ctx.recorder.in_flight[kind.index()].fetch_sub(1, Ordering::Relaxed);
}

/// Sends requests of one kind at `rate` per second from `start` until `until`.
async fn drive(ctx: Arc<Ctx>, kind: Kind, rate: f64, start: Instant, until: Instant) -> u64 {
    if rate <= 0.0 {
        return 0;
    }
    let interval = 1.0 / rate;
    let mut tasks = tokio::task::JoinSet::new();
    let mut seq = 0u64;
    loop {
        let at = start + Duration::from_secs_f64(interval * seq as f64);
        if at >= until {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        while tasks.try_join_next().is_some() {}
        let counter = &ctx.recorder.in_flight[kind.index()];
        if counter.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            ctx.recorder.record(kind, at, Err(format!("not sent: {MAX_IN_FLIGHT} in flight")));
        } else {
            counter.fetch_add(1, Ordering::Relaxed);
            tasks.spawn(one(ctx.clone(), kind, seq, at));
        }
        seq += 1;
    }
    while tasks.join_next().await.is_some() {}
    seq
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let base = env_required("SOAK_BASE_URL").trim_end_matches('/').to_owned();
    let admin = (env_required("SOAK_CLIENT_ID"), env_required("SOAK_CLIENT_SECRET"));
    let pid: u32 = env_required("SOAK_SERVER_PID").parse().expect("SOAK_SERVER_PID");
    let database_url = env_required("SOAK_DATABASE_URL");
    let backend = std::env::var("SOAK_BACKEND").unwrap_or_else(|_| "gatehouse".into());
    let seconds: f64 = env_or("SOAK_SECONDS", 600.0);
    let warmup: f64 = env_or("SOAK_WARMUP_SECONDS", 10.0);
    let chains: usize = env_or("SOAK_REFRESH_CHAINS", 32);
    let sample_every: f64 = env_or("SOAK_SAMPLE_SECONDS", 10.0);
    let timeout: f64 = env_or("SOAK_TIMEOUT_SECONDS", 10.0);
    let cc_alg: String = env_or("SOAK_CC_ALG", "RS256".to_owned());
    let rates: Vec<f64> = KINDS
        .iter()
        .map(|k| {
            let (var, default) = k.rate_var();
            env_or(var, default)
        })
        .collect();
    let total = warmup + seconds;

    // Idle connections are dropped after 2 s, before the server's keep-alive (actix's default
    // 5 s) closes them: otherwise a request now and then races the server's close and fails
    // ("connection closed before message completed", or a 408 on a connection opened but not
    // yet used), as behind any proxy whose idle timeout exceeds its upstream's keep-alive.
    let http = Client::builder()
        .timeout(Duration::from_secs_f64(timeout))
        .pool_idle_timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(512)
        .tcp_nodelay(true)
        .build()
        .expect("http client");

    // Setup: a namespace, the account read, the clients and the accounts that fail to log in.
    eprintln!("setup: namespace, clients, refresh chains, failed-login targets");
    let post = reqwest::Method::POST;
    let json_type = "application/json";
    api(
        &http,
        &base,
        &admin,
        post.clone(),
        "/api/v1/namespaces",
        json_type,
        json!({"slug": "soak", "display_name": "Soak"}).to_string(),
    )
    .await;
    let target = api(
        &http,
        &base,
        &admin,
        post.clone(),
        "/api/v1/namespaces/soak/users",
        json_type,
        json!({"username": "target", "email": "target@example.com"}).to_string(),
    )
    .await;
    let target_user = target["id"].as_str().unwrap().to_owned();
    let cc = pair(&api(&http, &base, &admin, post.clone(), "/api/v1/clients", json_type,
        json!({"name": "soak client_credentials", "access_token_alg": cc_alg, "permissions": ["namespaces:read@*"]}).to_string()).await);
    let web = pair(&api(&http, &base, &admin, post.clone(), "/api/v1/clients", json_type,
        json!({"name": "soak web", "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": ["https://app.example/cb"],
               "user_namespace": "soak", "password_grant_enabled": true}).to_string()).await);
    api(
        &http,
        &base,
        &admin,
        post.clone(),
        "/api/v1/namespaces/soak/users",
        json_type,
        json!({"username": "refresher", "password": "refresher password"}).to_string(),
    )
    .await;

    let pool = |kind: Kind| ((rates[kind.index()] * total).ceil() as u64 / FAILURES_PER_TARGET + 1) as usize;
    // Accounts that fail to sign in: imported with a real argon2id hash (of a password nobody sends).
    let hash =
        gatehouse::domain::password::hash(&gatehouse::domain::password::HashParams::default(), "the right password")
            .expect("hash");
    let password_targets: Vec<String> = (0..pool(Kind::FailedPassword)).map(|i| format!("pool-{i}")).collect();
    for chunk in password_targets.chunks(50_000) {
        let ndjson: String =
            chunk.iter().map(|u| format!("{}\n", json!({"username": u, "password_hash": hash}))).collect();
        let result = api(
            &http,
            &base,
            &admin,
            post.clone(),
            "/api/v1/namespaces/soak/users:import",
            "application/x-ndjson",
            ndjson,
        )
        .await;
        let failed = result["errors"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(failed, 0, "import: {result}");
    }
    // Clients that fail to authenticate (a few at a time: each creation hashes a secret).
    let mut secret_targets = Vec::new();
    let want = pool(Kind::FailedSecret);
    while secret_targets.len() < want {
        let batch: Vec<_> = (secret_targets.len()..want.min(secret_targets.len() + 8))
            .map(|i| {
                let (http, base, admin) = (http.clone(), base.clone(), admin.clone());
                tokio::spawn(async move {
                    api(
                        &http,
                        &base,
                        &admin,
                        reqwest::Method::POST,
                        "/api/v1/clients",
                        "application/json",
                        json!({"name": format!("soak target {i}")}).to_string(),
                    )
                    .await
                })
            })
            .collect();
        for created in batch {
            let created = created.await.expect("setup request");
            secret_targets.push(created["client_id"].as_str().unwrap().to_owned());
        }
    }

    let (chains_tx, chains_rx) = mpsc::unbounded_channel();
    let recorder = Recorder {
        stats: KINDS.iter().map(|_| Mutex::new((Stats::new(), Stats::new()))).collect(),
        in_flight: KINDS.iter().map(|_| AtomicU64::new(0)).collect(),
        measure_from: Instant::now() + Duration::from_secs_f64(3600.0 * 24.0),
    };
    let mut ctx = Ctx {
        http,
        base,
        admin,
        cc,
        web,
        target_user,
        secret_targets,
        password_targets,
        chains_tx,
        chains_rx: tokio::sync::Mutex::new(chains_rx),
        recorder,
    };
    for _ in 0..chains {
        let token = new_chain(&ctx).await.expect("first refresh token");
        ctx.chains_tx.send(token).unwrap();
    }

    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + Duration::from_secs_f64(warmup);
    let until = measure_from + Duration::from_secs_f64(seconds);
    ctx.recorder.measure_from = measure_from;
    let ctx = Arc::new(ctx);
    let scheduled: f64 = rates.iter().sum();
    eprintln!(
        "{backend}: {warmup} s warm-up, then {seconds} s at {scheduled} req/s ({}); {} refresh chains, {} + {} failed-login targets",
        KINDS.iter().zip(&rates).map(|(k, r)| format!("{k:?} {r}/s")).collect::<Vec<_>>().join(", "),
        chains,
        ctx.secret_targets.len(),
        ctx.password_targets.len()
    );

    let drivers: Vec<_> =
        KINDS.iter().zip(&rates).map(|(k, r)| tokio::spawn(drive(ctx.clone(), *k, *r, start, until))).collect();

    // Resources: RSS every few seconds, the database at the start and at the end.
    tokio::time::sleep_until(measure_from.into()).await;
    let rss_start = rss_kib(pid).unwrap_or(0);
    let db_start = db_bytes_async(database_url.clone()).await.unwrap_or(0);
    let mut rss_max = rss_start;
    let mut next_sample = measure_from + Duration::from_secs_f64(sample_every);
    let mut next_report = measure_from + Duration::from_secs(60);
    let mut server_died = false;
    while next_sample < until {
        tokio::time::sleep_until(next_sample.into()).await;
        match rss_kib(pid) {
            Some(rss) => rss_max = rss_max.max(rss),
            None => {
                eprintln!("the server (pid {pid}) is gone");
                server_died = true;
                break;
            }
        }
        if next_sample >= next_report {
            let (done, errors) = ctx.recorder.stats.iter().fold((0, 0), |(d, e), s| {
                let s = s.lock().unwrap();
                (d + s.1.done, e + s.0.error_count() + s.1.error_count())
            });
            eprintln!(
                "{backend}: {:.0} s: {done} requests, {errors} errors, RSS {} MiB",
                next_sample.duration_since(measure_from).as_secs_f64(),
                mib(rss_kib(pid).unwrap_or(0) * 1024)
            );
            next_report += Duration::from_secs(60);
        }
        next_sample += Duration::from_secs_f64(sample_every);
    }
    let mut sent = Vec::new();
    for d in drivers {
        sent.push(d.await.unwrap_or(0));
    }
    let rss_end = rss_kib(pid);
    server_died |= rss_end.is_none();
    let rss_end = rss_end.unwrap_or(0);
    rss_max = rss_max.max(rss_end);
    let db_end = db_bytes_async(database_url.clone()).await.unwrap_or(0);

    // The table.
    let mut total_errors = 0u64;
    let mut error_lines = Vec::new();
    println!();
    println!("**{backend}**: {seconds:.0} s of open-loop load at {scheduled:.0} req/s scheduled, after {warmup:.0} s of warm-up; latency from each request's scheduled send time");
    println!();
    println!("| operation | scheduled/s | done/s | p50 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    for (kind, rate) in KINDS.iter().zip(&rates) {
        let guard = ctx.recorder.stats[kind.index()].lock().unwrap();
        let (warm, measured) = (&guard.0, &guard.1);
        let errors = warm.error_count() + measured.error_count();
        total_errors += errors;
        for (phase, stats) in [("warm-up", warm), ("soak", measured)] {
            for (reason, n) in &stats.errors {
                error_lines.push(format!("- {}: {n} × {reason} ({phase})", kind.label()));
            }
        }
        let h = &measured.hist;
        let (p50, p99, max) = if measured.done > 0 {
            (ms(h.value_at_quantile(0.5)), ms(h.value_at_quantile(0.99)), ms(h.max()))
        } else {
            ("-".into(), "-".into(), "-".into())
        };
        println!(
            "| {} | {rate} | {:.1} | {p50} | {p99} | {max} | {errors} |",
            kind.label(),
            measured.done as f64 / seconds
        );
    }
    println!();
    println!("| resource | start | end | max |");
    println!("|---|---|---|---|");
    println!("| server RSS, MiB | {} | {} | {} |", mib(rss_start * 1024), mib(rss_end * 1024), mib(rss_max * 1024));
    let db_label = if database_url.starts_with("sqlite://") {
        "database (SQLite file + WAL), MiB"
    } else {
        "database (pg_database_size), MiB"
    };
    println!("| {db_label} | {} | {} | |", mib(db_start), mib(db_end));
    if server_died {
        total_errors += 1;
        error_lines.push(format!("- the server (pid {pid}) died during the soak"));
    }
    if !error_lines.is_empty() {
        println!();
        for line in &error_lines {
            println!("{line}");
        }
    }
    eprintln!("{backend}: sent {} requests, {total_errors} errors", sent.iter().sum::<u64>());
    std::process::exit(if total_errors == 0 { 0 } else { 1 });
}
