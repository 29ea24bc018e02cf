//! What the soak measures: latency histograms and unexpected answers per kind of operation, the
//! server's RSS and the database's size, and how they are printed.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::Kind;

/// Outcomes of one kind of operation.
pub(crate) struct Stats {
    pub(crate) hist: Histogram<u64>,
    pub(crate) done: u64,
    pub(crate) errors: BTreeMap<String, u64>,
}

impl Stats {
    pub(crate) fn new() -> Stats {
        Stats { hist: Histogram::new_with_bounds(1, 120_000_000, 3).unwrap(), done: 0, errors: BTreeMap::new() }
    }
    pub(crate) fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

pub(crate) struct Recorder {
    /// Per kind: (warm-up, measured).
    pub(crate) stats: Vec<Mutex<(Stats, Stats)>>,
    pub(crate) in_flight: Vec<AtomicU64>,
    pub(crate) measure_from: Instant,
}

impl Recorder {
    /// Counts a request scheduled at `at` that ended now: `Err(reason)` for an unexpected answer.
    pub(crate) fn record(&self, kind: Kind, at: Instant, outcome: Result<(), String>) {
        let micros = at.elapsed().as_micros().max(1) as u64;
        let mut guard = self.stats[kind.index()].lock().unwrap();
        let stats = if at < self.measure_from { &mut guard.0 } else { &mut guard.1 };
        stats.done += 1;
        stats.hist.saturating_record(micros);
        if let Err(reason) = outcome {
            *stats.errors.entry(reason).or_default() += 1;
        }
    }
}

pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Bytes of the database: SQLite file + WAL, or PostgreSQL's `pg_database_size`.
pub(crate) fn db_bytes(url: &str) -> Option<u64> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        Some(size(path) + size(&format!("{path}-wal")))
    } else {
        let out = std::process::Command::new("psql")
            .args(["-Atqc", "SELECT pg_database_size(current_database())", url])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

pub(crate) async fn db_bytes_async(url: String) -> Option<u64> {
    tokio::task::spawn_blocking(move || db_bytes(&url)).await.ok().flatten()
}

pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

pub(crate) fn ms(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}
