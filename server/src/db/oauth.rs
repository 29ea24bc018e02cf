//! Authorization requests, codes, refresh tokens, sign-in sessions and revoked access tokens.
//! Codes, refresh tokens and session cookies are stored only as SHA-256 hashes.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamp};
use uuid::Uuid;

use super::ids::{AccountId, ClientUuid};
use super::schema::{authorization_codes, authorization_requests, refresh_tokens, revoked_access_tokens, sso_sessions};
use super::{from_db_time, parse_uuid, to_db_time, Conn, Unique};
use crate::error::Result;

// ---------------------------------------------------------------- authorization requests

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_requests)]
struct RequestRow {
    id: String,
    csrf: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt: Option<String>,
    max_age: Option<i64>,
    login_hint: Option<String>,
    account_id: Option<String>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    mfa_account_id: Option<String>,
    mfa_stage: Option<String>,
    enrol_secret: Option<Vec<u8>>,
    acr_values: Option<String>,
    claims: Option<String>,
    response_type: String,
    response_mode: String,
    dpop_jkt: Option<String>,
    device_authorization_id: Option<String>,
}

/// An authorization request waiting on a hosted page.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthRequest {
    pub id: String,
    pub csrf: String,
    pub client: Uuid,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// Set once a registration created the account that will sign in.
    pub account: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    /// The account whose password was accepted, waiting for its second factor.
    pub mfa_account: Option<Uuid>,
    /// Where that account is: `verify`, `enrol` or `enrolled` (see `domain::factors::Stage`).
    pub mfa_stage: Option<String>,
    /// The TOTP secret being enrolled, sealed to the request.
    pub enrol_secret: Option<Vec<u8>>,
    /// The `acr_values` the application asked for (with the second factor's when its `claims`
    /// asked for that `acr`).
    pub acr_values: Option<String>,
    /// The `claims` parameter, normalized (see `oauth::claims`).
    pub claims: Option<String>,
    /// `code` or `code id_token`.
    pub response_type: String,
    /// `query`, `fragment` or `form_post`.
    pub response_mode: String,
    /// The DPoP key its code is bound to (`dpop_jkt`, RFC 9449 §10).
    pub dpop_jkt: Option<String>,
    /// The device authorization (RFC 8628) this sign-in approves, when it came from the device
    /// page: it ends on a page, never at a redirect URI.
    pub device_authorization: Option<String>,
}

pub fn insert_request(conn: &mut Conn, r: &AuthRequest) -> Result<()> {
    let row = RequestRow {
        id: r.id.clone(),
        csrf: r.csrf.clone(),
        client_id: r.client.to_string(),
        redirect_uri: r.redirect_uri.clone(),
        scope: r.scope.clone(),
        state: r.state.clone(),
        nonce: r.nonce.clone(),
        code_challenge: r.code_challenge.clone(),
        prompt: r.prompt.clone(),
        max_age: r.max_age,
        login_hint: r.login_hint.clone(),
        account_id: r.account.map(|a| a.to_string()),
        created_at: to_db_time(super::now()),
        expires_at: to_db_time(r.expires_at),
        mfa_account_id: r.mfa_account.map(|a| a.to_string()),
        mfa_stage: r.mfa_stage.clone(),
        enrol_secret: r.enrol_secret.clone(),
        acr_values: r.acr_values.clone(),
        claims: r.claims.clone(),
        response_type: r.response_type.clone(),
        response_mode: r.response_mode.clone(),
        dpop_jkt: r.dpop_jkt.clone(),
        device_authorization_id: r.device_authorization.clone(),
    };
    diesel::insert_into(authorization_requests::table).values(row).execute(conn)?;
    Ok(())
}

/// The request, if it exists and has not expired at `now`.
pub fn get_request(conn: &mut Conn, id: &str, now: DateTime<Utc>) -> Result<Option<AuthRequest>> {
    let row: Option<RequestRow> = authorization_requests::table
        .find(id)
        .filter(authorization_requests::expires_at.gt(to_db_time(now)))
        .select(RequestRow::as_select())
        .unique(conn)?;
    row.map(|r| {
        Ok(AuthRequest {
            id: r.id,
            csrf: r.csrf,
            client: parse_uuid(&r.client_id)?,
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            state: r.state,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            prompt: r.prompt,
            max_age: r.max_age,
            login_hint: r.login_hint,
            account: r.account_id.as_deref().map(parse_uuid).transpose()?,
            expires_at: from_db_time(r.expires_at),
            mfa_account: r.mfa_account_id.as_deref().map(parse_uuid).transpose()?,
            mfa_stage: r.mfa_stage,
            enrol_secret: r.enrol_secret,
            acr_values: r.acr_values,
            claims: r.claims,
            response_type: r.response_type,
            response_mode: r.response_mode,
            dpop_jkt: r.dpop_jkt,
            device_authorization: r.device_authorization_id,
        })
    })
    .transpose()
}

pub fn set_request_account(conn: &mut Conn, id: &str, account: AccountId) -> Result<()> {
    diesel::update(authorization_requests::table.find(id))
        .set(authorization_requests::account_id.eq(account.to_string()))
        .execute(conn)?;
    Ok(())
}

/// Records where a sign-in stands between its password and its second factor.
pub fn set_request_mfa(
    conn: &mut Conn,
    id: &str,
    account: AccountId,
    stage: &str,
    enrol_secret: Option<&[u8]>,
) -> Result<()> {
    diesel::update(authorization_requests::table.find(id))
        .set((
            authorization_requests::mfa_account_id.eq(account.to_string()),
            authorization_requests::mfa_stage.eq(stage),
            authorization_requests::enrol_secret.eq(enrol_secret),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets where a sign-in stood after its password (it completed).
pub fn clear_request_mfa(conn: &mut Conn, id: &str) -> Result<()> {
    diesel::update(authorization_requests::table.find(id))
        .set((
            authorization_requests::mfa_account_id.eq(None::<String>),
            authorization_requests::mfa_stage.eq(None::<String>),
            authorization_requests::enrol_secret.eq(None::<Vec<u8>>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_request(conn: &mut Conn, id: &str) -> Result<()> {
    diesel::delete(authorization_requests::table.find(id)).execute(conn)?;
    Ok(())
}

/// Deletes up to `limit` requests that expired before `before`; returns how many.
/// Safe: [`get_request`] never returns an expired request, so no page can resume one.
pub fn delete_expired_requests(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = authorization_requests::expires_at.lt(to_db_time(before));
    delete_batch!(conn, authorization_requests, id, expired, limit)
}

// ---------------------------------------------------------------- authorization codes

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
struct CodeRow {
    code_hash: String,
    client_id: String,
    account_id: String,
    session_id: Option<String>,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: NaiveDateTime,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
    family_id: Option<String>,
    access_token_jti: Option<String>,
    amr: String,
    claims: Option<String>,
    dpop_jkt: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub code_hash: String,
    pub client: Uuid,
    pub account: Uuid,
    pub session_id: Option<String>,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    /// The refresh token family and access token issued for the code.
    pub family_id: Option<String>,
    pub access_token_jti: Option<String>,
    /// How the sign-in behind the code was made (RFC 8176 values, space-separated).
    pub amr: String,
    /// The authorization request's `claims` parameter, normalized.
    pub claims: Option<String>,
    /// The DPoP key the code may be redeemed with only (`dpop_jkt`).
    pub dpop_jkt: Option<String>,
}

pub fn insert_code(conn: &mut Conn, c: &Code) -> Result<()> {
    let row = CodeRow {
        code_hash: c.code_hash.clone(),
        client_id: c.client.to_string(),
        account_id: c.account.to_string(),
        session_id: c.session_id.clone(),
        redirect_uri: c.redirect_uri.clone(),
        scope: c.scope.clone(),
        nonce: c.nonce.clone(),
        code_challenge: c.code_challenge.clone(),
        auth_time: to_db_time(c.auth_time),
        created_at: to_db_time(super::now()),
        expires_at: to_db_time(c.expires_at),
        used_at: None,
        family_id: None,
        access_token_jti: None,
        amr: c.amr.clone(),
        claims: c.claims.clone(),
        dpop_jkt: c.dpop_jkt.clone(),
    };
    diesel::insert_into(authorization_codes::table).values(row).execute(conn)?;
    Ok(())
}

pub fn get_code(conn: &mut Conn, code_hash: &str) -> Result<Option<Code>> {
    let row: Option<CodeRow> = authorization_codes::table.find(code_hash).select(CodeRow::as_select()).unique(conn)?;
    row.map(|r| {
        Ok(Code {
            code_hash: r.code_hash,
            client: parse_uuid(&r.client_id)?,
            account: parse_uuid(&r.account_id)?,
            session_id: r.session_id,
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            auth_time: from_db_time(r.auth_time),
            expires_at: from_db_time(r.expires_at),
            used_at: r.used_at.map(from_db_time),
            family_id: r.family_id,
            access_token_jti: r.access_token_jti,
            amr: r.amr,
            claims: r.claims,
            dpop_jkt: r.dpop_jkt,
        })
    })
    .transpose()
}

/// Marks the code used; false when it already was (a concurrent or repeated redemption).
pub fn use_code(conn: &mut Conn, code_hash: &str, now: DateTime<Utc>) -> Result<bool> {
    let changed =
        diesel::update(authorization_codes::table.find(code_hash).filter(authorization_codes::used_at.is_null()))
            .set(authorization_codes::used_at.eq(to_db_time(now)))
            .execute(conn)?;
    Ok(changed == 1)
}

/// Deletes up to `limit` codes that expired before `before` and can revoke nothing; returns how
/// many. `used_before` is `before` less the longest access token lifetime.
/// Safe: an expired code is refused, and a used one stays while a replay could still revoke
/// what it issued (RFC 6749 4.1.2): its access token, and any live token of its family.
pub fn delete_dead_codes(
    conn: &mut Conn,
    before: DateTime<Utc>,
    used_before: DateTime<Utc>,
    limit: i64,
) -> Result<usize> {
    let live_family = refresh_tokens::table
        .filter(refresh_tokens::family_id.nullable().eq(authorization_codes::family_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .filter(refresh_tokens::expires_at.ge(to_db_time(before)));
    let dead = authorization_codes::expires_at.lt(to_db_time(before)).and(
        authorization_codes::used_at.is_null().or(authorization_codes::expires_at
            .lt(to_db_time(used_before))
            .and(diesel::dsl::not(diesel::dsl::exists(live_family)))),
    );
    delete_batch!(conn, authorization_codes, code_hash, dead, limit)
}

pub fn record_code_issue(conn: &mut Conn, code_hash: &str, family_id: Option<&str>, jti: &str) -> Result<()> {
    diesel::update(authorization_codes::table.find(code_hash))
        .set((authorization_codes::family_id.eq(family_id), authorization_codes::access_token_jti.eq(jti)))
        .execute(conn)?;
    Ok(())
}

// ---------------------------------------------------------------- refresh tokens

/// `None` is inserted as NULL, not as `DEFAULT` (no nullable column has another default): the
/// insert's text is then the same on every call and diesel keeps it prepared, keyed by its type,
/// where a `DEFAULT` that comes and goes made it build the SQL again on every grant (and, on
/// PostgreSQL, parse it again).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, treat_none_as_default_value = false)]
struct RefreshRow {
    id: String,
    token_hash: String,
    family_id: String,
    client_id: String,
    account_id: String,
    session_id: Option<String>,
    scope: String,
    auth_time: NaiveDateTime,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
    amr: String,
    claims: Option<String>,
    dpop_jkt: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub id: String,
    pub token_hash: String,
    pub family_id: String,
    pub client: Uuid,
    pub account: Uuid,
    pub session_id: Option<String>,
    pub scope: String,
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// How the sign-in behind the token was made (RFC 8176 values, space-separated).
    pub amr: String,
    /// The `claims` parameter of the authorization request it descends from, normalized.
    pub claims: Option<String>,
    /// The DPoP key it is bound to: it is refreshed only with a proof by that key.
    pub dpop_jkt: Option<String>,
}

pub fn insert_refresh(conn: &mut Conn, t: &RefreshToken) -> Result<()> {
    let row = RefreshRow {
        id: t.id.clone(),
        token_hash: t.token_hash.clone(),
        family_id: t.family_id.clone(),
        client_id: t.client.to_string(),
        account_id: t.account.to_string(),
        session_id: t.session_id.clone(),
        scope: t.scope.clone(),
        auth_time: to_db_time(t.auth_time),
        created_at: to_db_time(super::now()),
        expires_at: to_db_time(t.expires_at),
        used_at: None,
        revoked_at: None,
        amr: t.amr.clone(),
        claims: t.claims.clone(),
        dpop_jkt: t.dpop_jkt.clone(),
    };
    diesel::insert_into(refresh_tokens::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_refresh(conn: &mut Conn, token_hash: &str) -> Result<Option<RefreshToken>> {
    let row: Option<RefreshRow> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshRow::as_select())
        .unique(conn)?;
    row.map(RefreshRow::into_token).transpose()
}

/// A refresh token's columns, in [`RefreshRow`]'s order.
type RefreshColumns = (
    Text,
    Text,
    Text,
    Text,
    Text,
    Nullable<Text>,
    Text,
    Timestamp,
    Timestamp,
    Timestamp,
    Nullable<Timestamp>,
    Nullable<Timestamp>,
    Text,
    Nullable<Text>,
    Nullable<Text>,
);

/// Spends a refresh token in one statement: marks it used and answers it when it is `client`'s,
/// unused, unrevoked and unexpired at `now`, and bound to no DPoP key or to `dpop_jkt`. None,
/// with nothing changed, otherwise: the caller then reads it ([`find_refresh`]) to tell why.
/// Every refresh grant runs this: a fixed text, kept prepared (see `db::fixed`), one round trip
/// on PostgreSQL where finding and spending took two.
pub fn spend_refresh(
    conn: &mut Conn,
    token_hash: &str,
    client: ClientUuid,
    dpop_jkt: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<RefreshToken>> {
    let (client, now) = (client.to_string(), to_db_time(now));
    let spend = super::fixed_rows::<RefreshColumns, _>(
        "UPDATE refresh_tokens SET used_at = ? \
         WHERE token_hash = ? AND client_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? \
         AND (dpop_jkt IS NULL OR dpop_jkt = ?) \
         RETURNING id, token_hash, family_id, client_id, account_id, session_id, scope, auth_time, created_at, \
         expires_at, used_at, revoked_at, amr, claims, dpop_jkt",
        (
            (super::bind::<Timestamp, _>(now), super::bind::<Text, _>(token_hash)),
            (
                (super::bind::<Text, _>(client.as_str()), super::bind::<Timestamp, _>(now)),
                super::bind::<Nullable<Text>, _>(dpop_jkt),
            ),
        ),
    );
    let row: Option<RefreshRow> = native!(conn, |c| spend.get_result(c).optional())?;
    row.map(RefreshRow::into_token).transpose()
}

impl RefreshRow {
    fn into_token(self) -> Result<RefreshToken> {
        Ok(RefreshToken {
            id: self.id,
            token_hash: self.token_hash,
            family_id: self.family_id,
            client: parse_uuid(&self.client_id)?,
            account: parse_uuid(&self.account_id)?,
            session_id: self.session_id,
            scope: self.scope,
            auth_time: from_db_time(self.auth_time),
            expires_at: from_db_time(self.expires_at),
            used_at: self.used_at.map(from_db_time),
            revoked_at: self.revoked_at.map(from_db_time),
            amr: self.amr,
            claims: self.claims,
            dpop_jkt: self.dpop_jkt,
        })
    }
}

/// Marks the token used (rotated); false when it already was.
pub fn use_refresh(conn: &mut Conn, id: &str, now: DateTime<Utc>) -> Result<bool> {
    // Every refresh grant runs this: a fixed text, kept prepared (see `db::fixed`).
    let spend = super::fixed(
        "UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL",
        (super::bind::<Timestamp, _>(to_db_time(now)), super::bind::<Text, _>(id)),
    );
    let changed = native!(conn, |c| spend.execute(c))?;
    Ok(changed == 1)
}

/// Revokes every token of a family; returns how many were still live.
pub fn revoke_family(conn: &mut Conn, family_id: &str, now: DateTime<Utc>) -> Result<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(to_db_time(now)))
    .execute(conn)?)
}

/// Revokes the refresh tokens bound to a sign-in session (not `offline_access` ones).
pub fn revoke_session_tokens(conn: &mut Conn, session_id: &str, now: DateTime<Utc>) -> Result<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::session_id.eq(session_id))
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::scope.not_like("%offline_access%")),
    )
    .set(refresh_tokens::revoked_at.eq(to_db_time(now)))
    .execute(conn)?)
}

/// Revokes every live refresh token of an account (offline ones too), or only those issued
/// to `client`; returns how many.
pub fn revoke_account_tokens(
    conn: &mut Conn,
    account: AccountId,
    client: Option<ClientUuid>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut query = diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::account_id.eq(account.to_string()))
        .filter(refresh_tokens::revoked_at.is_null())
        .into_boxed();
    if let Some(client) = client {
        query = query.filter(refresh_tokens::client_id.eq(client.to_string()));
    }
    Ok(query.set(refresh_tokens::revoked_at.eq(to_db_time(now))).execute(conn)?)
}

/// Deletes up to `limit` refresh tokens that expired before `before`; returns how many.
/// Safe: an expired token is refused; rotated and revoked ones stay until then for reuse detection.
pub fn delete_expired_refresh_tokens(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = refresh_tokens::expires_at.lt(to_db_time(before));
    delete_batch!(conn, refresh_tokens, id, expired, limit)
}

// ---------------------------------------------------------------- sign-in sessions

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_sessions)]
struct SessionRow {
    id: String,
    token_hash: String,
    account_id: String,
    auth_time: NaiveDateTime,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    ended_at: Option<NaiveDateTime>,
    amr: String,
}

/// A single-sign-on session, behind the SSO cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoSession {
    pub id: String,
    pub account: Uuid,
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How the account signed in (RFC 8176 values, space-separated): `pwd`, or `pwd otp mfa`.
    pub amr: String,
}

pub fn insert_session(conn: &mut Conn, s: &SsoSession, token_hash: &str) -> Result<()> {
    let row = SessionRow {
        id: s.id.clone(),
        token_hash: token_hash.to_owned(),
        account_id: s.account.to_string(),
        auth_time: to_db_time(s.auth_time),
        created_at: to_db_time(super::now()),
        expires_at: to_db_time(s.expires_at),
        ended_at: None,
        amr: s.amr.clone(),
    };
    diesel::insert_into(sso_sessions::table).values(row).execute(conn)?;
    Ok(())
}

/// The live session behind a cookie.
pub fn find_session(conn: &mut Conn, token_hash: &str, now: DateTime<Utc>) -> Result<Option<SsoSession>> {
    let row: Option<SessionRow> = sso_sessions::table
        .filter(sso_sessions::token_hash.eq(token_hash))
        .filter(sso_sessions::ended_at.is_null())
        .filter(sso_sessions::expires_at.gt(to_db_time(now)))
        .select(SessionRow::as_select())
        .unique(conn)?;
    row.map(|r| {
        Ok(SsoSession {
            id: r.id,
            account: parse_uuid(&r.account_id)?,
            auth_time: from_db_time(r.auth_time),
            expires_at: from_db_time(r.expires_at),
            amr: r.amr,
        })
    })
    .transpose()
}

pub fn end_session(conn: &mut Conn, id: &str, now: DateTime<Utc>) -> Result<bool> {
    let changed = diesel::update(sso_sessions::table.find(id).filter(sso_sessions::ended_at.is_null()))
        .set(sso_sessions::ended_at.eq(to_db_time(now)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// The ids of the live sign-in sessions of an account.
pub fn live_sessions(conn: &mut Conn, account: AccountId, now: DateTime<Utc>) -> Result<Vec<String>> {
    Ok(sso_sessions::table
        .filter(sso_sessions::account_id.eq(account.to_string()))
        .filter(sso_sessions::ended_at.is_null())
        .filter(sso_sessions::expires_at.gt(to_db_time(now)))
        .select(sso_sessions::id)
        .load(conn)?)
}

/// Ends every live sign-in session of an account; returns how many.
pub fn end_account_sessions(conn: &mut Conn, account: AccountId, now: DateTime<Utc>) -> Result<usize> {
    Ok(diesel::update(
        sso_sessions::table
            .filter(sso_sessions::account_id.eq(account.to_string()))
            .filter(sso_sessions::ended_at.is_null()),
    )
    .set(sso_sessions::ended_at.eq(to_db_time(now)))
    .execute(conn)?)
}

/// Deletes up to `limit` sessions (ended or not) that expired before `before`; returns how many.
/// Safe: [`find_session`] never returns one, and revoking a session's tokens needs only its id.
pub fn delete_expired_sessions(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = sso_sessions::expires_at.lt(to_db_time(before));
    delete_batch!(conn, sso_sessions, id, expired, limit)
}

// ---------------------------------------------------------------- revoked access tokens

/// Whether the access token with this `jti` was revoked.
pub fn is_revoked(conn: &mut Conn, jti: &str) -> Result<bool> {
    let revoked: Option<String> =
        revoked_access_tokens::table.find(jti).select(revoked_access_tokens::jti).unique(conn)?;
    Ok(revoked.is_some())
}

/// Remembers a revoked access token until `expires_at` (a conflict when it is already).
pub fn insert_revocation(conn: &mut Conn, jti: &str, expires_at: DateTime<Utc>) -> Result<()> {
    diesel::insert_into(revoked_access_tokens::table)
        .values((revoked_access_tokens::jti.eq(jti), revoked_access_tokens::expires_at.eq(to_db_time(expires_at))))
        .execute(conn)?;
    Ok(())
}

/// Forgets up to `limit` revoked access tokens that expired before `before`; returns how many.
/// Safe: an expired token is refused before the revocation list is consulted.
pub fn delete_expired_revocations(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = revoked_access_tokens::expires_at.lt(to_db_time(before));
    delete_batch!(conn, revoked_access_tokens, jti, expired, limit)
}
