//! The credential epoch (ADR 0020): each replica remembers clients' credentials while the
//! database's `credential_epoch` stands still, and the database's triggers move it with every
//! change that can alter a credential. These tests hold the triggers to that: every column of
//! the tables a credential is read from either moves the epoch or is named here as one that
//! authentication does not read, and a change made in SQL behind the servers' backs reaches
//! the next request on every replica. The same holds for the access tokens each replica found
//! not revoked, under the revocation epoch (ADR 0026).

use std::collections::BTreeSet;

use crate::support::{TestApp, TestDb};

/// Per table: the columns authentication does not read (changing them must not matter). Every
/// other column must move the epoch. A new column fails the test until it is put here or in the
/// table's trigger (migration `credential_epoch` and its successors).
const NOT_READ: [(&str, &[&str]); 5] = [
    (
        "clients",
        &[
            "name",
            "redirect_uris",
            "password_grant_enabled",
            "user_namespace",
            "version",
            "created_at",
            "updated_at",
            "last_used_at",
            "post_logout_redirect_uris",
            "attribute_claims",
            "require_pkce",
            "skip_consent",
            "registration_enabled",
            "hybrid_enabled",
            "require_pushed_authorization_requests",
            "backchannel_logout_uri",
            "backchannel_logout_session_required",
            "require_signed_request_object",
        ],
    ),
    ("client_secrets", &[]),
    (
        "accounts",
        &[
            "username_key",
            "email",
            "email_key",
            "email_verified",
            "phone_number",
            "phone_number_verified",
            "name",
            "given_name",
            "family_name",
            "attributes",
            "password_hash",
            "version",
            "created_at",
            "updated_at",
            "tokens_valid_after",
            "registration_expires_at",
            "external_id",
            "scim",
        ],
    ),
    // A group's namespace is read with a member's groups but decides nothing (the grants name
    // their namespaces), and no API moves a group to another namespace.
    ("account_groups", &["namespace", "description", "version", "created_at", "updated_at", "external_id"]),
    ("group_members", &[]),
];

fn epoch(db: &TestDb) -> i64 {
    db.number("SELECT epoch AS n FROM credential_epoch WHERE id = 1")
}

fn columns(db: &TestDb, table: &str) -> Vec<String> {
    if db.is_postgres() {
        db.texts(&format!(
            "SELECT column_name::text AS t FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
        ))
    } else {
        db.texts(&format!("SELECT name AS t FROM pragma_table_info('{table}') ORDER BY cid"))
    }
}

/// Whether `sql` moved the epoch.
fn moves(db: &TestDb, sql: &str) -> bool {
    let before = epoch(db);
    db.execute(sql);
    epoch(db) > before
}

#[test]
fn every_column_either_moves_the_epoch_or_is_named_as_not_read() {
    let app = TestApp::start();
    let db = &app.db;
    // A row in each table (SQLite's triggers are per row).
    app.create_namespace("shop");
    let (owner, _) = app.owner_with_client("owner", &["users:read@shop"], &["users:read@shop"]);
    let group = app.create_group("shop", "Support", &["users:read@shop"]);
    app.add_member("shop", &group, &owner);

    let mut wrong = Vec::new();
    for (table, not_read) in NOT_READ {
        let found = columns(db, table);
        assert!(!found.is_empty(), "no columns found for {table}");
        for name in not_read {
            assert!(found.iter().any(|c| c == name), "{table}.{name} is named here but no longer exists");
        }
        let not_read: BTreeSet<&str> = not_read.iter().copied().collect();
        for column in &found {
            let moved = moves(db, &format!("UPDATE {table} SET {column} = {column}"));
            let expected = !not_read.contains(column.as_str());
            if moved != expected {
                wrong.push(format!(
                    "{table}.{column}: {}",
                    if expected {
                        "authentication reads it but changing it does not move the epoch"
                    } else {
                        "moves the epoch but is named as not read"
                    }
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "the credential epoch's triggers and this list disagree:\n{}", wrong.join("\n"));

    // Inserting a secret or a membership and deleting any of the five moves it.
    let (client_uuid, owner_q) = (
        db.texts(&format!("SELECT id AS t FROM clients WHERE owner_account_id = '{owner}'")).remove(0),
        format!("'{owner}'"),
    );
    let now = if db.is_postgres() { "(now() at time zone 'utc')" } else { "CURRENT_TIMESTAMP" };
    for sql in [
        format!(
            "INSERT INTO client_secrets (id, client_id, secret_hash, created_at) \
             VALUES ('0190aaaa-0000-7000-8000-000000000001', '{client_uuid}', 'x', {now})"
        ),
        "DELETE FROM client_secrets WHERE id = '0190aaaa-0000-7000-8000-000000000001'".to_owned(),
        format!("DELETE FROM group_members WHERE account_id = {owner_q}"),
        format!("INSERT INTO group_members (group_id, account_id, created_at) VALUES ('{group}', {owner_q}, {now})"),
        format!("DELETE FROM account_groups WHERE id = '{group}'"),
        format!("DELETE FROM clients WHERE id = '{client_uuid}'"),
        format!("DELETE FROM accounts WHERE id = {owner_q}"),
    ] {
        assert!(moves(db, &sql), "does not move the epoch: {sql}");
    }
    // What happens on every request does not move it.
    let bootstrap = app.admin();
    let before = epoch(db);
    for _ in 0..3 {
        assert_eq!(bootstrap.get("/api/v1/namespaces/shop").status, 200);
    }
    assert_eq!(epoch(db), before, "authenticated reads (and the last-use touch) leave the epoch alone");
}

#[test]
fn a_change_made_in_sql_behind_the_servers_backs_reaches_the_next_request_on_every_replica() {
    let app = TestApp::start();
    let replica = app.replica();
    app.create_namespace("shop");
    // The client may read both; its owner holds only the first, until a group gives the second.
    let (owner, creds) =
        app.owner_with_client("owner", &["users:read@shop"], &["users:read@shop", "namespaces:read@shop"]);
    let group = app.create_group("shop", "Readers", &["namespaces:read@shop"]);
    let (here, there) = (app.as_client(&creds), replica.as_client(&creds));
    let both = |path: &str| (here.get(path).status, there.get(path).status);

    // Remembered on both replicas.
    for _ in 0..2 {
        assert_eq!(both("/api/v1/namespaces/shop/users"), (200, 200));
        assert_eq!(both("/api/v1/namespaces/shop"), (403, 403));
    }
    // A membership added in SQL: the group's grant reaches the client at once.
    let now = if app.db.is_postgres() { "(now() at time zone 'utc')" } else { "CURRENT_TIMESTAMP" };
    app.db.execute(&format!(
        "INSERT INTO group_members (group_id, account_id, created_at) VALUES ('{group}', '{owner}', {now})"
    ));
    assert_eq!(both("/api/v1/namespaces/shop"), (200, 200));
    // The owner's own grant taken away in SQL.
    app.db.execute(&format!("UPDATE accounts SET permissions = '[]' WHERE id = '{owner}'"));
    assert_eq!(both("/api/v1/namespaces/shop/users"), (403, 403));
    // The owner disabled in SQL: the client is refused outright.
    let yes = if app.db.is_postgres() { "true" } else { "1" };
    app.db.execute(&format!("UPDATE accounts SET disabled = {yes} WHERE id = '{owner}'"));
    assert_eq!(both("/api/v1/namespaces/shop"), (401, 401));
    // Enabled again, then the client's secrets removed in SQL.
    let no = if app.db.is_postgres() { "false" } else { "0" };
    app.db.execute(&format!("UPDATE accounts SET disabled = {no} WHERE id = '{owner}'"));
    assert_eq!(both("/api/v1/namespaces/shop"), (200, 200));
    app.db.execute(&format!(
        "DELETE FROM client_secrets WHERE client_id IN (SELECT id FROM clients WHERE client_id = '{}')",
        creds.client_id
    ));
    assert_eq!(both("/api/v1/namespaces/shop"), (401, 401));
}

#[test]
fn a_secret_that_expires_by_the_clock_stops_working_without_any_change() {
    let app = TestApp::start();
    app.create_namespace("shop");
    let (_, creds) = app.owner_with_client("owner", &["namespaces:read@shop"], &["namespaces:read@shop"]);
    let client = app.as_client(&creds);
    assert_eq!(client.get("/api/v1/namespaces/shop").status, 200);
    // The secret's expiry set in SQL to two seconds from now (this moves the epoch once), then
    // the credential remembered again before it passes.
    let soon = if app.db.is_postgres() {
        "(now() at time zone 'utc') + interval '2 seconds'"
    } else {
        "datetime('now', '+2 seconds')"
    };
    app.db.execute(&format!(
        "UPDATE client_secrets SET expires_at = {soon} WHERE client_id IN (SELECT id FROM clients WHERE client_id = '{}')",
        creds.client_id
    ));
    assert_eq!(client.get("/api/v1/namespaces/shop").status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(client.get("/api/v1/namespaces/shop").status, 401, "expired by the clock, nothing else changed");
}

#[test]
fn a_token_whose_signature_was_verified_once_is_not_trusted_with_other_claims() {
    use base64::Engine;
    use reqwest::Method;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let app = TestApp::start();
    app.create_namespace("shop");
    let (_, creds) = app.owner_with_client("owner", &["namespaces:read@shop"], &["namespaces:read@shop"]);
    let client = app.as_client(&creds);
    let answer =
        client.send(client.request(Method::POST, "/oauth/token").form(&[("grant_type", "client_credentials")]));
    let token = answer.json["access_token"].as_str().expect("an access token").to_owned();
    let bearer = |token: &str| app.anonymous().with_bearer(token).get("/api/v1/namespaces/shop").status;
    assert_eq!(bearer(&token), 200);
    assert_eq!(bearer(&token), 200, "verified before");
    // The same header and signature with other claims (another subject, a later expiry).
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["exp"] = serde_json::json!(claims["exp"].as_i64().unwrap() + 3600);
    let forged = format!("{}.{}.{}", parts[0], b64.encode(serde_json::to_vec(&claims).unwrap()), parts[2]);
    assert_eq!(bearer(&forged), 401, "the signature covers the claims, whatever was verified before");
    // One byte of the signature changed.
    let mut signature = b64.decode(parts[2]).unwrap();
    signature[0] ^= 1;
    let forged = format!("{}.{}.{}", parts[0], parts[1], b64.encode(signature));
    assert_eq!(bearer(&forged), 401);
    assert_eq!(bearer(&token), 200);
}

fn revocation_epoch(db: &TestDb) -> i64 {
    db.number("SELECT epoch AS n FROM revocation_epoch WHERE id = 1")
}

/// ADR 0026: each replica remembers the access tokens it found not revoked, under the
/// revocation epoch. A revocation, through the API on either replica or in SQL behind their
/// backs, reaches the next request on both; the Management API, introspection and the reads
/// themselves leave the epoch alone.
#[test]
fn a_revoked_token_is_refused_at_the_next_request_on_every_replica() {
    use reqwest::Method;
    let app = TestApp::start();
    let replica = app.replica();
    app.create_namespace("shop");
    let (_, creds) = app.owner_with_client("owner", &["namespaces:read@shop"], &["namespaces:read@shop"]);
    let client = app.as_client(&creds);
    let issue = || {
        let answer =
            client.send(client.request(Method::POST, "/oauth/token").form(&[("grant_type", "client_credentials")]));
        answer.json["access_token"].as_str().expect("an access token").to_owned()
    };
    let both = |token: &str| {
        (
            app.anonymous().with_bearer(token).get("/api/v1/namespaces/shop").status,
            replica.anonymous().with_bearer(token).get("/api/v1/namespaces/shop").status,
        )
    };
    let active_at_replica = |token: &str| {
        let asker = replica.as_client(&creds);
        let answer = asker.send(asker.request(Method::POST, "/oauth/introspect").form(&[("token", token)]));
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json["active"].as_bool().expect("active")
    };

    // Revoked through the API on one replica: refused on both at once.
    let (token, other) = (issue(), issue());
    let before = revocation_epoch(&app.db);
    for _ in 0..2 {
        assert_eq!(both(&token), (200, 200));
        assert_eq!(both(&other), (200, 200));
        assert!(active_at_replica(&token));
    }
    assert_eq!(revocation_epoch(&app.db), before, "using and introspecting tokens moves nothing");
    let revoked = client.send(client.request(Method::POST, "/oauth/revoke").form(&[("token", token.as_str())]));
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert!(revocation_epoch(&app.db) > before, "a revocation moves the epoch");
    assert_eq!(both(&token), (401, 401), "remembered as not revoked before, refused now");
    assert!(!active_at_replica(&token));
    assert_eq!(both(&other), (200, 200), "another token of the same client still counts");

    // Revoked in SQL, behind both servers' backs.
    let jti = {
        use base64::Engine;
        let claims = other.split('.').nth(1).expect("a JWT");
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).expect("base64url claims");
        let claims: serde_json::Value = serde_json::from_slice(&claims).expect("JSON claims");
        claims["jti"].as_str().expect("a jti").to_owned()
    };
    let later = if app.db.is_postgres() {
        "(now() at time zone 'utc') + interval '1 hour'"
    } else {
        "datetime('now', '+1 hour')"
    };
    app.db.execute(&format!("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ('{jti}', {later})"));
    assert_eq!(both(&other), (401, 401));

    // Forgetting an expired revocation moves nothing (nothing remembered can be wrong by it).
    let epoch = revocation_epoch(&app.db);
    app.db.execute(&format!("DELETE FROM revoked_access_tokens WHERE jti = '{jti}'"));
    assert_eq!(revocation_epoch(&app.db), epoch);
}
