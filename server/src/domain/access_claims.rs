//! The claims of this service's access tokens (RFC 9068), and the tokens this process has
//! already verified, with their claims.

use std::sync::Arc;

use gatehouse_api_types::SigningAlg;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How many verified access tokens a process remembers with their claims (~650 bytes each, so
/// up to ~30 MiB when full; ADR 0027).
pub const VERIFIED_TOKENS: usize = 50_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// An account id, or the client_id for tokens of the client itself.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The user claims UserInfo releases besides those of the scopes: the `userinfo` member of
    /// the authorization request's `claims` parameter (space-separated names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_claims: Option<String>,
    /// The key the token is bound to (DPoP, RFC 9449): it counts only with a proof by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// `cnf` (RFC 7800) of a DPoP-bound token: the RFC 7638 thumbprint of the client's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl AccessClaims {
    /// A token of a client acting for itself (client credentials).
    pub fn is_client_token(&self) -> bool {
        self.sub == self.client_id
    }
}

/// A token verified here before: the key that verified it and what it claims.
pub struct Verified {
    pub kid: String,
    pub alg: SigningAlg,
    pub claims: AccessClaims,
}

/// Access tokens whose signature, type, algorithm and issuer this process has verified, with
/// their claims, by a SHA-256 digest of the whole token (header, claims and signature): a token
/// presented again is neither verified nor parsed again. What can have changed since is checked
/// on every presentation: that its key is still published, with the same algorithm, its expiry,
/// the audience the caller asks for, and (by the caller) revocation and the standing of the
/// token's client and account. Changing any byte of a token changes its digest.
pub struct VerifiedTokens {
    seen: quick_cache::sync::Cache<[u8; 32], Arc<Verified>>,
}

impl VerifiedTokens {
    pub fn new(capacity: usize) -> VerifiedTokens {
        VerifiedTokens { seen: quick_cache::sync::Cache::new(capacity.max(1)) }
    }

    fn digest(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// `token`, if it was verified here before.
    pub fn get(&self, token: &str) -> Option<Arc<Verified>> {
        self.seen.get(&Self::digest(token))
    }

    /// Remembers that `token` verified with the key `kid` of `alg`, and what it claims.
    pub fn remember(&self, token: &str, verified: Verified) {
        self.seen.insert(Self::digest(token), Arc::new(verified));
    }
}
