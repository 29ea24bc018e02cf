//! Request objects (JAR, RFC 9101): an authorization request sent as a JWT the client signed
//! with one of its registered keys (`jwks`, or the set at `jwks_uri`: the keys of
//! `private_key_jwt`, [`super::client_assertion`]).
//!
//! A request object is accepted when it is signed (JWS; never `alg: none`, never a MAC, and not
//! encrypted: JWE is refused) by a key of the client's set, `iss` is the client's id, `aud`
//! names this server's issuer, `client_id` (when present) is the client's, `exp` is set and at
//! most 60 minutes ahead, `nbf` (when present) at most 60 minutes old, and its `jti` (optional)
//! was never accepted before, on any replica (kept until `exp`, in the table of client
//! assertions under a key of its own). Its claims other than the JWT's own (`iss`, `aud`,
//! `exp`, `nbf`, `iat`, `jti`, `sub`) are then the authorization request's parameters, and the
//! only ones (§6.3): the caller ignores the outer parameters or refuses those that disagree.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::client_assertion::{self, JwksCache, ALGORITHMS};
use super::clients::Client;
use crate::db::{self, Conn, Db};
use crate::error::Result;

/// The longest a request object may live (`exp`), and the oldest its `nbf` may be (FAPI 2.0).
const MAX_LIFETIME: i64 = 3600;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
const LEEWAY: u64 = 30;
/// The claims that describe the JWT itself rather than the authorization request.
const JWT_CLAIMS: [&str; 7] = ["iss", "aud", "exp", "nbf", "iat", "jti", "sub"];
/// At most this many parameters in one request object.
const MAX_PARAMETERS: usize = 64;

/// What a verified request object carries: the authorization request's parameters (with the
/// client's `client_id`), and its `jti` and expiry for the replay check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub parameters: Vec<(String, String)>,
    pub jti: Option<String>,
    pub expires_at: DateTime<Utc>,
}

fn decoded_part(part: &str) -> Option<Value> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The claims of `jwt`, read without verifying anything: where to send a refusal when the
/// client's registered `redirect_uri` is among them.
pub fn unverified_claims(jwt: &str) -> Option<Value> {
    decoded_part(jwt.split('.').nth(1)?).filter(Value::is_object)
}

/// Refuses what no key could make acceptable: encryption (JWE), `alg: none`, a MAC, an unknown
/// algorithm or type. Answers the algorithm and `kid` to verify with.
fn signing(jwt: &str) -> std::result::Result<(Algorithm, Option<String>), &'static str> {
    let parts = jwt.split('.').count();
    if parts == 5 {
        return Err("request object: encrypted request objects (JWE) are not supported: send it signed (JWS)");
    }
    let header = match jwt.split('.').next().and_then(decoded_part) {
        Some(header) if parts == 3 => header,
        _ => return Err("request object: not a signed JWT"),
    };
    match header.get("alg").and_then(Value::as_str) {
        Some(alg) if alg.eq_ignore_ascii_case("none") => {
            return Err("request object: alg none is refused: sign it with a registered key")
        }
        Some(alg) if alg.starts_with("HS") => {
            return Err("request object: HMAC (HS*) is refused: sign it with a registered key")
        }
        _ => {}
    }
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| "request object: not a signed JWT")?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err("request object: algorithm not allowed");
    }
    let typ_ok = header.typ.as_deref().is_none_or(|t| {
        let t = t.to_ascii_lowercase();
        t == "oauth-authz-req+jwt" || t == "application/oauth-authz-req+jwt" || t == "jwt"
    });
    if !typ_ok {
        return Err("request object: typ must be oauth-authz-req+jwt");
    }
    Ok((header.alg, header.kid))
}

/// Verifies `jwt` as a request object of `client_id` addressed to `issuer`, with `keys`. The
/// reason of a refusal is the `error_description` of `invalid_request_object`.
pub fn verify(
    jwt: &str,
    client_id: &str,
    issuer: &str,
    keys: &jsonwebtoken::jwk::JwkSet,
    now: DateTime<Utc>,
) -> std::result::Result<Verified, &'static str> {
    let (alg, kid) = signing(jwt)?;
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY;
    validation.validate_nbf = true;
    validation.set_audience(&[issuer]);
    validation.set_issuer(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let claims = match client_assertion::signed_claims(jwt, kid.as_deref(), keys, &validation) {
        Ok(claims) => claims,
        Err(None) => return Err("request object: no registered key of the client has its kid"),
        Err(Some(kind)) => {
            use jsonwebtoken::errors::ErrorKind;
            return Err(match kind {
                ErrorKind::ExpiredSignature => "request object: expired",
                ErrorKind::ImmatureSignature => "request object: not yet valid (nbf)",
                ErrorKind::InvalidAudience => "request object: aud must be this server's issuer",
                ErrorKind::InvalidIssuer => "request object: iss must be the client_id",
                ErrorKind::MissingRequiredClaim(_) => "request object: exp, iss and aud are required",
                _ => "request object: signature does not verify with the client's registered keys",
            });
        }
    };
    checked(claims, client_id, now)
}

fn checked(claims: Value, client_id: &str, now: DateTime<Utc>) -> std::result::Result<Verified, &'static str> {
    let Value::Object(claims) = claims else { return Err("request object: its claims are not a JSON object") };
    let time = |name: &str| claims.get(name).map(|v| v.as_i64().ok_or("request object: exp, nbf and iat are numbers"));
    let exp = time("exp").ok_or("request object: exp is required")??;
    if exp > now.timestamp() + MAX_LIFETIME + LEEWAY as i64 {
        return Err("request object: lives longer than 60 minutes (exp)");
    }
    if let Some(nbf) = time("nbf").transpose()? {
        if nbf < now.timestamp() - MAX_LIFETIME {
            return Err("request object: nbf is more than 60 minutes old");
        }
    }
    if let Some(iat) = time("iat").transpose()? {
        if iat > now.timestamp() + LEEWAY as i64 {
            return Err("request object: issued in the future (iat)");
        }
    }
    let jti = match claims.get("jti") {
        None => None,
        Some(Value::String(j)) if !j.is_empty() && j.len() <= 256 => Some(j.clone()),
        Some(_) => return Err("request object: jti must be 1 to 256 characters"),
    };
    match claims.get("client_id") {
        None => {}
        Some(Value::String(id)) if id == client_id => {}
        Some(_) => return Err("request object: its client_id is not the request's client_id"),
    }
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err("request object: cannot hold request or request_uri");
    }
    let mut parameters = Vec::new();
    for (name, value) in &claims {
        if JWT_CLAIMS.contains(&name.as_str()) || name == "client_id" {
            continue;
        }
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            // `claims` (an object) and any other structure travel as their JSON text.
            Value::Array(_) | Value::Object(_) => value.to_string(),
        };
        parameters.push((name.clone(), text));
    }
    if parameters.len() > MAX_PARAMETERS {
        return Err("request object: too many parameters");
    }
    parameters.push(("client_id".to_owned(), client_id.to_owned()));
    let expires_at = DateTime::from_timestamp(exp, 0).ok_or("request object: exp out of range")?;
    Ok(Verified { parameters, jti, expires_at: expires_at + chrono::Duration::seconds(LEEWAY as i64) })
}

/// Where a request object's `jti` is remembered (beside client assertions, in a key space of
/// its own: an assertion's `jti` never counts against a request object's).
fn replay_key(client_id: &str, jti: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"request object\0");
    hash.update(client_id.as_bytes());
    hash.update([0]);
    hash.update(jti.as_bytes());
    hex::encode(hash.finalize())
}

/// Verifies `jwt` as `client`'s request object, its keys found as for `private_key_jwt`, and
/// takes its `jti` (once, on every replica). Blocking: it may fetch the client's `jwks_uri`.
pub fn accept(
    db: &Db,
    conn: &mut Conn,
    cache: &JwksCache,
    client: &Client,
    jwt: &str,
    issuer: &str,
) -> Result<std::result::Result<Vec<(String, String)>, &'static str>> {
    let kid = match signing(jwt) {
        Ok((_, kid)) => kid,
        Err(reason) => return Ok(Err(reason)),
    };
    let keys =
        match client_assertion::client_keys(cache, client.jwks.as_ref(), client.jwks_uri.as_deref(), kid.as_deref()) {
            Ok(keys) => keys,
            Err(reason) => return Ok(Err(reason)),
        };
    let verified = match verify(jwt, &client.client_id, issuer, &keys, db::now()) {
        Ok(verified) => verified,
        Err(reason) => return Ok(Err(reason)),
    };
    if let Some(jti) = &verified.jti {
        let key = replay_key(&client.client_id, jti);
        let first_use =
            db.write_blocking(conn, |c| db::client_assertions::accept_once(c, &key, verified.expires_at))?;
        if !first_use {
            return Ok(Err("request object: replayed (its jti was used before)"));
        }
    }
    Ok(Ok(verified.parameters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unsigned(header: Value, claims: Value) -> String {
        use base64::Engine;
        let part = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2ln", part(header), part(claims))
    }

    #[test]
    fn what_no_key_can_make_acceptable_is_refused_first() {
        assert!(signing("a.b.c.d.e").unwrap_err().contains("JWE"));
        assert!(signing(&unsigned(json!({"alg": "none"}), json!({}))).unwrap_err().contains("alg none"));
        assert!(signing(&unsigned(json!({"alg": "HS256"}), json!({}))).unwrap_err().contains("HMAC"));
        assert!(signing(&unsigned(json!({"alg": "ES256", "typ": "dpop+jwt"}), json!({}))).unwrap_err().contains("typ"));
        assert!(signing(&unsigned(json!({"alg": "ES256", "typ": "oauth-authz-req+jwt"}), json!({}))).is_ok());
        assert!(signing("garbage").is_err());
    }

    #[test]
    fn claims_become_parameters_and_the_jwts_own_claims_do_not() {
        let now = Utc::now();
        let t = now.timestamp();
        let claims = json!({"iss": "c", "aud": "https://id", "exp": t + 60, "nbf": t, "iat": t, "jti": "j",
            "client_id": "c", "scope": "openid", "max_age": 300, "claims": {"id_token": {"email": null}}, "x": null});
        let verified = checked(claims, "c", now).unwrap();
        let mut names: Vec<&str> = verified.parameters.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, ["claims", "client_id", "max_age", "scope"]);
        assert!(verified.parameters.contains(&("max_age".into(), "300".into())));
        assert_eq!(verified.jti.as_deref(), Some("j"));
        let long = json!({"exp": t + 2 * MAX_LIFETIME});
        assert!(checked(long, "c", now).unwrap_err().contains("60 minutes"));
        let old = json!({"exp": t + 60, "nbf": t - 2 * MAX_LIFETIME});
        assert!(checked(old, "c", now).unwrap_err().contains("nbf"));
        let other = json!({"exp": t + 60, "client_id": "d"});
        assert!(checked(other, "c", now).unwrap_err().contains("client_id"));
        let nested = json!({"exp": t + 60, "request_uri": "urn:x"});
        assert!(checked(nested, "c", now).is_err());
        assert_ne!(replay_key("c", "j"), replay_key("cj", ""));
    }
}
