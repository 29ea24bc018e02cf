//! Field checks used by the `validator` derives of the request types.

use std::borrow::Cow;

use serde_json::{Map, Value};
use validator::ValidationError;

fn fail(code: &'static str, message: impl Into<Cow<'static, str>>) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

pub fn namespace_slug(slug: &str) -> Result<(), ValidationError> {
    if crate::grant::is_namespace_slug(slug) {
        Ok(())
    } else {
        Err(fail("slug", "must match ^[a-z][a-z0-9-]{1,62}$"))
    }
}

/// A username: 1 to 64 characters, no whitespace or control characters, no `@` (that marks an
/// email address) and no leading `+` (that marks a phone number).
pub fn username(name: &str) -> Result<(), ValidationError> {
    let count = name.chars().count();
    if count == 0 || count > 64 {
        return Err(fail("length", "must be 1 to 64 characters"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(fail("characters", "must not contain spaces or control characters"));
    }
    if name.contains('@') {
        return Err(fail("characters", "must not contain @ (use the email field for addresses)"));
    }
    if name.starts_with('+') {
        return Err(fail("characters", "must not start with + (use the phone_number field)"));
    }
    Ok(())
}

/// An E.164 phone number: `+`, a non-zero digit, then 6 to 14 more digits.
pub fn phone_number(number: &str) -> Result<(), ValidationError> {
    let digits = number.strip_prefix('+').unwrap_or("");
    let valid =
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    if valid {
        Ok(())
    } else {
        Err(fail("e164", "must be an E.164 number such as +14155550123"))
    }
}

/// Human-readable text: no control characters.
pub fn plain_text(text: &str) -> Result<(), ValidationError> {
    if text.chars().any(char::is_control) {
        Err(fail("characters", "must not contain control characters"))
    } else {
        Ok(())
    }
}

pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

/// Account attributes: a JSON object of at most 16 KiB.
pub fn attributes(attributes: &Map<String, Value>) -> Result<(), ValidationError> {
    let size = serde_json::to_vec(attributes).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_ATTRIBUTES_BYTES {
        return Err(fail("size", "must serialize to at most 16 KiB"));
    }
    Ok(())
}

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;

pub fn password(password: &str) -> Result<(), ValidationError> {
    let count = password.chars().count();
    if count < MIN_PASSWORD_CHARS {
        return Err(fail("length", "must be at least 8 characters"));
    }
    if count > MAX_PASSWORD_CHARS {
        return Err(fail("length", "must be at most 256 characters"));
    }
    if password.trim().is_empty() {
        return Err(fail("characters", "must not be only spaces"));
    }
    Ok(())
}

pub const MAX_GRANTS: usize = 100;

pub fn grants(grants: &[String]) -> Result<(), ValidationError> {
    if grants.len() > MAX_GRANTS {
        return Err(fail("length", "at most 100 grants"));
    }
    for text in grants {
        if let Err(e) = crate::grant::Grant::parse(text) {
            return Err(fail("grant", e.0));
        }
    }
    Ok(())
}

/// Claims that the server sets itself and that an attribute may not replace.
pub const RESERVED_CLAIMS: [&str; 24] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "acr",
    "amr",
    "scope",
    "client_id",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "email",
    "email_verified",
    "phone_number",
];

pub fn attribute_claims(claims: &std::collections::BTreeMap<String, String>) -> Result<(), ValidationError> {
    if claims.len() > 50 {
        return Err(fail("length", "at most 50 attribute claims"));
    }
    for (claim, attribute) in claims {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        };
        if !name_ok(claim) || !name_ok(attribute) {
            return Err(fail("claim", "claim and attribute names are 1 to 64 of [A-Za-z0-9_.-]"));
        }
        if RESERVED_CLAIMS.contains(&claim.as_str()) || claim == "phone_number_verified" || claim == "updated_at" {
            return Err(fail("claim", format!("'{claim}' is a standard claim the server sets itself")));
        }
    }
    Ok(())
}

/// Redirect URIs are compared exactly, so they must be absolute, without a fragment, and use
/// https except on loopback hosts (RFC 8252 native apps may also use a private-use scheme).
pub fn redirect_uris(uris: &[String]) -> Result<(), ValidationError> {
    if uris.len() > 20 {
        return Err(fail("length", "at most 20 redirect URIs"));
    }
    for uri in uris {
        redirect_uri(uri)?;
    }
    Ok(())
}

fn redirect_uri(uri: &str) -> Result<(), ValidationError> {
    let bad = |why: &str| fail("redirect_uri", format!("'{}' {why}", shorten(uri)));
    if uri.len() > 2000 {
        return Err(bad("is longer than 2000 characters"));
    }
    if uri.contains('#') {
        return Err(bad("must not contain a fragment"));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain spaces"));
    }
    let (scheme, rest) = uri.split_once(':').ok_or_else(|| bad("is not an absolute URI"))?;
    let scheme_ok = !scheme.is_empty()
        && scheme.as_bytes()[0].is_ascii_alphabetic()
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok || rest.is_empty() {
        return Err(bad("is not an absolute URI"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => authority(rest).map(|_| ()).ok_or_else(|| bad("has no host")),
        "http" => match authority(rest) {
            Some(host) if is_loopback(host) => Ok(()),
            Some(_) => Err(bad("must use https unless the host is loopback")),
            None => Err(bad("has no host")),
        },
        "javascript" | "data" | "file" | "vbscript" => Err(bad("uses a forbidden scheme")),
        // Private-use schemes of native apps must look like reverse domain names (RFC 8252 7.1).
        _ if scheme.contains('.') => Ok(()),
        _ => Err(bad("must use https, loopback http or a reverse-domain private scheme")),
    }
}

fn authority(rest: &str) -> Option<&str> {
    let after = rest.strip_prefix("//")?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let auth = &after[..end];
    let host_port = auth.rsplit_once('@').map(|(_, h)| h).unwrap_or(auth);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split_once(']').map(|(h, _)| h)?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

pub(crate) fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}

/// The kinds of public key a client may register, and the members each must carry.
const JWK_KINDS: [(&str, &[&str]); 3] = [("RSA", &["n", "e"]), ("EC", &["crv", "x", "y"]), ("OKP", &["crv", "x"])];

/// A client's JWK Set (RFC 7517 §5): `{"keys": [...]}`, 1 to 10 public keys (RSA, EC P-256 or
/// Ed25519), each with a distinct `kid`, none with a private member. The server parses each key
/// again before it stores the set.
pub fn jwks(set: &Value) -> Result<(), ValidationError> {
    let keys = set
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("keys"))
        .and_then(Value::as_array)
        .ok_or_else(|| fail("jwks", "must be a JWK Set: {\"keys\": [...]}"))?;
    if keys.is_empty() || keys.len() > 10 {
        return Err(fail("jwks", "must hold 1 to 10 keys"));
    }
    let mut kids = Vec::new();
    for key in keys {
        let key = key.as_object().ok_or_else(|| fail("jwks", "each key must be a JSON object"))?;
        if serde_json::to_string(key).map_or(true, |text| text.len() > 4096) {
            return Err(fail("jwks", "a key is larger than 4096 bytes"));
        }
        let kty = key.get("kty").and_then(Value::as_str).unwrap_or_default();
        let Some((_, members)) = JWK_KINDS.iter().find(|(k, _)| *k == kty) else {
            return Err(fail("jwks", "each key's kty must be RSA, EC or OKP"));
        };
        if members.iter().any(|m| !key.get(*m).is_some_and(Value::is_string)) {
            return Err(fail("jwks", format!("a {kty} key needs {}", members.join(", "))));
        }
        if ["d", "p", "q", "dp", "dq", "qi", "k", "oth"].iter().any(|m| key.contains_key(*m)) {
            return Err(fail("jwks", "holds a private key: register public keys only"));
        }
        let kid = key.get("kid").and_then(Value::as_str).filter(|k| !k.is_empty() && k.len() <= 200);
        let Some(kid) = kid else { return Err(fail("jwks", "each key needs a kid of 1 to 200 characters")) };
        if kids.contains(&kid) {
            return Err(fail("jwks", "two keys have the same kid"));
        }
        kids.push(kid);
    }
    Ok(())
}

/// A `jwks_uri`: https, or plain http to this machine only; no credentials, no fragment.
pub fn jwks_uri(uri: &str) -> Result<(), ValidationError> {
    server_url("jwks_uri", uri)
}

/// A client's `backchannel_logout_uri`: where the server POSTs logout tokens, by the rules of
/// `jwks_uri` (https, or http to a loopback address; no credentials, no fragment).
pub fn backchannel_logout_uri(uri: &str) -> Result<(), ValidationError> {
    server_url("backchannel_logout_uri", uri)
}

/// A URL the server itself calls: https, or http to a loopback address.
fn server_url(code: &'static str, uri: &str) -> Result<(), ValidationError> {
    let bad = |why: &str| fail(code, why.to_owned());
    if uri.len() > 2000 {
        return Err(bad("must be at most 2000 characters"));
    }
    if uri.contains('#') || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain spaces or a fragment"));
    }
    let (scheme, rest) = uri.split_once("://").ok_or_else(|| bad("must be an absolute https URL"))?;
    if rest[..rest.find(['/', '?']).unwrap_or(rest.len())].contains('@') {
        return Err(bad("must not carry credentials"));
    }
    let host = authority(&uri[scheme.len() + 1..]).ok_or_else(|| bad("has no host"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        _ => Err(bad("must be https (plain http only to a loopback address)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_follow_e164() {
        assert!(phone_number("+14155550123").is_ok());
        assert!(phone_number("+4915112345678").is_ok());
        for bad in ["14155550123", "+0123456789", "+1 415 555", "+12", "+1234567890123456", "+"] {
            assert!(phone_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_exclude_sign_in_markers() {
        assert!(username("alice").is_ok());
        assert!(username("Ålice.ß").is_ok());
        for bad in ["", "a b", "a@b", "+alice", "tab\t", &"x".repeat(65)] {
            assert!(username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn redirect_uris_are_strict() {
        for good in [
            "https://app.example.com/cb",
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb",
            "http://[::1]:9/cb",
            "com.example.app:/cb",
        ] {
            assert!(redirect_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "/cb",
            "https://app/cb#x",
            "http://app.example.com/cb",
            "javascript:alert(1)",
            "myapp:/cb",
            "https://",
            "https:///x",
        ] {
            assert!(redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn client_key_sets_hold_public_keys_with_distinct_kids() {
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "a", "x": "x", "y": "y"});
        assert!(jwks(&serde_json::json!({"keys": [ec]})).is_ok());
        assert!(jwks(&serde_json::json!({"keys": []})).is_err(), "empty");
        assert!(jwks(&serde_json::json!([ec])).is_err(), "not a set");
        assert!(jwks(&serde_json::json!({"keys": [ec, ec]})).is_err(), "same kid twice");
        let mut private = ec.clone();
        private["d"] = serde_json::json!("secret");
        assert!(jwks(&serde_json::json!({"keys": [private]})).is_err(), "a private key");
        assert!(jwks(&serde_json::json!({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]})).is_err());
        assert!(jwks_uri("https://rp.example/jwks.json").is_ok());
        assert!(jwks_uri("http://127.0.0.1:8080/jwks").is_ok());
        assert!(jwks_uri("http://rp.example/jwks").is_err(), "plain http elsewhere");
        assert!(jwks_uri("https://user:pw@rp.example/jwks").is_err(), "credentials");
    }
}
