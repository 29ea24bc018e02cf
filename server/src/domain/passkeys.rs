//! WebAuthn passkeys (ADR 0013), with webauthn-rs: the relying party derived from the issuer,
//! registration of a passkey by its own account, and the verification of an assertion — as a
//! second factor after a password, or alone (passwordless, a discoverable credential).
//!
//! Every passkey is registered and used with user verification (webauthn-rs's passkeys
//! require it): the authenticator checked a PIN or a biometric, so a passkey sign-in is
//! multi-factor by itself. `amr` says `hwk` for a credential bound to its device and `swk` for
//! one that may be synced (backup-eligible); `mfa` joins them after a password.
//!
//! The state of a ceremony (webauthn-rs's, with the challenge) is kept in the database and
//! taken once ([`crate::db::passkeys`]): the browser's answer may reach another replica.

use serde_json::json;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};

use super::accounts::{self, Account};
use super::factors::{self, Factor, FRESH_SIGN_IN};
use super::Context;
use crate::db::factor_challenges::Ceremony;
use crate::db::ids::AccountId;
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// The kind of a passkey factor.
pub const WEBAUTHN: &str = "webauthn";
/// How long a browser has to answer a challenge.
pub const CEREMONY_LIFETIME: chrono::Duration = chrono::Duration::minutes(5);

const REGISTER: &str = "register";
const SECOND_FACTOR: &str = "second-factor";
const PASSWORDLESS: &str = "passwordless";

/// The relying party of an issuer: its id is the issuer's host, its origin the issuer's
/// origin. None when the issuer's host is not a domain name (an IP address cannot be a
/// relying-party id): passkeys are then unavailable, and the server says so at start.
pub fn relying_party(issuer: &str) -> Option<Webauthn> {
    let url = Url::parse(issuer).ok()?;
    let host = url.domain()?.to_owned();
    let origin = Url::parse(&url.origin().ascii_serialization()).ok()?;
    WebauthnBuilder::new(&host, &origin).ok()?.rp_name("Gatehouse").build().ok()
}

/// A challenge for the browser: the ceremony to name in the answer and the options of
/// `navigator.credentials.create` or `.get` (webauthn-rs's JSON, binary values in base64url).
pub struct Challenge {
    pub ceremony: String,
    pub options: serde_json::Value,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

fn unavailable() -> Error {
    Error::Conflict("passkeys need an issuer whose host is a domain name (set --issuer)".into())
}

fn refused(what: impl std::fmt::Display) -> Error {
    Error::invalid("credential", format!("the passkey was not accepted: {what}"))
}

/// The passkey of a stored factor.
pub fn passkey_of(factor: &Factor) -> Result<Passkey> {
    let data = factor.public_data.as_deref().ok_or_else(|| Error::internal("a passkey without its credential"))?;
    serde_json::from_str(data).map_err(Error::internal)
}

/// The base64url form of a credential id, as stored.
pub fn credential_key(id: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

fn store(conn: &mut Conn, ceremony: Ceremony) -> Result<Challenge> {
    db::factor_challenges::replace_ceremony(conn, &ceremony)?;
    Ok(Challenge { ceremony: ceremony.id, options: serde_json::Value::Null, expires_at: ceremony.expires_at })
}

fn new_ceremony(purpose: &str, request: Option<&str>, account: Option<Uuid>, state: String) -> Ceremony {
    Ceremony {
        id: super::crypto::random_token(16),
        purpose: purpose.to_owned(),
        request_id: request.map(str::to_owned),
        account,
        state,
        expires_at: db::now() + CEREMONY_LIFETIME,
    }
}

// ---------------------------------------------------------------- registration (self-service)

/// Starts the registration of a passkey for the caller's own account (a sign-in within the
/// last 5 minutes: a stolen session does not get to add a way in).
pub fn begin_registration(conn: &mut Conn, ctx: &Context, rp: Option<&Webauthn>) -> Result<Challenge> {
    let account = accounts::own(conn, ctx)?;
    require_fresh(ctx, "adding a passkey")?;
    start_registration(conn, rp.ok_or_else(unavailable)?, &account, None)
}

/// The options of a registration for `account`, its ceremony bound to authorization request
/// `request` when it is part of a hosted sign-in. The credential must be discoverable, so that
/// it also signs in without a password.
fn start_registration(conn: &mut Conn, rp: &Webauthn, account: &Account, request: Option<&str>) -> Result<Challenge> {
    let existing: Vec<_> = db::passkeys::of_account(conn, AccountId(account.id))?
        .iter()
        .map(|(f, _)| passkey_of(f).map(|p| p.cred_id().clone()))
        .collect::<Result<_>>()?;
    let name = label(account);
    let (options, state) = rp
        .start_passkey_registration(account.id, &name, &name, Some(existing))
        .map_err(|e| Error::internal(format!("passkey registration: {e}")))?;
    // webauthn-rs asks for a non-discoverable credential; a passkey that signs in without a
    // password must be discoverable (resident).
    let mut options = serde_json::to_value(&options).map_err(Error::internal)?;
    options["publicKey"]["authenticatorSelection"]["residentKey"] = json!("required");
    options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(true);
    let state = serde_json::to_string(&state).map_err(Error::internal)?;
    let mut challenge = store(conn, new_ceremony(REGISTER, request, Some(account.id), state))?;
    challenge.options = options;
    Ok(challenge)
}

/// Finishes a registration started by the same account: the passkey is stored under `name`.
pub fn finish_registration(
    conn: &mut Conn,
    ctx: &Context,
    rp: Option<&Webauthn>,
    ceremony: &str,
    name: &str,
    credential: &serde_json::Value,
) -> Result<Factor> {
    let account = accounts::own(conn, ctx)?;
    let rp = rp.ok_or_else(unavailable)?;
    let no_such = || Error::invalid("registration_id", "no such registration in progress (it expired, or was used)");
    let taken = db::factor_challenges::take_ceremony(conn, ceremony, db::now())?
        .filter(|c| c.purpose == REGISTER && c.account == Some(account.id) && c.request_id.is_none())
        .ok_or_else(no_such)?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(credential.clone()).map_err(|e| Error::invalid("credential", e.to_string()))?;
    let (factor, _) = register(conn, rp, &account, &taken, name, &credential)?;
    let mut changes = json!({ "factor": factor.to_api(), "via": "self-service" });
    // The first factor of an account comes with recovery codes; they are shown by
    // regenerating them (which needs the same fresh sign-in).
    if db::factors::list(conn, AccountId(account.id))?.len() == 1 {
        changes["recovery_codes"] = json!(0);
    }
    db::audit::append(
        conn,
        vec![ctx
            .event("user.factor.enrol")
            .target("account", account.id)
            .namespace(&account.namespace)
            .changes(changes)],
    )?;
    Ok(factor)
}

/// Verifies a registration answer to a taken ceremony and stores the passkey; the factor, and
/// whether the credential may be synced (backup-eligible).
fn register(
    conn: &mut Conn,
    rp: &Webauthn,
    account: &Account,
    taken: &Ceremony,
    name: &str,
    credential: &RegisterPublicKeyCredential,
) -> Result<(Factor, bool)> {
    let state: PasskeyRegistration = serde_json::from_str(&taken.state).map_err(Error::internal)?;
    let passkey = rp.finish_passkey_registration(credential, &state).map_err(refused)?;
    let key = credential_key(passkey.cred_id().as_ref());
    if db::passkeys::credential_exists(conn, &key)? {
        return Err(Error::Conflict("this passkey is registered already".into()));
    }
    let stored = serde_json::to_value(&passkey).map_err(Error::internal)?;
    let synced = stored["cred"]["backup_eligible"] == json!(true);
    let now = db::now();
    let factor = Factor {
        id: Uuid::now_v7(),
        account: account.id,
        kind: WEBAUTHN.into(),
        name: name.to_owned(),
        secret: None,
        public_data: Some(stored.to_string()),
        created_at: now,
        last_used_at: None,
        last_step: None,
    };
    db::passkeys::insert(conn, &factor, &key, 0)?;
    Ok((factor, synced))
}

// ---------------------------------------------------------------- enrolment (hosted pages)

/// Starts the registration of a passkey by an account the hosted pages are taking through
/// enrolment (its password was right and it must have a factor), for authorization request
/// `request`.
pub fn begin_enrolment(conn: &mut Conn, rp: &Webauthn, request: &str, account: &Account) -> Result<Challenge> {
    start_registration(conn, rp, account, Some(request))
}

/// Finishes an enrolment started for `request` and `account` (inside a write transaction): the
/// stored passkey and whether it may be synced; `Err(reason)` for the audit log when the answer
/// is refused (the browser is told the same thing every time).
pub fn finish_enrolment(
    conn: &mut Conn,
    rp: &Webauthn,
    request: &str,
    account: &Account,
    ceremony: &str,
    name: &str,
    credential: &str,
) -> Result<std::result::Result<(Factor, bool), &'static str>> {
    let Some(taken) = db::factor_challenges::take_ceremony(conn, ceremony, db::now())? else {
        return Ok(Err("passkey enrolment: no such challenge (expired or used)"));
    };
    if taken.purpose != REGISTER || taken.request_id.as_deref() != Some(request) || taken.account != Some(account.id) {
        return Ok(Err("passkey enrolment: the challenge belongs to another sign-in"));
    }
    let Ok(credential) = serde_json::from_str::<RegisterPublicKeyCredential>(credential) else {
        return Ok(Err("passkey enrolment: malformed answer"));
    };
    match register(conn, rp, account, &taken, name, &credential) {
        Ok(registered) => Ok(Ok(registered)),
        Err(Error::Invalid { .. } | Error::Conflict(_)) => Ok(Err("passkey enrolment: the new passkey was refused")),
        Err(e) => Err(e),
    }
}

fn require_fresh(ctx: &Context, what: &str) -> Result<()> {
    if ctx.caller.auth_time.is_some_and(|t| db::now() - t <= FRESH_SIGN_IN) {
        return Ok(());
    }
    Err(Error::forbidden(format!("{what} needs a sign-in within the last 5 minutes: sign in again (max_age=0)")))
}

fn label(account: &Account) -> String {
    account.username.clone().or_else(|| account.email.clone()).unwrap_or_else(|| account.id.to_string())
}

// ---------------------------------------------------------------- sign-in (hosted pages)

/// Starts a sign-in with a passkey for an authorization request: with the passkeys of
/// `account` (a second factor after its password), or with any discoverable credential
/// (passwordless, `account` None).
pub fn begin_sign_in(conn: &mut Conn, rp: &Webauthn, request: &str, account: Option<Uuid>) -> Result<Challenge> {
    let (options, purpose, state) = match account {
        Some(account) => {
            let passkeys: Vec<Passkey> = db::passkeys::of_account(conn, AccountId(account))?
                .iter()
                .map(|(f, _)| passkey_of(f))
                .collect::<Result<_>>()?;
            if passkeys.is_empty() {
                return Err(Error::Conflict("this account has no passkey".into()));
            }
            let (options, state) = rp.start_passkey_authentication(&passkeys).map_err(Error::internal)?;
            (options, SECOND_FACTOR, serde_json::to_string(&state).map_err(Error::internal)?)
        }
        None => {
            let (options, state) = rp.start_discoverable_authentication().map_err(Error::internal)?;
            (options, PASSWORDLESS, serde_json::to_string(&state).map_err(Error::internal)?)
        }
    };
    let mut challenge = store(conn, new_ceremony(purpose, Some(request), account, state))?;
    challenge.options = serde_json::to_value(&options).map_err(Error::internal)?;
    Ok(challenge)
}

/// Whose passkey an answer claims to be: the account owning its credential id, when the
/// credential is known. Read before the answer is verified, for throttling and the audit log.
pub fn claimed_account(conn: &mut Conn, credential: &str) -> Result<Option<Uuid>> {
    let Ok(parsed) = serde_json::from_str::<PublicKeyCredential>(credential) else { return Ok(None) };
    Ok(db::passkeys::owner_of(conn, &credential_key(parsed.get_credential_id()))?.map(|(_, account)| account))
}

/// A verified passkey: whose, and whether it may be synced (`swk`) or is bound to its device (`hwk`).
pub struct Verified {
    pub account: Uuid,
    pub synced: bool,
}

/// Verifies the browser's answer to ceremony `ceremony` of authorization request `request`
/// (inside a write transaction: the ceremony is used up, the counter moves). `Err(reason)` is
/// why it was refused, for the audit log only: the browser is told the same thing every time.
pub fn finish_sign_in(
    conn: &mut Conn,
    rp: &Webauthn,
    request: &str,
    ceremony: &str,
    second_factor_of: Option<Uuid>,
    credential: &str,
) -> Result<std::result::Result<Verified, &'static str>> {
    let Some(taken) = db::factor_challenges::take_ceremony(conn, ceremony, db::now())? else {
        return Ok(Err("passkey: no such challenge (expired or used)"));
    };
    let expected = if second_factor_of.is_some() { SECOND_FACTOR } else { PASSWORDLESS };
    if taken.request_id.as_deref() != Some(request) || taken.purpose != expected || taken.account != second_factor_of {
        return Ok(Err("passkey: the challenge belongs to another sign-in"));
    }
    let Ok(parsed) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err("passkey: malformed answer"));
    };
    let Some((factor_id, owner)) = db::passkeys::owner_of(conn, &credential_key(parsed.get_credential_id()))? else {
        return Ok(Err("passkey: unknown credential"));
    };
    if second_factor_of.is_some_and(|account| account != owner) {
        return Ok(Err("passkey: a credential of another account"));
    }
    let Some((factor, _)) =
        db::passkeys::of_account(conn, AccountId(owner))?.into_iter().find(|(f, _)| f.id == factor_id)
    else {
        return Ok(Err("passkey: unknown credential"));
    };
    let mut passkey = passkey_of(&factor)?;
    let result: std::result::Result<AuthenticationResult, _> = if second_factor_of.is_some() {
        let state: PasskeyAuthentication = serde_json::from_str(&taken.state).map_err(Error::internal)?;
        rp.finish_passkey_authentication(&parsed, &state)
    } else {
        let state: DiscoverableAuthentication = serde_json::from_str(&taken.state).map_err(Error::internal)?;
        match rp.identify_discoverable_authentication(&parsed) {
            Ok((user, _)) if user == owner => rp.finish_discoverable_authentication_v2(&parsed, state, &passkey),
            _ => return Ok(Err("passkey: the user handle is not the credential's account")),
        }
    };
    let result = match result {
        Ok(result) => result,
        Err(e) => {
            log::info!("passkey assertion refused: {e:?}");
            return Ok(Err("passkey: assertion refused (signature, origin, challenge or user verification)"));
        }
    };
    if !result.user_verified() {
        return Ok(Err("passkey: without user verification"));
    }
    passkey.update_credential(&result);
    let data = serde_json::to_string(&passkey).map_err(Error::internal)?;
    if !db::passkeys::record_use(conn, factor.id, &data, i64::from(result.counter()), db::now())? {
        return Ok(Err("passkey: the signature counter did not move forward (a cloned authenticator?)"));
    }
    Ok(Ok(Verified { account: owner, synced: result.backup_eligible() }))
}

/// Whether an account has a passkey.
pub fn has_passkey(conn: &mut Conn, account: Uuid) -> Result<bool> {
    Ok(!db::passkeys::of_account(conn, AccountId(account))?.is_empty())
}

/// Whether an account has a TOTP factor.
pub fn has_totp(conn: &mut Conn, account: Uuid) -> Result<bool> {
    Ok(db::factors::list(conn, AccountId(account))?.iter().any(|f| f.kind == factors::TOTP))
}
