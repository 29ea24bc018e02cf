//! The command line: parse, then run one command. Errors end the process with one line on
//! stderr and a non-zero exit code.

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use gatehouse_api_types::checks;

use crate::config::{AuditCommand, BootstrapArgs, Cli, Command, Config, KeysCommand};
use crate::db::{self, audit::ChainStatus, Db, PoolSettings};
use crate::domain::audit::Actor;
use crate::domain::audit_archive::{self, ArchiveRequest, ArchiveRun};
use crate::domain::signing_keys::{rotation_event, KeyStore};
use crate::domain::{bootstrap, password, secrets};
use crate::error::{Error, Result};

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gatehouse: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info,actix_server=warn"))
        .format_timestamp_millis()
        .init();
}

fn one_line(e: &Error) -> String {
    let text = match e {
        Error::Invalid { errors, detail } if !errors.is_empty() => {
            errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ").to_string()
                + &format!(" ({detail})")
        }
        other => other.to_string(),
    };
    text.lines().next().unwrap_or("").to_owned()
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            actix_web::rt::System::new().block_on(crate::server::serve(cli.config, args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let db = connect(&cli.config)?;
            let applied = db::migrate(&mut *db.get()?)?;
            if applied.is_empty() {
                println!("the database is up to date");
            }
            for name in applied {
                println!("applied {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bootstrap(args) => {
            let output = run_bootstrap(&cli.config, &args)?;
            println!("{output}");
            if args.password_stdin {
                // On stderr: stdout is the JSON the contract describes.
                eprintln!(
                    "gatehouse: {} holds write grants, so its first sign-in to the console (/console/) enrols a \
                     second factor: have an authenticator app ready to scan the QR code, and keep the recovery \
                     codes it shows once (--console-mfa optional relaxes this for local development)",
                    args.username
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command } => {
            let db = open(&cli.config)?;
            let (master, _) = cli.config.master_key()?;
            let mut conn = db.get()?;
            let keys = KeyStore::open(&mut conn, &db, master)?;
            if let KeysCommand::Rotate = command {
                let current = keys.rotate(&mut conn, &db, rotation_event(Actor::system()))?;
                println!("rotated; now signing with {}", current.join(", "));
            }
            for key in KeyStore::list(&mut conn)? {
                println!("{:<6} {:<8} {}  created {}", key.alg, key.state, key.kid, key.created_at.to_rfc3339());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command: AuditCommand::Verify(args) } => {
            let db = open(&cli.config)?;
            if let Some(dir) = &args.archive {
                if let Err(problem) = verify_archive(&db, dir)? {
                    println!("audit archive BROKEN: {problem}");
                    return Ok(ExitCode::FAILURE);
                }
            }
            match db::audit::verify(&mut *db.get()?)? {
                ChainStatus::Intact { events } => {
                    println!("audit chain intact: {events} events verified");
                    Ok(ExitCode::SUCCESS)
                }
                ChainStatus::Broken { checked, reason } => {
                    println!("audit chain BROKEN after {checked} good events: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Audit { command: AuditCommand::Archive(args) } => {
            let db = open(&cli.config)?;
            let (master, _) = cli.config.master_key()?;
            let request =
                ArchiveRequest { before: args.before, dir: args.out.clone(), segment_events: args.segment_events };
            match audit_archive::archive(&db, &master, &request)? {
                ArchiveRun::Busy => {
                    Err(Error::Conflict("another replica is archiving the audit log; try again when it is done".into()))
                }
                ArchiveRun::Done { segments, elapsed } => {
                    for s in &segments {
                        println!("archived events {}..{} into {}", s.first_seq, s.last_seq, s.segment);
                    }
                    let events: i64 = segments.iter().map(|s| s.events).sum();
                    let rate = events as f64 / elapsed.as_secs_f64().max(1e-6);
                    println!(
                        "archived {events} events in {} segments in {:.1} s ({rate:.0} events/s)",
                        segments.len(),
                        elapsed.as_secs_f64()
                    );
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    }
}

/// `audit verify --archive`: the segments offline, then against this database. The problem
/// found, if any, naming its segment.
fn verify_archive(db: &Db, dir: &std::path::Path) -> Result<std::result::Result<(), String>> {
    let archive = match audit_archive::verify::verify_dir(dir) {
        Ok(archive) => archive,
        Err(problem) => return Ok(Err(problem)),
    };
    if let Err(problem) = audit_archive::verify::link_to_database(&mut *db.get()?, &archive)? {
        return Ok(Err(problem));
    }
    match archive.segments.last() {
        Some(last) => println!(
            "audit archive intact: {} segments, events 1..{} ({} events), signatures valid; the live chain follows event {}",
            archive.segments.len(),
            last.manifest.last_seq,
            archive.events,
            last.manifest.last_seq
        ),
        None => println!("audit archive empty: no segment in {}", dir.display()),
    }
    Ok(Ok(()))
}

/// A small pool for one-shot commands.
fn connect(config: &Config) -> Result<Db> {
    Db::connect(&config.database()?, &PoolSettings { max_size: 2, min_idle: 0, credential_cache: 0, ..config.pool() })
}

/// The same, with migrations applied.
fn open(config: &Config) -> Result<Db> {
    let db = connect(config)?;
    db::migrate(&mut *db.get()?)?;
    Ok(db)
}

/// What `bootstrap` prints, in the contract's field order.
#[derive(serde::Serialize)]
struct BootstrapOutput {
    namespace: &'static str,
    account_id: uuid::Uuid,
    client_id: String,
    client_secret: String,
}

fn run_bootstrap(config: &Config, args: &BootstrapArgs) -> Result<String> {
    checks::username(&args.username)
        .map_err(|e| Error::invalid("--username", e.message.map(|m| m.to_string()).unwrap_or_default()))?;
    let params = config.hash_params()?;
    let password_hash = if args.password_stdin {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| Error::bad_request(format!("cannot read the password from stdin: {e}")))?;
        let password = input.strip_suffix('\n').map(|p| p.strip_suffix('\r').unwrap_or(p)).unwrap_or(&input);
        checks::password(password)
            .map_err(|e| Error::invalid("password", e.message.map(|m| m.to_string()).unwrap_or_default()))?;
        Some(password::hash(&params, password)?)
    } else {
        None
    };
    let secret = secrets::generate_secret();
    let secret_hash = password::hash(&params, &secret)?;
    let db = open(config)?;
    let username = args.username.clone();
    let done =
        db.write_blocking(&mut *db.get()?, |conn| bootstrap::run(conn, &username, password_hash, secret_hash))?;
    serde_json::to_string(&BootstrapOutput {
        namespace: bootstrap::SYSTEM,
        account_id: done.account_id,
        client_id: done.client_id,
        client_secret: secret,
    })
    .map_err(Error::internal)
}
