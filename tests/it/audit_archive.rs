//! Retention with signed archives: old events leave the live chain only into segments that
//! verify offline, signed by a key the API publishes; a tampered, missing or reordered segment
//! is named; the database refuses every other deletion.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::{eventually, gatehouse, TestApp, TestDb};

/// Some changes, so the chain has events to archive.
fn make_events(app: &TestApp, namespace: &str, accounts: usize) {
    app.create_namespace(namespace);
    for i in 0..accounts {
        app.create_account(namespace, &format!("{namespace}-user{i}"), &["users:read@customers"]);
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

/// The segments' base names in `dir`, in chain order.
fn segments(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".ndjson.zst").map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn verify_archive(db: &TestDb, dir: &Path) -> crate::support::Output {
    gatehouse(db, &["audit", "verify", "--archive", dir.to_str().unwrap()], None)
}

fn archive(db: &TestDb, dir: &Path, segment_events: usize) -> crate::support::Output {
    let n = segment_events.to_string();
    gatehouse(
        db,
        &["audit", "archive", "--before", &now(), "--out", dir.to_str().unwrap(), "--segment-events", &n],
        None,
    )
}

/// An error from the database (the trigger), not a panic of the test.
fn refused(db: &TestDb, sql: &str) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.execute(sql))).is_err()
}

#[test]
fn an_archive_verifies_and_a_tampered_missing_or_reordered_segment_is_named() {
    let app = TestApp::start();
    make_events(&app, "customers", 12);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("archive");
    let before = app.db.number("SELECT MAX(seq) AS n FROM audit_events");

    let out = archive(&app.db, &dir, 5);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("events/s"), "{}", out.stdout);
    let names = segments(&dir);
    assert!(names.len() >= 3, "{before} events in segments of 5: {names:?}");
    let archived = app.db.number("SELECT MAX(last_seq) AS n FROM audit_archives");
    assert!(archived >= before, "every event older than the cut is archived: {archived} < {before}");

    // Only archived events left the live chain, and it still verifies from its anchor.
    assert_eq!(app.db.number(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE seq <= {archived}")), 0);
    let live = app.db.number(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE seq > {archived}"));
    assert_eq!(live, app.db.number("SELECT seq AS n FROM audit_chain_head") - archived, "no live event was lost");
    let ok = gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("audit chain intact"), "{}", ok.stdout);
    let ok = verify_archive(&app.db, &dir);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains(&format!("{} segments", names.len())), "{}", ok.stdout);

    // The checkpoint events are in the live chain, naming each segment's last event and hash.
    let checkpoints = app.admin().get("/api/v1/audit-events?action=audit.archive&page_size=100");
    assert_eq!(checkpoints.status, 200, "{}", checkpoints.text);
    let items = checkpoints.json["items"].as_array().unwrap();
    assert_eq!(items.len(), names.len(), "one checkpoint per segment: {}", checkpoints.text);
    let newest = &items[0]["changes"];
    assert_eq!(newest["last_seq"].as_i64(), Some(archived), "{newest}");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{}.manifest.json", names.last().unwrap()))).unwrap(),
    )
    .unwrap();
    assert_eq!(newest["last_hash"], manifest["last_hash"]);

    // The key that signed the manifests is published.
    let keys = app.admin().get("/api/v1/audit-keys");
    assert_eq!(keys.status, 200, "{}", keys.text);
    let keys = keys.json.as_array().unwrap().clone();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["kid"], manifest["key_id"]);
    assert_eq!(keys[0]["public_key"], manifest["public_key"]);
    assert_eq!(keys[0]["algorithm"], "Ed25519");

    // The database allows no other deletion, and archives are append-only.
    assert!(refused(&app.db, &format!("DELETE FROM audit_events WHERE seq = {}", archived + 1)));
    assert!(refused(&app.db, "DELETE FROM audit_events"));
    assert!(refused(&app.db, "DELETE FROM audit_archives"));
    assert!(refused(&app.db, "UPDATE audit_archives SET last_hash = 'x'"));
    assert_eq!(
        app.db.number(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE seq > {archived}")),
        app.db.number("SELECT seq AS n FROM audit_chain_head") - archived,
        "the refused deletions deleted nothing"
    );

    let second = &names[1];
    let expect_named = |case: &str, dir: &Path, name: &str, words: &str| {
        let out = verify_archive(&app.db, dir);
        assert_eq!(out.code, 1, "{case}: {}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains(&format!("segment {name}")), "{case} names {name}: {}", out.stdout);
        assert!(out.stdout.contains(words), "{case} says {words:?}: {}", out.stdout);
    };

    // One byte of a segment.
    let tampered = work.path().join("tampered");
    copy_dir(&dir, &tampered);
    let file = tampered.join(format!("{second}.ndjson.zst"));
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    expect_named("a flipped byte", &tampered, second, "altered");

    // One byte of a manifest (its signature no longer verifies).
    let resigned = work.path().join("manifest");
    copy_dir(&dir, &resigned);
    let file = resigned.join(format!("{second}.manifest.json"));
    let text = std::fs::read_to_string(&file).unwrap().replace("\"events\": 5", "\"events\": 5 ");
    std::fs::write(&file, text).unwrap();
    expect_named("an edited manifest", &resigned, second, "signature");

    // A segment removed, in the middle and at the end.
    let removed = work.path().join("removed");
    copy_dir(&dir, &removed);
    for suffix in [".ndjson.zst", ".manifest.json", ".manifest.json.sig"] {
        std::fs::remove_file(removed.join(format!("{second}{suffix}"))).unwrap();
    }
    expect_named("a missing segment", &removed, second, "missing");
    let last = names.last().unwrap();
    let cut_short = work.path().join("cut-short");
    copy_dir(&dir, &cut_short);
    for suffix in [".ndjson.zst", ".manifest.json", ".manifest.json.sig"] {
        std::fs::remove_file(cut_short.join(format!("{last}{suffix}"))).unwrap();
    }
    expect_named("the last segment missing", &cut_short, last, "missing");

    // Two segments swapped (their files renamed into each other's places).
    let reordered = work.path().join("reordered");
    copy_dir(&dir, &reordered);
    let first = &names[0];
    for suffix in [".ndjson.zst", ".manifest.json", ".manifest.json.sig"] {
        let (a, b) = (reordered.join(format!("{first}{suffix}")), reordered.join(format!("{second}{suffix}")));
        let swap = reordered.join("swap");
        std::fs::rename(&a, &swap).unwrap();
        std::fs::rename(&b, &a).unwrap();
        std::fs::rename(&swap, &b).unwrap();
    }
    expect_named("swapped segments", &reordered, first, "reordered");

    // The untouched archive still verifies.
    assert_eq!(verify_archive(&app.db, &dir).code, 0);
}

#[test]
fn retention_archives_on_schedule_and_deletes_only_archived_events() {
    let work = tempfile::tempdir().unwrap();
    let dir: PathBuf = work.path().join("scheduled");
    // Three seconds of retention (a decimal number of days).
    let retention = format!("{}", 3.0 / 86_400.0);
    let mut app = TestApp::start_with(&["--audit-retention", &retention, "--audit-archive-dir", dir.to_str().unwrap()]);
    make_events(&app, "old", 3);
    let old_head = app.db.number("SELECT seq AS n FROM audit_chain_head");
    std::thread::sleep(Duration::from_secs(4));
    // Housekeeping runs when a replica starts, then every ten minutes.
    app.kill_and_restart();
    assert!(
        eventually(Duration::from_secs(30), || app.db.number("SELECT COUNT(*) AS n FROM audit_archives") > 0),
        "no archive was written: {}",
        app.log()
    );
    make_events(&app, "fresh", 2);
    let archived = app.db.number("SELECT MAX(last_seq) AS n FROM audit_archives");
    assert!(archived >= old_head, "the events older than the retention are archived ({archived} < {old_head})");
    assert_eq!(app.db.number(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE seq <= {archived}")), 0);
    let head = app.db.number("SELECT seq AS n FROM audit_chain_head");
    assert_eq!(
        app.db.number(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE seq > {archived}")),
        head - archived,
        "every event the archive does not hold is still live"
    );
    let fresh = app.admin().get("/api/v1/audit-events?namespace=fresh&action=user.create");
    assert_eq!(fresh.json["items"].as_array().unwrap().len(), 2, "{}", fresh.text);
    let out = verify_archive(&app.db, &dir);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("audit chain intact"), "{}", out.stdout);
}

#[test]
fn without_an_archive_directory_retention_deletes_nothing() {
    let mut app = TestApp::start_with(&["--audit-retention", &format!("{}", 1.0 / 86_400.0)]);
    make_events(&app, "kept", 1);
    let head = app.db.number("SELECT seq AS n FROM audit_chain_head");
    std::thread::sleep(Duration::from_secs(2));
    app.kill_and_restart();
    assert!(
        eventually(Duration::from_secs(20), || app.log().contains("audit retention needs --audit-archive-dir")),
        "{}",
        app.log()
    );
    assert_eq!(app.db.number("SELECT MIN(seq) AS n FROM audit_events"), 1);
    assert!(app.db.number("SELECT COUNT(*) AS n FROM audit_events") >= head);
    assert_eq!(app.db.number("SELECT COUNT(*) AS n FROM audit_archives"), 0);
}

#[test]
fn one_archive_run_at_a_time() {
    let app = TestApp::start();
    make_events(&app, "busy", 1);
    // Another replica holds the lease.
    app.db.execute("UPDATE audit_archive_lock SET holder = 'another replica', expires_at = '2999-01-01 00:00:00'");
    let work = tempfile::tempdir().unwrap();
    let out = archive(&app.db, work.path(), 100);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("another replica is archiving"), "{}", out.stderr);
    assert_eq!(app.db.number("SELECT MIN(seq) AS n FROM audit_events"), 1, "nothing was deleted");
    assert_eq!(app.db.number("SELECT COUNT(*) AS n FROM audit_archives"), 0);
    // An expired lease (its holder crashed) is taken over; what the crashed run wrote but
    // never recorded (here: a segment of events 1..2 and its manifest) is replaced.
    app.db.execute("UPDATE audit_archive_lock SET expires_at = '2000-01-01 00:00:00'");
    for suffix in [".ndjson.zst", ".manifest.json"] {
        std::fs::write(work.path().join(format!("audit-000000000000001-000000000000002{suffix}")), "partial").unwrap();
    }
    let out = archive(&app.db, work.path(), 100);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(app.db.number("SELECT COUNT(*) AS n FROM audit_archives") > 0);
    assert!(!work.path().join("audit-000000000000001-000000000000002.ndjson.zst").exists());
    let out = verify_archive(&app.db, work.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}
