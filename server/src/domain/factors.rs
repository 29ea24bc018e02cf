//! Second factors: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of drift
//! either way, each step accepted once), recovery codes, who must use a factor, and what a
//! sign-in's `amr` and `acr` say. The stored record ([`Factor`]) is [`crate::db::factors`]'s.
//!
//! Recovery codes carry 50 random bits each and are stored as keyed hashes (HMAC-SHA-256 under
//! a key derived from the master key, bound to the account): guessing one online is stopped by
//! the throttle, and a copy of the database without the master key does not let anybody test
//! guesses offline at all, so a slow password hash would add cost to every use and nothing to
//! their safety.

use gatehouse_api_types::{Factor as ApiFactor, MfaPolicy};
use rand::RngCore;
use uuid::Uuid;

use serde_json::json;

use super::accounts::{self, Account};
use super::crypto::MasterKey;
use super::power::{require_power_over, Control};
use super::Context;
pub use crate::db::factors::Factor;
use crate::db::ids::AccountId;
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// The kind of a TOTP factor.
pub const TOTP: &str = "totp";
/// The `acr` of a sign-in with a password alone, and of one with a second factor.
pub const ACR_PASSWORD: &str = "urn:gatehouse:acr:pwd";
pub const ACR_MFA: &str = "urn:gatehouse:acr:mfa";
/// How many recovery codes an account gets at a time.
pub const RECOVERY_CODES: usize = 10;

const STEP_SECONDS: i64 = 30;
const DIGITS: usize = 6;
const SECRET_BYTES: usize = 20;

impl Factor {
    /// What the API shows: never the secret.
    pub fn to_api(&self) -> ApiFactor {
        ApiFactor {
            id: self.id,
            kind: self.kind.clone(),
            name: self.name.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

/// What the secret of a factor is sealed to: a sealed secret copied to another row does not open.
pub fn seal_context(factor: Uuid) -> String {
    format!("factor:{factor}")
}

/// What a secret being enrolled is sealed to, on its authorization request.
pub fn enrol_seal_context(request_id: &str) -> String {
    format!("factor-enrolment:{request_id}")
}

// ---------------------------------------------------------------- TOTP

/// A fresh TOTP secret (160 bits, as RFC 4226 recommends).
pub fn new_totp_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The time step of a moment (Unix seconds).
pub fn totp_step(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code of `step` (RFC 6238 with SHA-1, RFC 4226's dynamic truncation).
pub fn totp_code(secret: &[u8], step: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = ring::hmac::sign(&key, &(step as u64).to_be_bytes());
    let mac = mac.as_ref();
    let offset = (mac[mac.len() - 1] & 0x0f) as usize;
    let binary = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    format!("{:0width$}", binary % 10u32.pow(DIGITS as u32), width = DIGITS)
}

/// The step whose code `code` is, within one step of `now` and after `last_step` (a step is
/// accepted once). Every candidate is compared, in constant time.
pub fn totp_match(secret: &[u8], code: &str, unix_now: i64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = totp_step(unix_now);
    let mut matched = None;
    for step in [now - 1, now, now + 1] {
        let fits = super::crypto::same(&totp_code(secret, step), &code);
        if fits && last_step.is_none_or(|last| step > last) {
            matched = Some(step);
        }
    }
    matched
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u64, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u64::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://totp/…` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, account_label: &str, secret: &[u8]) -> String {
    let issuer_label = issuer.trim_start_matches("https://").trim_start_matches("http://");
    let label = format!("{issuer_label}:{account_label}");
    let mut url = url::Url::parse("otpauth://totp/").expect("static URL");
    url.set_path(&format!("/{}", urlencode(&label)));
    url.query_pairs_mut()
        .append_pair("secret", &base32(secret))
        .append_pair("issuer", issuer_label)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", "6")
        .append_pair("period", "30");
    url.to_string()
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The QR code of `text`, as an inline SVG element (no external service, no script).
pub fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(crate::error::Error::internal)?;
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build();
    // Inline in HTML: without the XML declaration.
    Ok(svg.find("<svg").map(|start| svg[start..].to_owned()).unwrap_or(svg))
}

// ---------------------------------------------------------------- recovery codes

/// Ten fresh codes of 50 random bits, written `xxxxx-xxxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 7];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let text = base32(&bytes).to_ascii_lowercase();
            format!("{}-{}", &text[..5], &text[5..10])
        })
        .collect()
}

/// The stored form of a recovery code of `account`, whatever its case and dashes.
pub fn recovery_code_hash(master: &MasterKey, account: Uuid, code: &str) -> String {
    let normalized: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).take(64).collect();
    master.keyed_hash("recovery-code", &format!("{account}:{normalized}"))
}

/// Replaces the account's recovery codes with fresh ones (inside the caller's transaction) and
/// returns them, for showing once.
pub fn replace_recovery_codes(conn: &mut Conn, master: &MasterKey, account: Uuid) -> Result<Vec<String>> {
    let codes = new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_code_hash(master, account, c)).collect();
    db::factors::replace_recovery_codes(conn, AccountId(account), &hashes, db::now())?;
    Ok(codes)
}

/// Whether `text` looks like a recovery code rather than a one-time code.
pub fn is_recovery_code(text: &str) -> bool {
    text.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 10
}

// ---------------------------------------------------------------- policy

/// Why an account must sign in with a second factor, if it must.
pub fn required_by(
    conn: &mut Conn,
    account: &Account,
    to_console: bool,
    console_rule: bool,
    acr_values: Option<&str>,
) -> Result<Option<&'static str>> {
    if acr_values.is_some_and(asks_for_mfa) {
        return Ok(Some("the application asks for a second factor"));
    }
    if to_console && console_rule && holds_write(account) {
        return Ok(Some("accounts that can change things sign in to the console with a second factor"));
    }
    let namespace = db::namespaces::get(conn, &account.namespace)?;
    if namespace.is_some_and(|n| n.mfa == MfaPolicy::Required) {
        return Ok(Some("the namespace requires a second factor"));
    }
    Ok(None)
}

/// Whether the account holds any grant that changes something (`write`, or every action).
pub fn holds_write(account: &Account) -> bool {
    account.power().iter().any(|g| matches!(g.action(), "write" | "*"))
}

/// Whether `acr_values` asks for a sign-in with a second factor.
pub fn asks_for_mfa(acr_values: &str) -> bool {
    acr_values.split(' ').any(|v| v == ACR_MFA)
}

// ---------------------------------------------------------------- amr and acr

/// How a sign-in was made: RFC 8176 `amr` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amr(Vec<String>);

impl Amr {
    pub fn password() -> Amr {
        Amr(vec!["pwd".into()])
    }

    /// A password and a one-time code (TOTP or a recovery code).
    pub fn password_and_otp() -> Amr {
        Amr(vec!["pwd".into(), "otp".into(), "mfa".into()])
    }

    /// A passkey: `swk` when it may be synced (backup-eligible), `hwk` when bound to its
    /// device; after a password, `pwd` and `mfa` too. Alone it is multi-factor all the same
    /// (every passkey is used with user verification), which [`Amr::is_mfa`] says.
    pub fn passkey(synced: bool, after_password: bool) -> Amr {
        let key = if synced { "swk" } else { "hwk" };
        if after_password {
            Amr(vec!["pwd".into(), key.into(), "mfa".into()])
        } else {
            Amr(vec![key.into()])
        }
    }

    /// From its stored form (space-separated).
    pub fn parse(text: &str) -> Amr {
        Amr(text.split(' ').filter(|v| !v.is_empty()).map(str::to_owned).collect())
    }

    pub fn values(&self) -> &[String] {
        &self.0
    }

    /// A second factor after a password, or a passkey (possession, and the PIN or biometric
    /// of its user verification).
    pub fn is_mfa(&self) -> bool {
        self.0.iter().any(|v| matches!(v.as_str(), "mfa" | "hwk" | "swk"))
    }

    pub fn acr(&self) -> &'static str {
        if self.is_mfa() {
            ACR_MFA
        } else {
            ACR_PASSWORD
        }
    }
}

impl std::fmt::Display for Amr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

// ---------------------------------------------------------------- management and self-service

/// How recent a sign-in must be to regenerate recovery codes.
pub const FRESH_SIGN_IN: chrono::Duration = chrono::Duration::minutes(5);

/// The factors of account `id` in `namespace` (`users:read@<namespace>`).
pub fn list_for_user(conn: &mut Conn, ctx: &Context, namespace: &str, id: Uuid) -> Result<Vec<Factor>> {
    ctx.caller.authorize("users", "read", namespace)?;
    let account = accounts::find(conn, namespace, id)?;
    db::factors::list(conn, AccountId(account.id))
}

/// Removes a factor of account `id` (`users:write@<namespace>`, and power over the account: it
/// weakens how the account signs in). Every way the account is signed in ends, as a password
/// reset ends them; its recovery codes go with its last factor.
pub fn delete_for_user(conn: &mut Conn, ctx: &Context, namespace: &str, id: Uuid, factor: Uuid) -> Result<()> {
    ctx.caller.authorize("users", "write", namespace)?;
    let account = accounts::find(conn, namespace, id)?;
    require_power_over(&ctx.caller, &account.power(), Control::Password)?;
    remove(conn, ctx, account, factor, true)
}

/// The caller's own factors (an account's token with the `account` scope).
pub fn list_own(conn: &mut Conn, ctx: &Context) -> Result<Vec<Factor>> {
    let account = accounts::own(conn, ctx)?;
    db::factors::list(conn, AccountId(account.id))
}

/// Renames one of the caller's own factors.
pub fn rename_own(conn: &mut Conn, ctx: &Context, factor: Uuid, name: &str) -> Result<Factor> {
    let account = accounts::own(conn, ctx)?;
    let before = own_factor(conn, &account, factor)?;
    db::factors::rename(conn, AccountId(account.id), factor, name)?;
    db::audit::append(
        conn,
        vec![ctx
            .event("user.factor.rename")
            .target("account", account.id)
            .namespace(&account.namespace)
            .changes(json!({ "factor": factor, "before": { "name": before.name }, "after": { "name": name } }))],
    )?;
    Ok(Factor { name: name.to_owned(), ..before })
}

/// Removes one of the caller's own factors (its other sign-ins stay: it is the account itself).
pub fn delete_own(conn: &mut Conn, ctx: &Context, factor: Uuid) -> Result<()> {
    let account = accounts::own(conn, ctx)?;
    remove(conn, ctx, account, factor, false)
}

/// New recovery codes for the caller (the old ones stop working), if it signed in within
/// [`FRESH_SIGN_IN`] and has a factor.
pub fn regenerate_own_recovery_codes(conn: &mut Conn, ctx: &Context, master: &MasterKey) -> Result<Vec<String>> {
    let account = accounts::own(conn, ctx)?;
    let fresh = ctx.caller.auth_time.is_some_and(|t| db::now() - t <= FRESH_SIGN_IN);
    if !fresh {
        return Err(Error::forbidden(
            "regenerating recovery codes needs a sign-in within the last 5 minutes: sign in again (max_age=0)",
        ));
    }
    if !db::factors::any(conn, AccountId(account.id))? {
        return Err(Error::Conflict("recovery codes go with a second factor, and this account has none".into()));
    }
    let codes = replace_recovery_codes(conn, master, account.id)?;
    db::audit::append(
        conn,
        vec![ctx
            .event("user.recovery_codes.regenerate")
            .target("account", account.id)
            .namespace(&account.namespace)
            .changes(json!({ "recovery_codes": codes.len() }))],
    )?;
    Ok(codes)
}

fn own_factor(conn: &mut Conn, account: &Account, factor: Uuid) -> Result<Factor> {
    db::factors::list(conn, AccountId(account.id))?
        .into_iter()
        .find(|f| f.id == factor)
        .ok_or_else(|| Error::NotFound(format!("no factor {factor} on this account")))
}

fn remove(conn: &mut Conn, ctx: &Context, mut account: Account, factor: Uuid, sign_out: bool) -> Result<()> {
    let removed = own_factor(conn, &account, factor)?;
    db::factors::delete(conn, AccountId(account.id), factor)?;
    let mut changes = json!({ "factor": removed.to_api() });
    if !db::factors::any(conn, AccountId(account.id))? {
        changes["recovery_codes_removed"] = json!(db::factors::delete_recovery_codes(conn, AccountId(account.id))?);
    }
    if sign_out {
        let now = db::now();
        let expected = account.version;
        changes["signed_out"] = accounts::end_sign_ins(conn, &mut account, now)?;
        account.version += 1;
        account.updated_at = now;
        db::accounts::update(conn, &account, expected)?;
    }
    db::audit::append(
        conn,
        vec![ctx
            .event("user.factor.delete")
            .target("account", account.id)
            .namespace(&account.namespace)
            .changes(changes)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (its 8-digit values, cut to the last six digits).
    #[test]
    fn totp_matches_rfc6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight) in
            [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924")]
        {
            assert_eq!(totp_code(secret, totp_step(time)), eight[2..]);
        }
    }

    #[test]
    fn a_code_fits_one_step_either_way_and_once() {
        let secret = new_totp_secret();
        let now = 1_700_000_000;
        let step = totp_step(now);
        assert_eq!(totp_match(&secret, &totp_code(&secret, step), now, None), Some(step));
        assert_eq!(totp_match(&secret, &totp_code(&secret, step - 1), now, None), Some(step - 1));
        assert_eq!(totp_match(&secret, &totp_code(&secret, step + 1), now, None), Some(step + 1));
        assert_eq!(totp_match(&secret, &totp_code(&secret, step - 2), now, None), None);
        assert_eq!(totp_match(&secret, &totp_code(&secret, step), now, Some(step)), None);
        assert_eq!(totp_match(&secret, "12345", now, None), None);
    }

    #[test]
    fn base32_is_rfc4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_hash_regardless_of_case_and_dashes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<std::collections::BTreeSet<_>>().len(), 10);
        assert!(codes.iter().all(|c| is_recovery_code(c)));
        let key = MasterKey::generate();
        let account = Uuid::now_v7();
        let upper = codes[0].to_uppercase().replace('-', "");
        assert_eq!(recovery_code_hash(&key, account, &codes[0]), recovery_code_hash(&key, account, &upper));
        assert_ne!(recovery_code_hash(&key, account, &codes[0]), recovery_code_hash(&key, Uuid::now_v7(), &codes[0]));
    }

    #[test]
    fn amr_says_mfa_and_acr_follows() {
        assert_eq!(Amr::password().acr(), ACR_PASSWORD);
        let both = Amr::parse(&Amr::password_and_otp().to_string());
        assert!(both.is_mfa());
        assert_eq!(both.acr(), ACR_MFA);
    }
}
