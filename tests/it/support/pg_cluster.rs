//! A PostgreSQL server of a test's own (initdb in a temporary directory, its own port), so a
//! test can stop and start the database under a running Gatehouse without disturbing the
//! shared server other tests use.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PgCluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

/// Debian keeps the server binaries out of PATH.
fn bin(name: &str) -> PathBuf {
    let versions =
        std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL server binaries under /usr/lib/postgresql");
    let mut dirs: Vec<PathBuf> =
        versions.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|p| p.join(name).exists()).collect();
    dirs.sort();
    dirs.pop().map(|d| d.join(name)).unwrap_or_else(|| PathBuf::from(name))
}

/// initdb and the server refuse to run as root; as root they run as the `postgres` user.
fn run(program: &str, args: &[&str], owner_dir: &Path) {
    let is_root = uid() == 0;
    let mut command = if is_root {
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(owner_dir).status().expect("chown");
        assert!(status.success(), "chown the cluster directory to postgres");
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin(program));
        c
    } else {
        Command::new(bin(program))
    };
    let output = command.args(args).output().unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn uid() -> u32 {
    #[allow(unsafe_code)]
    // SAFETY: getuid(2) cannot fail and touches no memory.
    unsafe {
        libc::getuid()
    }
}

impl PgCluster {
    /// initdb and start on a free port (trust authentication, user `postgres`).
    pub fn start() -> PgCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let data = dir.path().join("data");
        run(
            "initdb",
            &["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"],
            dir.path(),
        );
        let cluster = PgCluster { dir, port };
        cluster.pg_ctl_start();
        cluster
    }

    pub fn base_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl_start(&self) {
        let options =
            format!("-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off", self.port, self.dir.path().display());
        let log = self.dir.path().join("postgres.log").display().to_string();
        run("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "start"], self.dir.path());
    }

    /// Stops the server the way an operator or a crash does: `fast` ends every session at
    /// once (what a restart or failover does), `immediate` is a crash without a checkpoint.
    pub fn stop(&self, mode: &str) {
        run("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"], self.dir.path());
    }

    /// Starts the stopped server again on the same port and data.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if uid() == 0 {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(bin("pg_ctl")).args(args).output()
        } else {
            Command::new(bin("pg_ctl")).args(args).output()
        };
    }
}
