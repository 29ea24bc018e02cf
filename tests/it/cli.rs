//! The command line: bootstrap, migrate, audit verify.

use serde_json::Value;

use crate::support::{gatehouse, TestDb};

#[test]
fn bootstrap_prints_the_contract_json_once_and_refuses_a_second_time() {
    let db = TestDb::new();
    let first =
        gatehouse(&db, &["bootstrap", "--username", "root", "--password-stdin"], Some("a long enough password\n"));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let out: Value = serde_json::from_str(first.stdout.trim()).expect("one JSON object");
    assert_eq!(out["namespace"], "system");
    for field in ["account_id", "client_id", "client_secret"] {
        assert!(out[field].as_str().is_some_and(|s| !s.is_empty()), "{field} missing: {out}");
    }
    assert!(
        first.stdout.trim().starts_with("{\"namespace\":\"system\",\"account_id\":"),
        "field order: {}",
        first.stdout
    );
    assert!(
        first.stderr.contains("enrols a second factor"),
        "bootstrap says how the console is entered: {}",
        first.stderr
    );

    let second = gatehouse(&db, &["bootstrap", "--username", "other"], None);
    assert_eq!(second.code, 1);
    assert!(second.stderr.contains("already bootstrapped"), "{}", second.stderr);
    assert_eq!(second.stderr.trim().lines().count(), 1, "one-line reason: {}", second.stderr);
    assert!(second.stdout.is_empty());
}

#[test]
fn bootstrap_rejects_a_short_password_and_changes_nothing() {
    let db = TestDb::new();
    let out = gatehouse(&db, &["bootstrap", "--username", "root", "--password-stdin"], Some("short\n"));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("password"), "{}", out.stderr);
    let retry = gatehouse(&db, &["bootstrap", "--username", "root", "--password-stdin"], Some("long enough now\n"));
    assert_eq!(retry.code, 0, "{}", retry.stderr);
}

#[test]
fn migrate_applies_once_then_reports_up_to_date() {
    let db = TestDb::new();
    let first = gatehouse(&db, &["migrate"], None);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains("applied"), "{}", first.stdout);
    let second = gatehouse(&db, &["migrate"], None);
    assert_eq!(second.code, 0);
    assert!(second.stdout.contains("up to date"), "{}", second.stdout);
}

#[test]
fn every_command_has_help_and_errors_are_one_line() {
    let db = TestDb::new();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["bootstrap", "--help"],
        vec!["audit", "verify", "--help"],
    ] {
        let out = gatehouse(&db, &args, None);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stdout.contains("Usage"), "{args:?}");
    }
    let bad = gatehouse(&db, &["migrate", "--database-url", "mysql://nope"], None);
    assert_ne!(bad.code, 0);
    assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
}

#[test]
fn sqlite_and_postgres_migrations_have_the_same_versions() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let names = |backend: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(backend))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
    for name in &sqlite {
        for file in ["up.sql", "down.sql"] {
            assert!(
                root.join("sqlite").join(name).join(file).exists()
                    && root.join("postgres").join(name).join(file).exists(),
                "{name}/{file}"
            );
        }
    }
}
