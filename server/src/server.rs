//! `gatehouse serve`: open the database, migrate, start the pools and serve until a signal.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::audit_log::AuditLog;
use crate::config::{cpus, Config, ServeArgs};
use crate::db::{self, Db};
use crate::domain::crypto::KeySource;
use crate::domain::hashing::{HashPool, Timer};
use crate::domain::secrets::VerifiedSecrets;
use crate::domain::signing_keys::KeyStore;
use crate::error::{Error, Result};
use crate::housekeeping::{self, Retention};
use crate::http;
use crate::log_streams;
use crate::metrics::Metrics;
use crate::oauth;
use crate::outbox;
use crate::shell::{self, AppState, OAuth, Settings};

/// Queued password hashes beyond this are refused with 429.
const HASH_QUEUE: usize = 4096;

pub async fn serve(config: Config, args: ServeArgs) -> Result<()> {
    let url = config.database()?;
    let db = Db::connect(&url, &config.pool())?;
    let applied = {
        let db = db.clone();
        db::blocking(move || db::migrate(&mut *db.get()?)).await?
    };
    for name in applied {
        log::info!("applied migration {name}");
    }
    log::info!("database: {}", url.redacted());

    // Bind first: without --issuer the issuer is this address (also when the port is 0).
    let listener = std::net::TcpListener::bind(&config.bind)
        .map_err(|e| Error::Unavailable(format!("cannot listen on {}: {e}", config.bind)))?;
    let bound = listener.local_addr().map_err(Error::internal)?;
    let issuer = config.issuer.clone().unwrap_or_else(|| format!("http://{bound}")).trim_end_matches('/').to_owned();
    let mut oauth = open_oauth(&config, &db, issuer, args.access_token_ttl, args.max_access_token_ttl).await?;
    oauth.settings.console_mfa_required = args.console_mfa == crate::config::ConsoleMfa::Required;
    oauth.settings.require_par = args.require_par;
    if !oauth.settings.console_mfa_required {
        log::warn!("--console-mfa optional: accounts with write grants sign in to the console without a second factor");
    }
    let senders = outbox::Senders {
        smtp_url: args.smtp_url.clone(),
        mail_from: args.mail_from.clone(),
        sms_webhook: args.sms_webhook_url.clone(),
        sms_webhook_token: args.sms_webhook_token.clone(),
    };
    if senders.smtp_url.is_none() {
        log::warn!("no --smtp-url: verification and reset mail waits in the outbox until one is configured");
    }
    // The outbox worker signs logout tokens with the ID tokens' keys (a store of its own, on
    // its own thread).
    let logout_keys = {
        let (db, master) = (db.clone(), oauth.master.clone());
        db::blocking(move || KeyStore::open(&mut *db.get()?, &db, master)).await?
    };
    let logout = outbox::LogoutSigner { keys: logout_keys, issuer: oauth.settings.issuer.clone() };
    let outbox = outbox::start(db.clone(), oauth.master.clone(), senders, logout)?;
    log_streams::start(db.clone(), oauth.master.clone())?;
    let metrics = Metrics::new()?;
    let hash_seconds = metrics.hash_seconds.clone();
    let timer: Timer = Arc::new(move |op, seconds| hash_seconds.with_label_values(&[op]).observe(seconds));
    let hasher = HashPool::new(args.hash_threads.unwrap_or_else(cpus), HASH_QUEUE, config.hash_params()?, timer)?;
    let batch = metrics.audit_batch.clone();
    let audit = AuditLog::start(db.clone(), Box::new(move |n| batch.observe(n as f64)), args.audit_reads)?;
    let state = web::Data::new(AppState {
        db: db.clone(),
        hasher,
        verified: VerifiedSecrets::new(args.secret_cache_size),
        client_keys: Default::default(),
        audit,
        metrics,
        trust_forwarded_for: args.trust_forwarded_for,
        oauth,
        outbox,
    });
    let retention =
        Retention { max_access_ttl: chrono::Duration::seconds(i64::from(state.oauth.settings.max_access_ttl)) };
    let audit_retention = housekeeping::AuditRetention::new(
        args.audit_retention,
        args.audit_archive_dir.clone(),
        state.oauth.master.clone(),
    );
    let blocking_threads = db.blocking_threads_per_worker();
    actix_web::rt::spawn(housekeeping::run(db, retention, audit_retention));

    let app_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(from_fn(shell::observe))
            .configure(http::routes)
            .configure(crate::http::scim::routes)
            .configure(oauth::routes)
            .configure(crate::console::routes)
    })
    .workers(args.workers.unwrap_or_else(cpus));
    let server = match blocking_threads {
        Some(threads) => server.worker_max_blocking_threads(threads),
        None => server,
    };
    let server = server
        .shutdown_timeout(args.shutdown_timeout)
        .keep_alive(match args.keep_alive {
            0 => KeepAlive::Disabled,
            seconds => KeepAlive::Timeout(Duration::from_secs(seconds)),
        })
        .listen(listener)
        .map_err(|e| Error::Unavailable(format!("cannot listen on {bound}: {e}")))?;
    for addr in server.addrs() {
        log::info!("gatehouse listening on http://{addr}");
    }
    server.run().await.map_err(Error::internal)?;
    state.audit.close().await?;
    log::info!("gatehouse stopped");
    Ok(())
}

/// Loads the master key and the signing keys (generating them on first start).
async fn open_oauth(config: &Config, db: &Db, issuer: String, default_ttl: u32, max_ttl: u32) -> Result<OAuth> {
    let (master, source) = config.master_key()?;
    match &source {
        KeySource::Generated(path) => log::warn!(
            "GENERATED A NEW MASTER KEY at {} — it seals the token signing keys: back it up, and set \
             GATEHOUSE_MASTER_KEY (or --master-key-file) in production",
            path.display()
        ),
        KeySource::File(path) => log::info!("master key from {}", path.display()),
        KeySource::Environment => log::info!("master key from GATEHOUSE_MASTER_KEY"),
    }
    let mut settings = Settings::new(issuer);
    settings.max_access_ttl = max_ttl.max(1);
    settings.default_access_ttl = default_ttl.clamp(1, settings.max_access_ttl);
    let db = db.clone();
    let keys = db::blocking(move || {
        let mut conn = db.get()?;
        KeyStore::open(&mut conn, &db, master.clone()).map(|keys| (keys, master))
    })
    .await?;
    log::info!("issuer: {}", settings.issuer);
    let passkeys = crate::domain::passkeys::relying_party(&settings.issuer);
    if passkeys.is_none() {
        log::warn!(
            "passkeys are off: the issuer's host is not a domain name (set --issuer, e.g. http://localhost:8080)"
        );
    }
    Ok(OAuth { settings, keys: keys.0, master: keys.1, passkeys })
}
