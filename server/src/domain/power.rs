//! The one rule that guards power: **no request may leave its caller controlling a principal
//! whose power exceeds the caller's own, and no request may raise any principal's power beyond
//! the caller's** (docs/security.md, ADR 0006).
//!
//! A principal's *power* is what it may do on the Management API right now: an account's
//! held grants (its own and its groups', `domain::groups::held`); a client's grants met with its owner's (nothing when either is disabled); a token's
//! scopes met with its subject's power. A caller *controls* a principal when it holds a way to
//! act as it: a client secret, an account's password or sign-in name (a reset goes to it), a
//! session, a token, the redirect URIs a client's codes go to, or ownership.
//!
//! Every operation that hands the caller such control, or raises a principal's power, calls
//! [`require_power_over`] with the power at stake. Granting and revoking grants is the same
//! rule applied grant by grant ([`super::Caller::require_holds_all`]).

use gatehouse_api_types::grant::{self, Grant};

use super::Caller;
use crate::error::{Error, Result};

/// What a caller is about to do to a principal, for the refusal's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// A new client secret (rotation): whoever receives it acts as the client.
    Credential,
    /// Where a client's codes and tokens go (redirect and logout URIs, grant types, its
    /// authentication method, the namespace it signs in, PKCE, consent, registration).
    TokenRouting,
    /// Giving a client to another owner: it may then do what the new owner holds.
    Transfer,
    /// Re-enabling a client or an account.
    Enable,
    /// An account's password.
    Password,
    /// An account's username, email or phone number (a reset code goes to them), or whether
    /// they are verified.
    SignInNames,
    /// Disabling or deleting an account.
    Status,
    /// Adding an account to a group or removing it from one: it gains or loses the group's
    /// grants.
    Membership,
}

impl Control {
    fn describe(self) -> &'static str {
        match self {
            Control::Credential => "obtain a credential for a client",
            Control::TokenRouting => "change where the tokens go of a client",
            Control::Transfer => "transfer a client",
            Control::Enable => "enable a principal",
            Control::Password => "set the password of an account",
            Control::SignInNames => "change the sign-in names of an account",
            Control::Status => "disable or delete an account",
            Control::Membership => "change the members of a group",
        }
    }
}

/// Refuses (403, naming the first grant the caller lacks) unless the caller holds every grant
/// of `power`: the power of the principal the caller is about to control or empower.
pub fn require_power_over(caller: &Caller, power: &[Grant], what: Control) -> Result<()> {
    match power.iter().find_map(|g| grant::missing(&caller.effective, g)) {
        None => Ok(()),
        Some(lacking) => Err(Error::Forbidden {
            detail: format!("you cannot {} that may do {lacking}, which you may not", what.describe()),
            missing: Some(lacking.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn g(s: &str) -> Grant {
        Grant::parse(s).unwrap()
    }

    #[test]
    fn a_caller_controls_only_what_it_holds() {
        let helper = Caller::account(Uuid::nil(), "system".into(), None, vec![g("users:*@system"), g("clients:*@*")]);
        assert!(require_power_over(&helper, &[g("users:read@system")], Control::Password).is_ok());
        assert!(require_power_over(&helper, &[], Control::Password).is_ok());
        match require_power_over(&helper, &[g("*:*@*")], Control::Password) {
            Err(Error::Forbidden { missing: Some(m), detail }) => {
                assert_eq!(m, "namespaces:read@*");
                assert!(detail.starts_with("you cannot set the password of an account that may do"), "{detail}");
            }
            other => panic!("expected 403, got {other:?}"),
        }
    }
}
