//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0). Each client that received
//! tokens in a sign-in session ([`db::session_clients`]) and has a `backchannel_logout_uri` is
//! told when the session ends: a message in the outbox, written in the transaction that ends
//! the session (so a rolled-back change tells nobody, and a restart loses nothing), delivered
//! by the outbox worker as a logout token (`crate::outbox`), retried with back-off.
//!
//! The queued body is the token's subject part (`aud`, `sub`, `sid`), not sealed: nothing in
//! it is a secret (the same `sid` and `sub` are in the client's ID tokens). The worker adds
//! `iss`, `iat`, `exp`, `jti` and `events` and signs it when it sends it, so a retried token
//! is fresh.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::db::ids::AccountId;
use crate::db::outbox::NewMessage;
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// The outbox channel of logout tokens.
pub const CHANNEL: &str = "backchannel_logout";
/// The JWT `typ` of a logout token.
pub const TYP: &str = "logout+jwt";
/// The event a logout token carries.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid after it is signed.
pub const LIFETIME_SECONDS: i64 = 120;

/// Queues a logout token for each client of `sessions` (of `account`) that takes them; returns
/// how many. Inside the transaction that ends the sessions.
pub fn queue(conn: &mut Conn, account: AccountId, sessions: &[String], now: DateTime<Utc>) -> Result<usize> {
    let targets = db::session_clients::logout_targets(conn, sessions)?;
    for target in &targets {
        let id = Uuid::now_v7().to_string();
        let body = json!({ "aud": target.client_id, "sub": account.to_string(), "sid": target.session_id });
        let client = target.client.to_string();
        let message = NewMessage {
            id: &id,
            channel: CHANNEL,
            recipient: &target.backchannel_logout_uri,
            subject: &client,
            body: body.to_string().into_bytes(),
        };
        db::outbox::insert(conn, message, now)?;
    }
    Ok(targets.len())
}

/// Ends one sign-in session of `account` and queues its logout tokens; false when it had ended.
pub fn end_session(conn: &mut Conn, account: AccountId, session: &str, now: DateTime<Utc>) -> Result<bool> {
    let ended = db::oauth::end_session(conn, session, now)?;
    if ended {
        queue(conn, account, &[session.to_owned()], now)?;
    }
    Ok(ended)
}

/// Ends every live sign-in session of `account` and queues their logout tokens; returns how
/// many sessions ended.
pub fn end_account_sessions(conn: &mut Conn, account: AccountId, now: DateTime<Utc>) -> Result<usize> {
    let live = db::oauth::live_sessions(conn, account, now)?;
    let ended = db::oauth::end_account_sessions(conn, account, now)?;
    queue(conn, account, &live, now)?;
    Ok(ended)
}

/// The claims of the logout token for a queued body, as signed at `now`.
pub fn claims(queued: &[u8], issuer: &str, now: DateTime<Utc>) -> Result<Map<String, Value>> {
    let mut claims: Map<String, Value> = serde_json::from_slice(queued).map_err(Error::internal)?;
    let iat = now.timestamp();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("iat".into(), json!(iat));
    claims.insert("exp".into(), json!(iat + LIFETIME_SECONDS));
    claims.insert("jti".into(), json!(crate::domain::crypto::random_token(16)));
    claims.insert("events".into(), json!({ EVENT: {} }));
    Ok(claims)
}

/// The client (its internal id) and session a queued logout token is for, for the audit event.
pub fn described(subject: &str, queued: &[u8]) -> (Option<Uuid>, Value) {
    let body: Value = serde_json::from_slice(queued).unwrap_or(Value::Null);
    (subject.parse().ok(), json!({ "client_id": body["aud"], "sid": body["sid"] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logout_token_has_the_claims_the_spec_asks_for_and_no_nonce() {
        let queued = json!({ "aud": "c1", "sub": "a1", "sid": "s1" }).to_string();
        let now = Utc::now();
        let c = claims(queued.as_bytes(), "https://id.example", now).unwrap();
        assert_eq!(c["iss"], json!("https://id.example"));
        assert_eq!(c["aud"], json!("c1"));
        assert_eq!(c["sub"], json!("a1"));
        assert_eq!(c["sid"], json!("s1"));
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), LIFETIME_SECONDS);
        assert_eq!(c["events"], json!({ EVENT: {} }));
        assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));
        assert!(!c.contains_key("nonce"));
        let again = claims(queued.as_bytes(), "https://id.example", now).unwrap();
        assert_ne!(c["jti"], again["jti"], "each delivery is a token of its own");
    }
}
