//! One typed configuration, from flags with environment fallbacks.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::db::{DatabaseUrl, PoolSettings};
use crate::domain::password::{HashParams, FLOOR};
use crate::error::Result;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Gatehouse identity service: Management API, OAuth 2.0 / OpenID Connect provider and admin console"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the API, the OAuth/OIDC endpoints and the console.
    /// Stops gracefully on SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// On an empty database: create namespace `system`, an administrator holding `*:*@*` and a
    /// first client owned by it. Prints the ids and the client secret as one JSON object.
    Bootstrap(BootstrapArgs),
    /// Work with the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Work with the token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Rotate the signing keys of every algorithm: next becomes current, current becomes
    /// previous (still verifying what it signed), and a new next key is published.
    Rotate,
    /// List the published keys.
    List,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// Walk the live hash chain from its first event (after the last archived one); name the
    /// first broken link (exit 1). With `--archive`, first verify the archive's segments.
    Verify(AuditVerifyArgs),
    /// Move the events older than `--before` into signed, zstd-compressed NDJSON segments in
    /// `--out`, record a checkpoint event in the live chain and delete the archived events.
    Archive(AuditArchiveArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AuditVerifyArgs {
    /// An archive directory: verify every segment's signature, file hash and chain, that they
    /// link with no gap, and that they are the segments this database archived.
    #[arg(long)]
    pub archive: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct AuditArchiveArgs {
    /// Archive the events older than this (RFC 3339, e.g. `2026-01-01T00:00:00Z`).
    #[arg(long)]
    pub before: chrono::DateTime<chrono::Utc>,
    /// The archive directory (created if missing).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Events per segment.
    #[arg(long, default_value_t = crate::domain::audit_archive::SEGMENT_EVENTS, value_parser = clap::value_parser!(i64).range(1..=10_000_000))]
    pub segment_events: i64,
}

#[derive(Debug, Clone, Args)]
pub struct BootstrapArgs {
    /// The administrator's username.
    #[arg(long)]
    pub username: String,
    /// Read the administrator's password from standard input (otherwise the account has none
    /// until one is set through the API).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// `sqlite://path` (embedded, created on first use) or `postgres://…`.
    #[arg(long, env = "GATEHOUSE_DATABASE_URL", default_value = "sqlite://gatehouse.db", global = true)]
    pub database_url: String,
    /// Address to listen on.
    #[arg(long, env = "GATEHOUSE_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,
    /// The issuer URL of tokens (default `http://<bind>`).
    #[arg(long, env = "GATEHOUSE_ISSUER", global = true)]
    pub issuer: Option<String>,
    /// Database connections in the pool.
    #[arg(long, env = "GATEHOUSE_DB_POOL_SIZE", default_value_t = 16, global = true)]
    pub db_pool_size: u32,
    /// Seconds to wait for a free connection before answering 503.
    #[arg(long, env = "GATEHOUSE_DB_POOL_TIMEOUT", default_value_t = 5, global = true)]
    pub db_pool_timeout: u64,
    /// Clients' credentials each process remembers while no change has moved the credential
    /// epoch (ADR 0020), with the access tokens it found not revoked while no revocation has
    /// moved the revocation epoch (ADR 0026); 0 reads both from the database on every request.
    #[arg(long, env = "GATEHOUSE_CREDENTIAL_CACHE_SIZE", default_value_t = 10_000, global = true)]
    pub credential_cache_size: usize,
    /// A file holding the master key (32 bytes, base64). `GATEHOUSE_MASTER_KEY` (the key itself)
    /// takes precedence. With neither, an embedded database gets a generated `<db>.key` beside it.
    #[arg(long, env = "GATEHOUSE_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<std::path::PathBuf>,
    /// argon2id memory in KiB (at least 19456).
    #[arg(long, env = "GATEHOUSE_ARGON2_MEMORY_KIB", default_value_t = FLOOR.memory_kib, global = true)]
    pub argon2_memory_kib: u32,
    /// argon2id iterations (at least 2).
    #[arg(long, env = "GATEHOUSE_ARGON2_ITERATIONS", default_value_t = FLOOR.iterations, global = true)]
    pub argon2_iterations: u32,
    /// argon2id lanes.
    #[arg(long, env = "GATEHOUSE_ARGON2_PARALLELISM", default_value_t = FLOOR.parallelism, global = true)]
    pub argon2_parallelism: u32,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "GATEHOUSE_WORKERS")]
    pub workers: Option<usize>,
    /// Threads that hash passwords, at lower priority than request threads (default: one per CPU).
    #[arg(long, env = "GATEHOUSE_HASH_THREADS")]
    pub hash_threads: Option<usize>,
    /// Client credentials remembered as verified (bounded cache).
    #[arg(long, env = "GATEHOUSE_SECRET_CACHE_SIZE", default_value_t = 100_000)]
    pub secret_cache_size: usize,
    /// Take the caller's address from `X-Forwarded-For` (only behind a proxy that sets it).
    #[arg(long, env = "GATEHOUSE_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Default lifetime of access tokens, in seconds (a client may set its own).
    #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_TTL", default_value_t = 300)]
    pub access_token_ttl: u32,
    /// No access token lives longer than this, in seconds (at most a day), whatever a client
    /// asks for.
    #[arg(long, env = "GATEHOUSE_MAX_ACCESS_TOKEN_TTL", default_value_t = 3600, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub max_access_token_ttl: u32,
    /// SMTP server for verification and reset codes: `smtp://[user:pass@]host:port` (plain),
    /// `smtp://…?tls=required` (STARTTLS) or `smtps://…`.
    #[arg(long, env = "GATEHOUSE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender address of mail.
    #[arg(long, env = "GATEHOUSE_MAIL_FROM", default_value = "Gatehouse <no-reply@localhost>")]
    pub mail_from: String,
    /// Webhook that sends SMS: receives `POST {"to", "body"}`.
    #[arg(long, env = "GATEHOUSE_SMS_WEBHOOK_URL")]
    pub sms_webhook_url: Option<String>,
    /// Bearer token sent to the SMS webhook.
    #[arg(long, env = "GATEHOUSE_SMS_WEBHOOK_TOKEN", hide_env_values = true)]
    pub sms_webhook_token: Option<String>,
    /// How successful reads are audited: `summary` (one `access.summary` event per actor,
    /// action, namespace and target per minute, with the count), `full` (an event per read) or
    /// `off` (reads are only counted in /metrics and logged). Changes, refusals, failures,
    /// sign-ins and grants are always full events. (`true`/`false` are kept as `full`/`off`.)
    #[arg(long, env = "GATEHOUSE_AUDIT_READS", value_enum, default_value_t = AuditReads::Summary)]
    pub audit_reads: AuditReads,
    /// Seconds that in-flight requests get to finish on SIGTERM.
    #[arg(long, env = "GATEHOUSE_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Seconds an idle HTTP connection is kept open (0: close after each response). Longer
    /// than a load balancer's idle timeout for its upstream connections (nginx: 60 s), so that
    /// the balancer, not Gatehouse, closes them: otherwise a request sent on a connection just
    /// as Gatehouse closes it fails.
    #[arg(long, env = "GATEHOUSE_KEEP_ALIVE", default_value_t = 75)]
    pub keep_alive: u64,
    /// Days audit events stay in the live chain (0: forever; a decimal number, 0.5 is twelve
    /// hours). Older events are archived into `--audit-archive-dir` and then deleted; without an
    /// archive directory nothing is deleted.
    #[arg(long, env = "GATEHOUSE_AUDIT_RETENTION", default_value_t = 400.0, value_parser = retention_days)]
    pub audit_retention: f64,
    /// Where housekeeping writes audit archives (signed segments) on schedule. Unset: no
    /// archiving, and so no audit event is ever deleted.
    #[arg(long, env = "GATEHOUSE_AUDIT_ARCHIVE_DIR")]
    pub audit_archive_dir: Option<std::path::PathBuf>,
    /// Whether an account holding any `write` grant must use a second factor to sign in to the
    /// console (`required`, the default: it is taken through enrolment at its first sign-in), or
    /// may sign in with its password alone (`optional`, for local development).
    #[arg(long, env = "GATEHOUSE_CONSOLE_MFA", value_enum, default_value_t = ConsoleMfa::Required)]
    pub console_mfa: ConsoleMfa,
    /// Accept only pushed authorization requests (RFC 9126): every client pushes its requests to
    /// `/oauth/par` first (a client can also be held to it alone, with
    /// `require_pushed_authorization_requests`).
    #[arg(long, env = "GATEHOUSE_REQUIRE_PAR")]
    pub require_par: bool,
}

/// `--console-mfa`: the console rule for accounts holding a `write` grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConsoleMfa {
    Required,
    Optional,
}

impl Config {
    pub fn database(&self) -> Result<DatabaseUrl> {
        DatabaseUrl::parse(&self.database_url)
    }

    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_size: self.db_pool_size.max(1),
            timeout: Duration::from_secs(self.db_pool_timeout.max(1)),
            min_idle: 2,
            credential_cache: self.credential_cache_size,
        }
    }

    pub fn hash_params(&self) -> Result<HashParams> {
        HashParams {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        }
        .checked()
    }

    /// The master key: `GATEHOUSE_MASTER_KEY`, the key file, or (embedded database only) a
    /// generated key file beside the database.
    pub fn master_key(&self) -> Result<(crate::domain::crypto::MasterKey, crate::domain::crypto::KeySource)> {
        let env = std::env::var("GATEHOUSE_MASTER_KEY").ok();
        let url = self.database()?;
        let default_file = url.sqlite_path().map(|p| std::path::Path::new(p).with_extension("key"));
        crate::domain::crypto::MasterKey::load(env.as_deref(), self.master_key_file.as_deref(), default_file.as_deref())
    }
}

/// How successful reads are audited (`--audit-reads`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditReads {
    /// One `access.summary` event per actor, action, namespace and target per minute.
    Summary,
    /// An event per read.
    #[value(alias = "true")]
    Full,
    /// No event for a successful read.
    #[value(alias = "false")]
    Off,
}

/// `--audit-retention`: a finite number of days, at least 0 and at most 100 years.
fn retention_days(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(days) if days.is_finite() && (0.0..=36_500.0).contains(&days) => Ok(days),
        _ => Err("must be a number of days from 0 (keep forever) to 36500".into()),
    }
}

pub fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}
