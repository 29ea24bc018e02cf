//! Access tokens (RFC 9068 JWTs, `typ: at+jwt`), ID tokens (RS256) and their verification.

use std::sync::Arc;

use base64::Engine;
use jsonwebtoken::{decode, decode_header, Header, Validation};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use gatehouse_api_types::SigningAlg;

use super::scope::Scopes;
use crate::db::{self, Conn, Db, Probe};
pub use crate::domain::access_claims::{AccessClaims, Confirmation};
use crate::domain::access_claims::{Verified, VerifiedTokens};
use crate::domain::accounts::Account;
use crate::domain::signing_keys::{jwt_algorithm, KeyStore, SigningKey};
use crate::error::{Error, Refusable, Result};
use crate::shell::Settings;

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// What the token endpoint needs to issue an access token.
pub struct AccessTokenSpec<'a> {
    pub client_id: &'a str,
    pub subject: &'a str,
    pub scope: &'a Scopes,
    pub ttl_seconds: u32,
    pub alg: SigningAlg,
    pub auth_time: Option<i64>,
    pub session_id: Option<&'a str>,
    pub audience: Option<&'a str>,
    /// See [`AccessClaims::userinfo_claims`].
    pub userinfo_claims: &'a [String],
    /// The DPoP key to bind the token to ([`AccessClaims::cnf`]): the token request's proof's.
    pub dpop_jkt: Option<&'a str>,
}

/// A signed access token, its id and lifetime.
pub struct SignedAccess {
    pub token: String,
    pub jti: String,
    pub expires_in: u32,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// `DPoP` for a token bound to a key, else `Bearer` (the token response's `token_type`).
    pub token_type: &'static str,
}

pub fn issue_access(
    conn: &mut Conn,
    keys: &KeyStore,
    settings: &Settings,
    grant: AccessTokenSpec<'_>,
) -> Result<SignedAccess> {
    access_claims(settings, grant).sign(conn, keys)
}

/// An access token decided but not yet signed: a grant that writes decides it in its
/// transaction (its `jti` goes into the audit event) and signs it after the commit, so that
/// no signature is computed while SQLite's write lock is held.
pub struct UnsignedAccess {
    pub claims: AccessClaims,
    alg: SigningAlg,
    expires_in: u32,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// The claims of an access token for `grant`, with a fresh `jti`.
pub fn access_claims(settings: &Settings, grant: AccessTokenSpec<'_>) -> UnsignedAccess {
    let now = db::now();
    let expires_in = grant.ttl_seconds.min(settings.max_access_ttl).max(1);
    let expires_at = now + chrono::Duration::seconds(i64::from(expires_in));
    let claims = AccessClaims {
        iss: settings.issuer.clone(),
        sub: grant.subject.to_owned(),
        aud: grant.audience.map(str::to_owned).unwrap_or_else(|| settings.api_audience()),
        exp: expires_at.timestamp(),
        iat: now.timestamp(),
        jti: crate::domain::crypto::random_token(16),
        client_id: grant.client_id.to_owned(),
        scope: grant.scope.to_string(),
        auth_time: grant.auth_time,
        sid: grant.session_id.map(str::to_owned),
        userinfo_claims: (!grant.userinfo_claims.is_empty()).then(|| grant.userinfo_claims.join(" ")),
        cnf: grant.dpop_jkt.map(|jkt| Confirmation { jkt: jkt.to_owned() }),
    };
    UnsignedAccess { claims, alg: grant.alg, expires_in, expires_at }
}

impl UnsignedAccess {
    /// Signs with the current key of the token's algorithm.
    pub fn sign(self, conn: &mut Conn, keys: &KeyStore) -> Result<SignedAccess> {
        let key = keys.signing(conn, self.alg)?;
        let mut header = Header::new(jwt_algorithm(key.alg));
        header.kid = Some(key.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        let token = key.sign(&header, &self.claims)?;
        let token_type = if self.claims.cnf.is_some() { "DPoP" } else { "Bearer" };
        Ok(SignedAccess {
            token,
            jti: self.claims.jti,
            expires_in: self.expires_in,
            expires_at: self.expires_at,
            token_type,
        })
    }
}

/// What an ID token says about the sign-in.
pub struct IdTokenSpec<'a> {
    pub client_id: &'a str,
    pub account: &'a Account,
    pub scope: &'a Scopes,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    /// How the account signed in (RFC 8176 values, space-separated): the `amr` claim, and the
    /// `acr` derived from it.
    pub amr: &'a str,
    pub session_id: Option<&'a str>,
    pub access_token: Option<&'a str>,
    pub attribute_claims: &'a std::collections::BTreeMap<String, String>,
    /// User claims asked for by name (the `claims` parameter's `id_token` member), released
    /// like those of the scopes (consent covered them).
    pub requested: &'a [String],
}

/// An RS256 ID token with the claims of the granted scopes.
pub fn issue_id_token(conn: &mut Conn, keys: &KeyStore, settings: &Settings, grant: IdTokenSpec<'_>) -> Result<String> {
    let access_token = grant.access_token;
    sign_id_token(conn, keys, id_token_claims(settings, grant), access_token)
}

/// The claims of an ID token, but its `at_hash` (known once the access token is signed).
pub fn id_token_claims(settings: &Settings, grant: IdTokenSpec<'_>) -> Map<String, Value> {
    let now = db::now();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(settings.issuer));
    claims.insert("sub".into(), json!(grant.account.id.to_string()));
    claims.insert("aud".into(), json!(grant.client_id));
    claims.insert("azp".into(), json!(grant.client_id));
    claims.insert("iat".into(), json!(now.timestamp()));
    claims.insert("exp".into(), json!((now + chrono::Duration::seconds(i64::from(settings.id_token_ttl))).timestamp()));
    claims.insert("auth_time".into(), json!(grant.auth_time));
    let amr = crate::domain::factors::Amr::parse(grant.amr);
    claims.insert("amr".into(), json!(amr.values()));
    claims.insert("acr".into(), json!(amr.acr()));
    if let Some(nonce) = grant.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if let Some(sid) = grant.session_id {
        claims.insert("sid".into(), json!(sid));
    }
    claims.extend(user_claims(grant.account, grant.scope, grant.attribute_claims, grant.requested));
    claims
}

/// Signs ID token `claims` (RS256), with the `at_hash` of `access_token` when there is one.
pub fn sign_id_token(
    conn: &mut Conn,
    keys: &KeyStore,
    mut claims: Map<String, Value>,
    access_token: Option<&str>,
) -> Result<String> {
    let key = keys.signing(conn, SigningAlg::RS256)?;
    if let Some(access) = access_token {
        claims.insert("at_hash".into(), json!(half_hash(access)));
    }
    let mut header = Header::new(jwt_algorithm(key.alg));
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    key.sign(&header, &claims)
}

/// The left half of SHA-256 of a token, base64url (OIDC `at_hash` for RS256).
pub fn half_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The claims about an account that the granted scopes release, and those of `requested`
/// (claims asked for by name) that a scope would release: nothing else of the account.
pub fn user_claims(
    account: &Account,
    scope: &Scopes,
    attribute_claims: &std::collections::BTreeMap<String, String>,
    requested: &[String],
) -> Map<String, Value> {
    let mut claims = Map::new();
    let mut release = |name: &str, value: Value| {
        let by_scope = super::claims::scope_of(name, attribute_claims).is_some_and(|s| scope.has(s));
        let by_name = requested.iter().any(|r| r == name) && super::claims::scope_of(name, attribute_claims).is_some();
        if by_scope || by_name {
            claims.insert(name.to_owned(), value);
        }
    };
    for (name, value) in [
        ("name", &account.name),
        ("given_name", &account.given_name),
        ("family_name", &account.family_name),
        ("preferred_username", &account.username),
    ] {
        if let Some(value) = value {
            release(name, json!(value));
        }
    }
    release("updated_at", json!(account.updated_at.timestamp()));
    for (claim, attribute) in attribute_claims {
        if let Some(value) = account.attributes.get(attribute) {
            release(claim, value.clone());
        }
    }
    if let Some(email) = &account.email {
        release("email", json!(email));
        release("email_verified", json!(account.email_verified));
    }
    if let Some(phone) = &account.phone_number {
        release("phone_number", json!(phone));
        release("phone_number_verified", json!(account.phone_number_verified));
    }
    claims
}

/// Why a presented token is not accepted (for the caller: always just "invalid_token").
pub type Rejection = &'static str;

/// Verifies an access token issued here: signature with a published key, `typ: at+jwt` (an ID
/// token is not an access token), issuer, audience, expiry, not revoked (under `probe`, which
/// the request read first: see [`Db::is_revoked`]).
pub fn verify_access(
    db: &Db,
    conn: &mut Conn,
    probe: &Probe,
    keys: &KeyStore,
    settings: &Settings,
    token: &str,
    audience: Option<&str>,
) -> Refusable<AccessClaims, Rejection> {
    let claims = match decode_access(settings, token, audience, |kid| keys.verifying(conn, kid), Some(&keys.verified))?
    {
        Ok(claims) => claims,
        Err(reason) => return Ok(Err(reason)),
    };
    if db.is_revoked(conn, probe, &claims.jti)? {
        return Ok(Err("revoked token"));
    }
    Ok(Ok(claims))
}

/// What [`verify_access`] checks without the database; `key` finds a published key by `kid`.
/// A token in `verified` is neither verified nor parsed again: what can have changed since it
/// was is checked ([`VerifiedTokens`]).
pub fn decode_access(
    settings: &Settings,
    token: &str,
    audience: Option<&str>,
    key: impl FnOnce(&str) -> Result<Option<Arc<SigningKey>>>,
    verified: Option<&VerifiedTokens>,
) -> Refusable<AccessClaims, Rejection> {
    if let Some(known) = verified.and_then(|v| v.get(token)) {
        return still_valid(settings, &known, audience, key);
    }
    let Ok(header) = decode_header(token) else { return Ok(Err("malformed token")) };
    let typ_ok = header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt"));
    if !typ_ok {
        return Ok(Err("not an access token"));
    }
    let Some(kid) = header.kid else { return Ok(Err("no key id")) };
    let Some(key) = key(&kid)? else { return Ok(Err("unknown signing key")) };
    if header.alg != jwt_algorithm(key.alg) {
        return Ok(Err("algorithm does not match the key"));
    }
    let mut validation = Validation::new(jwt_algorithm(key.alg));
    // Issued by this service's own clock: no leeway.
    validation.leeway = 0;
    validation.set_issuer(&[&settings.issuer]);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let Ok(data) = decode::<AccessClaims>(token, &key.decoding, &validation) else {
        return Ok(Err("invalid or expired token"));
    };
    if let Some(verified) = verified {
        verified.remember(token, Verified { kid, alg: key.alg, claims: data.claims.clone() });
    }
    Ok(Ok(data.claims))
}

/// The checks of [`decode_access`] whose outcome can change after a token verified: its key is
/// still published (with the same algorithm), the issuer and audience asked for, its expiry
/// (as `jsonwebtoken` checks it, without leeway).
fn still_valid(
    settings: &Settings,
    known: &Verified,
    audience: Option<&str>,
    key: impl FnOnce(&str) -> Result<Option<Arc<SigningKey>>>,
) -> Refusable<AccessClaims, Rejection> {
    let Some(key) = key(&known.kid)? else { return Ok(Err("unknown signing key")) };
    if key.alg != known.alg {
        return Ok(Err("algorithm does not match the key"));
    }
    let claims = &known.claims;
    let expired = u64::try_from(claims.exp).map_or(true, |exp| exp < jsonwebtoken::get_current_timestamp());
    if claims.iss != settings.issuer || audience.is_some_and(|aud| claims.aud != aud) || expired {
        return Ok(Err("invalid or expired token"));
    }
    Ok(Ok(claims.clone()))
}

/// Revokes an access token until it would have expired anyway.
pub fn revoke_access(conn: &mut Conn, claims: &AccessClaims) -> Result<()> {
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(db::now);
    revoke_jti(conn, &claims.jti, expires_at)
}

/// Revokes the access token with this `jti`, remembered until `expires_at`.
pub fn revoke_jti(conn: &mut Conn, jti: &str, expires_at: chrono::DateTime<chrono::Utc>) -> Result<()> {
    match db::oauth::insert_revocation(conn, jti, expires_at) {
        // Revoked already.
        Ok(()) | Err(Error::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OpenID Connect Core, A.3: access token and its at_hash.
        assert_eq!(half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"), "77QmUPtjPfzWtF2AnpK9RQ");
    }

    /// A token taken from the cache of verified tokens is refused for everything that can have
    /// changed since it verified: its key retired, another audience or issuer, its expiry.
    #[test]
    fn a_verified_token_is_checked_again_where_it_can_have_changed() {
        use gatehouse_api_types::KeyState;
        let settings = Settings::new("https://id.example.test".into());
        let key = Arc::new(SigningKey::generate(SigningAlg::ES256, KeyState::Current).unwrap());
        let claims = AccessClaims {
            iss: settings.issuer.clone(),
            sub: "c".into(),
            aud: settings.api_audience(),
            exp: db::now().timestamp() + 300,
            iat: db::now().timestamp(),
            jti: "j".into(),
            client_id: "c".into(),
            scope: String::new(),
            auth_time: None,
            sid: None,
            userinfo_claims: None,
            cnf: None,
        };
        let mut header = Header::new(jwt_algorithm(key.alg));
        header.kid = Some(key.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        let token = key.sign(&header, &claims).unwrap();
        let cache = VerifiedTokens::new(16);
        let published = |_: &str| Ok(Some(key.clone()));
        let aud = settings.api_audience();
        type Lookup<'a> = &'a dyn Fn(&str) -> Result<Option<Arc<SigningKey>>>;
        let decode = |settings: &Settings, audience: Option<&str>, key: Lookup<'_>| {
            decode_access(settings, &token, audience, key, Some(&cache)).unwrap()
        };

        assert_eq!(decode(&settings, Some(&aud), &published).map(|c| c.jti), Ok("j".into()));
        assert!(cache.get(&token).is_some(), "remembered");
        assert_eq!(decode(&settings, Some(&aud), &published).map(|c| c.jti), Ok("j".into()), "from the cache");
        assert_eq!(decode(&settings, None, &published).map(|c| c.jti), Ok("j".into()));
        assert!(decode(&settings, Some("https://elsewhere.example"), &published).is_err());
        assert!(decode(&Settings::new("https://other.example".into()), Some(&aud), &published).is_err());
        assert_eq!(decode(&settings, Some(&aud), &|_: &str| Ok(None)).map(|c| c.jti), Err("unknown signing key"));
        // A key of another algorithm under the same id.
        let mut other = SigningKey::generate(SigningAlg::RS256, KeyState::Current).unwrap();
        other.kid = key.kid.clone();
        let other = Arc::new(other);
        assert!(decode(&settings, Some(&aud), &|_: &str| Ok(Some(other.clone()))).is_err());
        // Expired since it was verified.
        let expired = AccessClaims { exp: db::now().timestamp() - 1, ..claims };
        cache.remember(&token, Verified { kid: key.kid.clone(), alg: key.alg, claims: expired });
        assert_eq!(decode(&settings, Some(&aud), &published).map(|c| c.jti), Err("invalid or expired token"));
    }
}
