//! An account enrols a TOTP factor itself (the console's Security page): a fresh secret, sealed
//! with the master key to its challenge and kept in the database for 5 minutes, shown as a QR
//! code drawn by the server and as base32; the first right code makes it a factor. Both steps
//! need a sign-in within the last 5 minutes, as adding a passkey does (ADR 0013).

use base64::Engine;
use serde_json::json;
use uuid::Uuid;

use super::accounts::{self, Account};
use super::crypto::MasterKey;
use super::factors::{self, Factor, FRESH_SIGN_IN};
use super::Context;
use crate::db::factor_challenges::Ceremony;
use crate::db::{self, Conn};
use crate::error::{Error, Result};

const PURPOSE: &str = "totp";
const LIFETIME: chrono::Duration = chrono::Duration::minutes(5);

/// A secret waiting for its first code.
pub struct Enrolment {
    pub id: String,
    /// Base32, for typing into an app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The QR code of `otpauth_uri`, an SVG element.
    pub qr_svg: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

fn seal_context(id: &str) -> String {
    format!("totp-enrolment:{id}")
}

fn require_fresh(ctx: &Context) -> Result<()> {
    if ctx.caller.auth_time.is_some_and(|t| db::now() - t <= FRESH_SIGN_IN) {
        return Ok(());
    }
    Err(Error::forbidden(
        "adding an authenticator app needs a sign-in within the last 5 minutes: sign in again (max_age=0)",
    ))
}

fn label(account: &Account) -> String {
    account.username.clone().or_else(|| account.email.clone()).unwrap_or_else(|| account.id.to_string())
}

/// Starts an enrolment for the caller's own account (one at a time: a new one replaces it).
pub fn begin(conn: &mut Conn, ctx: &Context, master: &MasterKey, issuer: &str) -> Result<Enrolment> {
    let account = accounts::own(conn, ctx)?;
    require_fresh(ctx)?;
    let secret = factors::new_totp_secret();
    let id = super::crypto::random_token(16);
    let sealed = master.seal(&seal_context(&id), &secret)?;
    let ceremony = Ceremony {
        id: id.clone(),
        purpose: PURPOSE.into(),
        request_id: None,
        account: Some(account.id),
        state: base64::engine::general_purpose::STANDARD.encode(sealed),
        expires_at: db::now() + LIFETIME,
    };
    db::factor_challenges::replace_ceremony(conn, &ceremony)?;
    let otpauth_uri = factors::otpauth_uri(issuer, &label(&account), &secret);
    let qr_svg = factors::qr_svg(&otpauth_uri)?;
    Ok(Enrolment { id, secret: factors::base32(&secret), otpauth_uri, qr_svg, expires_at: ceremony.expires_at })
}

/// Confirms an enrolment with a first code from the app: the factor, named.
pub fn finish(conn: &mut Conn, ctx: &Context, master: &MasterKey, id: &str, name: &str, code: &str) -> Result<Factor> {
    let account = accounts::own(conn, ctx)?;
    require_fresh(ctx)?;
    let ceremony = db::factor_challenges::get_ceremony(conn, id, db::now())?
        .filter(|c| c.purpose == PURPOSE && c.account == Some(account.id))
        .ok_or_else(|| Error::invalid("enrolment_id", "no such enrolment in progress (it expired, or was used)"))?;
    let sealed = base64::engine::general_purpose::STANDARD.decode(&ceremony.state).map_err(Error::internal)?;
    let secret = master.open(&seal_context(id), &sealed)?;
    let now = db::now();
    let Some(step) = factors::totp_match(&secret, code, now.timestamp(), None) else {
        return Err(Error::invalid("code", "that code is not right: enter the code the app shows now"));
    };
    if !db::factor_challenges::delete_ceremony(conn, id)? {
        return Err(Error::invalid("enrolment_id", "no such enrolment in progress (it expired, or was used)"));
    }
    let factor_id = Uuid::now_v7();
    let factor = Factor {
        id: factor_id,
        account: account.id,
        kind: factors::TOTP.into(),
        name: name.to_owned(),
        secret: Some(master.seal(&factors::seal_context(factor_id), &secret)?),
        public_data: None,
        created_at: now,
        last_used_at: Some(now),
        last_step: Some(step),
    };
    db::factors::insert(conn, &factor)?;
    db::audit::append(
        conn,
        vec![ctx
            .event("user.factor.enrol")
            .target("account", account.id)
            .namespace(&account.namespace)
            .changes(json!({ "factor": factor.to_api(), "via": "self-service" }))],
    )?;
    Ok(factor)
}
