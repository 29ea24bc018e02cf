//! Scopes: the OpenID Connect ones, `account` (self-service on `/api/v1/me`), and management
//! scopes — grants that narrow what a token may do on the Management API. A user token's
//! management scopes never reach beyond what its client may do (whoever controls the client
//! receives the token) nor, at each request, beyond what its account holds.

use gatehouse_api_types::grant::{self, Grant};

pub const OPENID: &str = "openid";
/// Lets a user token manage its own account: profile, password, consents.
pub const ACCOUNT: &str = "account";
/// The scopes with a name (the others are grants).
pub const NAMED_SCOPES: [&str; 6] = ["openid", "profile", "email", "phone", "offline_access", ACCOUNT];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    pub oidc: Vec<String>,
    pub grants: Vec<Grant>,
}

impl Scopes {
    /// Parses a space-separated scope string; an unknown scope is named in the error.
    pub fn parse(text: &str) -> Result<Scopes, String> {
        let mut scopes = Scopes::default();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if NAMED_SCOPES.contains(&token) {
                if !scopes.oidc.iter().any(|s| s == token) {
                    scopes.oidc.push(token.to_owned());
                }
            } else {
                let grant = Grant::parse(token)
                    .map_err(|_| format!("unknown scope '{}'", token.chars().take(80).collect::<String>()))?;
                if !scopes.grants.contains(&grant) {
                    scopes.grants.push(grant);
                }
            }
        }
        Ok(scopes)
    }

    pub fn has(&self, scope: &str) -> bool {
        self.oidc.iter().any(|s| s == scope)
    }

    pub fn is_empty(&self) -> bool {
        self.oidc.is_empty() && self.grants.is_empty()
    }

    /// True when every scope of `self` is in `other`.
    pub fn within(&self, other: &Scopes) -> bool {
        self.oidc.iter().all(|s| other.has(s)) && self.grants.iter().all(|g| other.grants.contains(g))
    }

    /// The same scopes with the management scopes cut down to what `bound` allows (each grant
    /// met with it; none left of a grant it does not touch). `None` bounds nothing.
    pub fn bounded_by(&self, bound: Option<&[Grant]>) -> Scopes {
        let grants = match bound {
            Some(bound) => grant::effective(&self.grants, bound),
            None => self.grants.clone(),
        };
        Scopes { oidc: self.oidc.clone(), grants }
    }

    /// Whether a token of these scopes is for the Management API (its audience), rather than
    /// for its client alone: it carries a management scope or `account`.
    pub fn reaches_api(&self) -> bool {
        !self.grants.is_empty() || self.has(ACCOUNT)
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.oidc.iter().cloned().chain(self.grants.iter().map(Grant::to_string)).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_oidc_and_management_scopes() {
        let s = Scopes::parse("openid  profile users:read@customers openid").unwrap();
        assert_eq!(s.oidc, vec!["openid", "profile"]);
        assert_eq!(s.grants.len(), 1);
        assert_eq!(s.to_string(), "openid profile users:read@customers");
        assert!(Scopes::parse("openid admin").is_err());
        assert!(Scopes::parse("openid profile").unwrap().within(&s));
        assert!(!Scopes::parse("email").unwrap().within(&s));
        assert!(s.reaches_api() && Scopes::parse("openid account").unwrap().reaches_api());
        assert!(!Scopes::parse("openid profile offline_access").unwrap().reaches_api());
    }

    #[test]
    fn management_scopes_are_cut_down_to_the_bound() {
        let asked = Scopes::parse("openid *:*@* users:read@shop").unwrap();
        let bound = [Grant::parse("users:*@shop").unwrap()];
        assert_eq!(asked.bounded_by(Some(&bound)).to_string(), "openid users:*@shop");
        assert_eq!(asked.bounded_by(Some(&[])).to_string(), "openid");
        assert_eq!(asked.bounded_by(None), asked);
    }
}
