//! Scopes: the OpenID Connect ones, and management scopes — grants that narrow what a token
//! may do on the Management API (never beyond what its subject holds at the time of a request).

use gatehouse_api_types::grant::Grant;

pub const OPENID: &str = "openid";
pub const OIDC_SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];

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
            if OIDC_SCOPES.contains(&token) {
                if !scopes.oidc.iter().any(|s| s == token) {
                    scopes.oidc.push(token.to_owned());
                }
            } else {
                let grant = Grant::parse(token).map_err(|_| format!("unknown scope '{}'", token.chars().take(80).collect::<String>()))?;
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
    }
}
