//! The audit signing key: an Ed25519 key that signs the manifests of audit archives, so that an
//! archive kept far from the database can be checked offline against a public key published
//! at `GET /api/v1/audit-keys`. It is a key apart from the token signing keys: tokens' keys
//! rotate and retire within a day, while an archive must verify for as long as it is kept.
//! Created on first need (the first archive); the private half sealed with the master key, as
//! the token signing keys' are; never rotated automatically (an old archive names its key id).

use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::audit_archive::{self, AuditKeyRow};
use crate::db::{self, from_db_time, to_db_time, Conn};
use crate::domain::crypto::MasterKey;
use crate::error::{Error, Result};

/// The only algorithm of audit signing keys.
pub const ALGORITHM: &str = "Ed25519";

/// A published audit signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditKeyInfo {
    /// RFC 7638 thumbprint of the key's JWK (`{"crv":"Ed25519","kty":"OKP","x":…}`).
    pub kid: String,
    /// The 32-byte public key, base64url without padding (the JWK's `x`).
    pub public_key: String,
    pub created_at: DateTime<Utc>,
}

/// The key that signs archive manifests.
pub struct AuditSigner {
    pub kid: String,
    pub public_key: String,
    key: SigningKey,
}

impl AuditSigner {
    /// A fresh key that is in no database (tests, and the first key of a database).
    pub fn generate() -> AuditSigner {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        AuditSigner::from_secret(&secret)
    }

    fn from_secret(secret: &[u8; 32]) -> AuditSigner {
        let key = SigningKey::from_bytes(secret);
        let public_key = b64(key.verifying_key().as_bytes());
        AuditSigner { kid: key_id(&public_key), public_key, key }
    }

    /// The detached signature of `message`, base64url.
    pub fn sign(&self, message: &[u8]) -> String {
        b64(&self.key.sign(message).to_bytes())
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The key id of a public key (base64url): its JWK thumbprint, so that anyone holding the
/// public key can compute it.
pub fn key_id(public_key: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{public_key}"}}"#);
    b64(&Sha256::digest(canonical.as_bytes()))
}

/// Checks a detached signature (base64url) of `message` by the public key (base64url).
/// Strict verification: no malleable or small-order forgeries pass.
pub fn verify(public_key: &str, message: &[u8], signature: &str) -> std::result::Result<(), String> {
    let decode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim());
    let public: [u8; 32] =
        decode(public_key).ok().and_then(|b| b.try_into().ok()).ok_or("the public key is not 32 bytes of base64url")?;
    let signature: [u8; 64] =
        decode(signature).ok().and_then(|b| b.try_into().ok()).ok_or("the signature is not 64 bytes of base64url")?;
    let key = VerifyingKey::from_bytes(&public).map_err(|_| "the public key is not a valid Ed25519 key")?;
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|_| "the signature does not verify".to_owned())
}

fn seal_context(kid: &str) -> String {
    format!("audit-signing-key:{kid}")
}

/// The newest audit signing key, created (and stored) when there is none yet. Call it in a
/// write transaction; the archiving lease keeps two replicas from creating one each.
pub fn signer(conn: &mut Conn, master: &MasterKey) -> Result<AuditSigner> {
    if let Some(row) = audit_archive::keys(conn)?.into_iter().next() {
        let secret: [u8; 32] = master
            .open(&seal_context(&row.kid), &row.private_key)?
            .try_into()
            .map_err(|_| Error::internal("the audit signing key is not 32 bytes"))?;
        let signer = AuditSigner::from_secret(&secret);
        if signer.kid != row.kid {
            return Err(Error::internal("the stored audit signing key does not match its key id"));
        }
        return Ok(signer);
    }
    let signer = AuditSigner::generate();
    audit_archive::insert_key(
        conn,
        &AuditKeyRow {
            kid: signer.kid.clone(),
            public_key: signer.public_key.clone(),
            private_key: master.seal(&seal_context(&signer.kid), signer.key.as_bytes())?,
            created_at: to_db_time(db::now()),
        },
    )?;
    log::info!("created the audit signing key {}", signer.kid);
    Ok(signer)
}

/// Every audit signing key, newest first (public halves only).
pub fn list(conn: &mut Conn) -> Result<Vec<AuditKeyInfo>> {
    Ok(audit_archive::keys(conn)?
        .into_iter()
        .map(|row| AuditKeyInfo { kid: row.kid, public_key: row.public_key, created_at: from_db_time(row.created_at) })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_the_public_key_only_for_its_message() {
        let signer = AuditSigner::generate();
        let signature = signer.sign(b"manifest");
        assert_eq!(verify(&signer.public_key, b"manifest", &signature), Ok(()));
        assert!(verify(&signer.public_key, b"manifest!", &signature).is_err());
        let other = AuditSigner::generate();
        assert!(verify(&other.public_key, b"manifest", &signature).is_err());
        assert!(verify(&signer.public_key, b"manifest", "not base64 !").is_err());
    }

    #[test]
    fn the_key_id_is_the_jwk_thumbprint() {
        // RFC 8037, appendix A.3: the thumbprint of its example Ed25519 key.
        assert_eq!(
            key_id("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
