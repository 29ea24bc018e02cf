//! The test kit: a fresh database and a real `gatehouse serve` process per test, spoken to over
//! HTTP. `GATEHOUSE_TEST_DATABASE=postgres` runs everything on PostgreSQL (each test creates
//! and drops its own database, so tests run in parallel); the default is a temporary SQLite file.

#![allow(dead_code)]

pub mod browser;
pub mod http;
pub mod mail;
pub mod pg_cluster;
pub mod totp;
pub mod webdriver;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};

pub use http::{Api, Reply};

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_gatehouse")
}

/// Where server logs of the test run are kept (one file per server), for inspection and for
/// the test that no secret is ever logged.
pub fn log_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-logs");
    std::fs::create_dir_all(&dir).expect("create target/test-logs");
    dir
}

pub fn on_postgres() -> bool {
    std::env::var("GATEHOUSE_TEST_DATABASE").is_ok_and(|v| v.starts_with("postgres"))
}

fn postgres_base() -> String {
    std::env::var("GATEHOUSE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A database that exists for one test, with the master key its servers share.
pub struct TestDb {
    pub url: String,
    pub master_key: String,
    kind: DbKind,
}

enum DbKind {
    Sqlite(tempfile::TempDir),
    Postgres { name: String, base: String },
}

impl TestDb {
    pub fn new() -> TestDb {
        if on_postgres() {
            TestDb::postgres_at(&postgres_base())
        } else {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
            TestDb { url, master_key: new_master_key(), kind: DbKind::Sqlite(dir) }
        }
    }

    /// A new database on the PostgreSQL server at `base` (`postgres://user@host:port`).
    pub fn postgres_at(base: &str) -> TestDb {
        let name = format!("gh_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = diesel::PgConnection::establish(&format!("{base}/postgres"))
            .expect("PostgreSQL must run at 127.0.0.1:5432 (or set GATEHOUSE_TEST_POSTGRES_URL)");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create test database");
        TestDb {
            url: format!("{base}/{name}"),
            master_key: new_master_key(),
            kind: DbKind::Postgres { name, base: base.to_owned() },
        }
    }

    /// Runs raw SQL against the test database (to play the attacker with database access).
    pub fn execute(&self, sql: &str) {
        match &self.kind {
            DbKind::Sqlite(dir) => {
                let mut conn =
                    diesel::SqliteConnection::establish(&dir.path().join("gatehouse.db").display().to_string())
                        .unwrap();
                conn.batch_execute(&format!("PRAGMA busy_timeout = 5000; {sql}")).unwrap();
            }
            DbKind::Postgres { .. } => {
                let mut conn = diesel::PgConnection::establish(&self.url).unwrap();
                conn.batch_execute(sql).unwrap();
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, DbKind::Postgres { .. })
    }

    /// The one number `sql` selects as `n` (e.g. `SELECT COUNT(*) AS n FROM …`).
    pub fn number(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.query::<Row>(sql).pop().unwrap_or_else(|| panic!("no row from {sql}")).n
    }

    /// The texts `sql` selects as `t`, in its order.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
        }
        self.query::<Row>(sql).into_iter().map(|r| r.t).collect()
    }

    fn query<T>(&self, sql: &str) -> Vec<T>
    where
        T: diesel::QueryableByName<diesel::sqlite::Sqlite> + diesel::QueryableByName<diesel::pg::Pg> + 'static,
    {
        use diesel::RunQueryDsl;
        match &self.kind {
            DbKind::Sqlite(dir) => {
                let mut conn =
                    diesel::SqliteConnection::establish(&dir.path().join("gatehouse.db").display().to_string())
                        .unwrap();
                conn.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
                diesel::sql_query(sql).load(&mut conn).unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            DbKind::Postgres { .. } => {
                let mut conn = diesel::PgConnection::establish(&self.url).unwrap();
                diesel::sql_query(sql).load(&mut conn).unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        }
    }
}

fn new_master_key() -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let DbKind::Postgres { name, base } = &self.kind {
            if let Ok(mut admin) = diesel::PgConnection::establish(&format!("{base}/postgres")) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// Output of a finished `gatehouse` command.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `gatehouse <args>` against `db`, feeding `stdin`.
pub fn gatehouse(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .env("GATEHOUSE_DATABASE_URL", &db.url)
        .env("GATEHOUSE_MASTER_KEY", &db.master_key)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gatehouse");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Credentials of a client.
#[derive(Debug, Clone)]
pub struct ClientCreds {
    pub id: String,
    pub client_id: String,
    pub secret: String,
}

/// A running server on its own database, bootstrapped with an administrator.
pub struct TestApp {
    pub db: TestDb,
    pub base: String,
    pub admin_account_id: String,
    pub admin_client: ClientCreds,
    pub log_file: PathBuf,
    child: Child,
    /// The extra `serve` flags it was started with (a restart keeps them).
    flags: Vec<String>,
}

impl TestApp {
    pub fn start() -> TestApp {
        Self::start_with(&[])
    }

    /// Starts with extra `serve` flags.
    pub fn start_with(flags: &[&str]) -> TestApp {
        Self::start_on(TestDb::new(), flags)
    }

    /// Starts with the issuer `http://localhost:<port>` (a domain name, as a WebAuthn relying
    /// party needs; browsers resolve `localhost` and its subdomains to the loopback address).
    /// Returns the app and the issuer.
    pub fn start_on_localhost(flags: &[&str]) -> (TestApp, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (bind, issuer) = (format!("127.0.0.1:{port}"), format!("http://localhost:{port}"));
        let mut all = vec!["--bind", bind.as_str(), "--issuer", issuer.as_str()];
        all.extend_from_slice(flags);
        (Self::start_with(&all), issuer)
    }

    /// Starts on `db` (bootstrapping it) with extra `serve` flags.
    pub fn start_on(db: TestDb, flags: &[&str]) -> TestApp {
        let boot = gatehouse(&db, &["bootstrap", "--username", "admin", "--password-stdin"], Some(ADMIN_PASSWORD));
        assert_eq!(boot.code, 0, "bootstrap failed: {}", boot.stderr);
        let boot: Value = serde_json::from_str(&boot.stdout).expect("bootstrap prints JSON");
        let (child, base, log_file) = spawn_server(&db, flags);
        let mut app = TestApp {
            db,
            base,
            admin_account_id: boot["account_id"].as_str().unwrap().to_owned(),
            admin_client: ClientCreds {
                id: String::new(),
                client_id: boot["client_id"].as_str().unwrap().to_owned(),
                secret: boot["client_secret"].as_str().unwrap().to_owned(),
            },
            log_file,
            child,
            flags: flags.iter().map(|f| f.to_string()).collect(),
        };
        let me = app.admin().get("/api/v1/me");
        assert_eq!(me.status, 200, "{}", me.text);
        app.admin_client.id = me.json["id"].as_str().unwrap().to_owned();
        app
    }

    /// Anonymous HTTP.
    pub fn anonymous(&self) -> Api {
        Api::new(&self.base, None)
    }

    /// The bootstrap client (`*:*@*`).
    pub fn admin(&self) -> Api {
        self.as_client(&self.admin_client)
    }

    pub fn as_client(&self, creds: &ClientCreds) -> Api {
        Api::new(&self.base, Some((creds.client_id.clone(), creds.secret.clone())))
    }

    pub fn create_namespace(&self, slug: &str) {
        let r = self.admin().post("/api/v1/namespaces", &json!({ "slug": slug, "display_name": slug }));
        assert_eq!(r.status, 201, "{}", r.text);
    }

    /// Creates an account in `namespace` holding `grants`; returns its id.
    pub fn create_account(&self, namespace: &str, username: &str, grants: &[&str]) -> String {
        let r = self.admin().post(&format!("/api/v1/namespaces/{namespace}/users"), &json!({ "username": username }));
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.json["id"].as_str().unwrap().to_owned();
        if !grants.is_empty() {
            self.set_grants(namespace, &id, grants);
        }
        id
    }

    pub fn set_grants(&self, namespace: &str, account_id: &str, grants: &[&str]) {
        let r = self.admin().put(
            &format!("/api/v1/namespaces/{namespace}/users/{account_id}/permissions"),
            &json!({ "permissions": grants }),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// Creates a group of `namespace` holding `grants` (set by the administrator); its id.
    pub fn create_group(&self, namespace: &str, name: &str, grants: &[&str]) -> String {
        let r = self.admin().post(&format!("/api/v1/namespaces/{namespace}/groups"), &json!({ "name": name }));
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.json["id"].as_str().unwrap().to_owned();
        if !grants.is_empty() {
            let r = self.admin().put(
                &format!("/api/v1/namespaces/{namespace}/groups/{id}/permissions"),
                &json!({ "permissions": grants }),
            );
            assert_eq!(r.status, 200, "{}", r.text);
        }
        id
    }

    /// Makes `account_id` a member of group `group_id` of `namespace` (as the administrator).
    pub fn add_member(&self, namespace: &str, group_id: &str, account_id: &str) {
        let admin = self.admin();
        let path = format!("/api/v1/namespaces/{namespace}/groups/{group_id}/members/{account_id}");
        let r = admin.send(admin.request(reqwest::Method::PUT, &path));
        assert_eq!(r.status, 204, "{}", r.text);
    }

    /// Creates a client owned by `owner_account_id` (created by the administrator).
    pub fn create_client(&self, owner_account_id: &str, grants: &[&str]) -> ClientCreds {
        let r = self.admin().post(
            "/api/v1/clients",
            &json!({ "name": "test client", "permissions": grants, "owner_account_id": owner_account_id }),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        creds_of(&r.json)
    }

    /// An account in `system` with `grants` and a client of its own holding `client_grants`.
    pub fn owner_with_client(&self, username: &str, grants: &[&str], client_grants: &[&str]) -> (String, ClientCreds) {
        let owner = self.create_account("system", username, grants);
        let client = self.create_client(&owner, client_grants);
        (owner, client)
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and starts it again on the
    /// same database; the new process may listen on another port.
    pub fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        let _ = self.child.wait();
        self.restart();
    }

    /// Starts the server again on the same database after it ended (killed or terminated), with
    /// the same flags and issuer; the new process may listen on another port.
    pub fn restart(&mut self) {
        // The same issuer, as a restarted production server has: its tokens stay valid.
        let mut flags: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        let issuer = self.base.clone();
        if !flags.contains(&"--issuer") {
            flags.extend(["--issuer", &issuer]);
        }
        let (child, base, log_file) = spawn_server(&self.db, &flags);
        (self.child, self.base, self.log_file) = (child, base, log_file);
    }

    /// A second `gatehouse serve` on the same database (and master key): another replica.
    pub fn replica(&self) -> Replica {
        self.replica_with(&[])
    }

    /// A replica started with `flags` besides the shared issuer.
    pub fn replica_with(&self, flags: &[&str]) -> Replica {
        // Replicas behind one load balancer share the issuer (and so the tokens' audience).
        let mut all = vec!["--issuer", &self.base];
        all.extend_from_slice(flags);
        let (child, base, log_file) = spawn_server(&self.db, &all);
        Replica { child, base, log_file }
    }

    /// Whether the server process is still the one that was started (it has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().map(|status| status.is_none()).unwrap_or(false)
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to end; returns its exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        #[allow(unsafe_code)]
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(40);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Another server process on a test app's database, stopped on drop.
pub struct Replica {
    child: Child,
    pub base: String,
    pub log_file: PathBuf,
}

impl Replica {
    /// Everything the replica logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    pub fn anonymous(&self) -> Api {
        Api::new(&self.base, None)
    }

    pub fn as_client(&self, creds: &ClientCreds) -> Api {
        Api::new(&self.base, Some((creds.client_id.clone(), creds.secret.clone())))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn creds_of(created: &Value) -> ClientCreds {
    ClientCreds {
        id: created["id"].as_str().unwrap().to_owned(),
        client_id: created["client_id"].as_str().unwrap().to_owned(),
        secret: created["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// Starts `gatehouse serve` on a free port and waits until it says where it listens.
pub fn spawn_server(db: &TestDb, flags: &[&str]) -> (Child, String, PathBuf) {
    let log_file = log_dir().join(format!("server-{}.log", uuid::Uuid::now_v7().simple()));
    let mut child = Command::new(binary())
        .arg("serve")
        .args(if flags.contains(&"--bind") { &[][..] } else { &["--bind", "127.0.0.1:0"][..] })
        .args(["--workers", "2"])
        .args(flags)
        .env("GATEHOUSE_DATABASE_URL", &db.url)
        .env("GATEHOUSE_MASTER_KEY", &db.master_key)
        .env("RUST_LOG", "info,actix_server=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gatehouse serve");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let path = log_file.clone();
    std::thread::spawn(move || {
        let mut log = std::fs::File::create(&path).expect("create server log");
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            if let Some(addr) = line.split("gatehouse listening on ").nth(1) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(base) => (child, base, log_file),
        Err(_) => {
            let _ = child.kill();
            panic!("gatehouse serve did not start: {}", std::fs::read_to_string(&log_file).unwrap_or_default());
        }
    }
}

/// Polls `check` until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    check()
}
