//! The `claims` request parameter (OpenID Connect Core §5.5): an application names the claims
//! it wants in the ID token (`id_token`) and from UserInfo (`userinfo`), each `null` or
//! `{"essential": bool, "value": …, "values": […]}`.
//!
//! What it may release is what scopes may: the standard claims of `profile`, `email` and
//! `phone`, and the client's own `attribute_claims` (account attributes it maps to claims, which
//! belong to `profile`). A claim asked for this way needs the consent its scope would need
//! ([`ClaimsRequest::consent_scopes`]); a claim this server does not know is ignored, as §5.5
//! says. `acr` asked for with `urn:gatehouse:acr:mfa` among its values steps the sign-in up to a
//! second factor, like `acr_values`; an essential `acr` none of whose values this server offers
//! is refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::factors::{ACR_MFA, ACR_PASSWORD};

/// Longest `claims` parameter accepted (characters).
pub const MAX_LENGTH: usize = 4096;
/// Most claims in one member.
pub const MAX_CLAIMS: usize = 32;

/// How one claim is asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ask {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub essential: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

impl Ask {
    /// Every value asked for (`value` and `values`), as strings.
    fn wanted(&self) -> Vec<&str> {
        self.value.iter().chain(self.values.iter().flatten()).filter_map(Value::as_str).collect()
    }
}

/// A parsed `claims` parameter, as stored with a request, its code and its refresh tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClaimsRequest {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub userinfo: BTreeMap<String, Ask>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub id_token: BTreeMap<String, Ask>,
}

/// The scope a user claim belongs to; `None` for a claim no scope releases.
pub fn scope_of(claim: &str, attribute_claims: &BTreeMap<String, String>) -> Option<&'static str> {
    match claim {
        "name" | "given_name" | "family_name" | "preferred_username" | "updated_at" => Some("profile"),
        "email" | "email_verified" => Some("email"),
        "phone_number" | "phone_number_verified" => Some("phone"),
        other if attribute_claims.contains_key(other) => Some("profile"),
        _ => None,
    }
}

impl ClaimsRequest {
    /// Parses the parameter; the error says what is wrong with it (`invalid_request`).
    pub fn parse(text: &str) -> Result<ClaimsRequest, String> {
        if text.chars().count() > MAX_LENGTH {
            return Err(format!("claims is longer than {MAX_LENGTH} characters"));
        }
        let value: Value = serde_json::from_str(text).map_err(|_| "claims is not valid JSON".to_owned())?;
        let Value::Object(members) = value else { return Err("claims must be a JSON object".into()) };
        let mut request = ClaimsRequest::default();
        for (member, target) in [("userinfo", &mut request.userinfo), ("id_token", &mut request.id_token)] {
            match members.get(member) {
                None | Some(Value::Null) => {}
                Some(Value::Object(claims)) => {
                    if claims.len() > MAX_CLAIMS {
                        return Err(format!("claims.{member} names more than {MAX_CLAIMS} claims"));
                    }
                    for (name, ask) in claims {
                        let ask = match ask {
                            Value::Null => Ask::default(),
                            Value::Object(_) => serde_json::from_value::<Ask>(ask.clone()).map_err(|_| {
                                format!(
                                    "claims.{member}.{}: essential must be a boolean and values an array",
                                    name.chars().take(40).collect::<String>()
                                )
                            })?,
                            _ => {
                                return Err(format!(
                                    "claims.{member}.{} must be null or an object",
                                    name.chars().take(40).collect::<String>()
                                ))
                            }
                        };
                        if name.len() > 100 {
                            return Err(format!("claims.{member} names a claim longer than 100 characters"));
                        }
                        target.insert(name.clone(), ask);
                    }
                }
                Some(_) => return Err(format!("claims.{member} must be an object")),
            }
        }
        for ask in request.id_token.get("acr").into_iter().chain(request.userinfo.get("acr")) {
            let wanted = ask.wanted();
            let offered = wanted.iter().any(|v| *v == ACR_MFA || *v == ACR_PASSWORD);
            if ask.essential && !wanted.is_empty() && !offered {
                return Err(format!("an essential acr must be one of {ACR_PASSWORD} or {ACR_MFA}"));
            }
        }
        Ok(request)
    }

    /// The stored form of a request (`None` when it asks for nothing).
    pub fn stored(&self) -> Option<String> {
        (!self.userinfo.is_empty() || !self.id_token.is_empty())
            .then(|| serde_json::to_string(self).unwrap_or_default())
    }

    /// A stored request (nothing when there was none, or it cannot be read).
    pub fn from_stored(text: Option<&str>) -> ClaimsRequest {
        text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
    }

    /// Whether `acr` is asked for with the second-factor value among its values.
    pub fn asks_for_mfa(&self) -> bool {
        self.id_token.get("acr").into_iter().chain(self.userinfo.get("acr")).any(|a| a.wanted().contains(&ACR_MFA))
    }

    /// The scopes whose consent the claims asked for need (each once, in a stable order).
    pub fn consent_scopes(&self, attribute_claims: &BTreeMap<String, String>) -> Vec<&'static str> {
        let mut scopes: Vec<&'static str> = self
            .id_token
            .keys()
            .chain(self.userinfo.keys())
            .filter_map(|claim| scope_of(claim, attribute_claims))
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }

    /// The user claims asked for in the ID token.
    pub fn id_token_claims(&self) -> Vec<String> {
        self.id_token.keys().cloned().collect()
    }

    /// The user claims asked for from UserInfo.
    pub fn userinfo_claims(&self) -> Vec<String> {
        self.userinfo.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_members_and_refuses_what_is_not_a_claims_request() {
        let r = ClaimsRequest::parse(
            r#"{"userinfo":{"email":{"essential":true},"national_id":null},"id_token":{"acr":{"essential":true,"values":["urn:gatehouse:acr:mfa"]}}}"#,
        )
        .unwrap();
        assert!(r.userinfo["email"].essential);
        assert!(r.asks_for_mfa());
        let attributes = BTreeMap::from([("national_id".to_owned(), "national_id".to_owned())]);
        assert_eq!(r.consent_scopes(&attributes), vec!["email", "profile"]);
        assert_eq!(
            r.consent_scopes(&BTreeMap::new()),
            vec!["email"],
            "an attribute the client does not map is nobody's"
        );
        assert_eq!(ClaimsRequest::from_stored(r.stored().as_deref()), r);
        assert_eq!(ClaimsRequest::parse("{}").unwrap().stored(), None);
        for bad in [
            "not json",
            "[]",
            r#"{"userinfo":[]}"#,
            r#"{"userinfo":{"email":true}}"#,
            r#"{"id_token":{"email":{"essential":"yes"}}}"#,
            r#"{"id_token":{"acr":{"essential":true,"value":"urn:elsewhere"}}}"#,
        ] {
            assert!(ClaimsRequest::parse(bad).is_err(), "{bad}");
        }
        // A voluntary acr this server does not offer is only a wish.
        assert!(ClaimsRequest::parse(r#"{"id_token":{"acr":{"values":["urn:elsewhere"]}}}"#).is_ok());
    }
}
