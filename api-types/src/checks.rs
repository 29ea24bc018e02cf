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
}
