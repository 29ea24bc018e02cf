//! What every handler can reach: [`AppState`], built once by `gatehouse serve`, and the token
//! service's part of it ([`OAuth`]: its [`Settings`], signing keys and master key).

use crate::audit_log::AuditLog;
use crate::db::Db;
use crate::domain::client_assertion::JwksCache;
use crate::domain::crypto::MasterKey;
use crate::domain::hashing::HashPool;
use crate::domain::secrets::VerifiedSecrets;
use crate::domain::signing_keys::KeyStore;
use crate::metrics::Metrics;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub hasher: HashPool,
    pub verified: VerifiedSecrets,
    /// The key sets of clients' `jwks_uri` (`private_key_jwt`).
    pub client_keys: JwksCache,
    pub audit: AuditLog,
    pub metrics: Metrics,
    /// Behind a proxy that sets `X-Forwarded-For`, take the caller's address from it.
    pub trust_forwarded_for: bool,
    pub oauth: OAuth,
    /// Wakes the outbox worker after a commit that queued a message.
    pub outbox: std::sync::Arc<tokio::sync::Notify>,
}

/// Lifetimes and names of the token service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `https://id.example.com` (no trailing slash).
    pub issuer: String,
    pub default_access_ttl: u32,
    /// No access token outlives this, whatever a client asks for.
    pub max_access_ttl: u32,
    pub id_token_ttl: u32,
    pub refresh_ttl: chrono::Duration,
    pub code_ttl: chrono::Duration,
    pub session_ttl: chrono::Duration,
    /// The console rule: an account holding any `write` grant must use a second factor to sign
    /// in to the console (`--console-mfa required`, the default).
    pub console_mfa_required: bool,
    /// Every client must push its authorization requests to `/oauth/par` first (`--require-par`).
    pub require_par: bool,
}

impl Settings {
    pub fn new(issuer: String) -> Settings {
        Settings {
            issuer,
            default_access_ttl: 300,
            max_access_ttl: 3600,
            id_token_ttl: 3600,
            refresh_ttl: chrono::Duration::days(30),
            code_ttl: chrono::Duration::seconds(60),
            session_ttl: chrono::Duration::hours(12),
            console_mfa_required: true,
            require_par: false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The audience of access tokens for the Management API.
    pub fn api_audience(&self) -> String {
        self.url("/api/v1")
    }

    /// Cookies are `Secure` (and may use the `__Host-` prefix) when served over https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

/// The token service's state: what issuing and verifying tokens and sealing cookies needs.
pub struct OAuth {
    pub settings: Settings,
    pub keys: KeyStore,
    pub master: MasterKey,
    /// The WebAuthn relying party of the issuer; None when the issuer's host is an IP address
    /// (passkeys need a domain name).
    pub passkeys: Option<webauthn_rs::Webauthn>,
}
