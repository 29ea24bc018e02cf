//! The master key and what is derived from it: sealing of private keys and queued messages at
//! rest, keyed hashes of one-time codes, and secrets for the hosted pages. Random tokens.

use std::path::{Path, PathBuf};

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The key-encryption key: 32 bytes from `GATEHOUSE_MASTER_KEY` or a key file.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Where the master key came from, for the startup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
    Generated(PathBuf),
}

impl MasterKey {
    /// Parses 32 bytes given as base64 (standard or URL-safe) or 64 hex digits.
    pub fn parse(text: &str) -> Result<MasterKey> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .ok()
        };
        match bytes {
            Some(b) if b.len() == 32 => Ok(MasterKey(b.try_into().expect("32 bytes"))),
            _ => Err(Error::bad_request("the master key must be 32 bytes, as base64 or 64 hex digits")),
        }
    }

    pub fn generate() -> MasterKey {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        MasterKey(key)
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// The key from the environment value, else from `file`; for an embedded database without
    /// either, a key generated into `default_file` (created with mode 0600).
    pub fn load(
        env_value: Option<&str>,
        file: Option<&Path>,
        default_file: Option<&Path>,
    ) -> Result<(MasterKey, KeySource)> {
        if let Some(value) = env_value.filter(|v| !v.trim().is_empty()) {
            return Ok((MasterKey::parse(value)?, KeySource::Environment));
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::bad_request(format!("cannot read the master key file {}: {e}", path.display())))?;
            return Ok((MasterKey::parse(&text)?, KeySource::File(path.to_owned())));
        }
        let Some(path) = default_file else {
            return Err(Error::bad_request(
                "set GATEHOUSE_MASTER_KEY (or --master-key-file): every replica must share it to read the signing keys",
            ));
        };
        if path.exists() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::bad_request(format!("cannot read {}: {e}", path.display())))?;
            return Ok((MasterKey::parse(&text)?, KeySource::File(path.to_owned())));
        }
        let key = MasterKey::generate();
        write_private_file(path, &key.to_base64())?;
        Ok((key, KeySource::Generated(path.to_owned())))
    }

    /// A subkey for one purpose.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(b"gatehouse/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A value that shows whether a stored secret was sealed with this key.
    pub fn check_value(&self) -> String {
        hex::encode(self.derive("check"))
    }

    /// Encrypts and authenticates `plain`, bound to `context` (e.g. a key id).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.derive("seal")));
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut sealed = nonce.to_vec();
        sealed.extend(
            cipher
                .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: context.as_bytes() })
                .map_err(|_| Error::internal("sealing failed"))?,
        );
        Ok(sealed)
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < 12 {
            return Err(Error::internal("sealed value is truncated"));
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.derive("seal")));
        let (nonce, ciphertext) = sealed.split_at(12);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| Error::internal("a sealed value does not open with this master key"))
    }

    /// A keyed hash (hex) of a low-entropy secret such as a 6-digit code: useless without the key.
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.derive(purpose)).expect("any key length");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn write_private_file(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file =
        options.open(path).map_err(|e| Error::bad_request(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(contents.as_bytes()).map_err(Error::internal)?;
    file.sync_all().map_err(Error::internal)
}

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 (hex) of a high-entropy token, for lookups without storing the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A numeric one-time code of `digits` digits.
pub fn numeric_code(digits: u32) -> String {
    use rand::Rng;
    let n = rand::rngs::OsRng.gen_range(0..10u64.pow(digits));
    format!("{n:0width$}", width = digits as usize)
}

/// Constant-time equality of two strings.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = MasterKey::generate();
        let sealed = key.seal("kid-1", b"private key").unwrap();
        assert_eq!(key.open("kid-1", &sealed).unwrap(), b"private key");
        assert!(key.open("kid-2", &sealed).is_err());
        assert!(MasterKey::generate().open("kid-1", &sealed).is_err());
    }

    #[test]
    fn master_keys_parse_from_base64_or_hex() {
        let key = MasterKey::generate();
        assert_eq!(MasterKey::parse(&key.to_base64()).unwrap().0, key.0);
        assert_eq!(MasterKey::parse(&hex::encode(key.0)).unwrap().0, key.0);
        assert!(MasterKey::parse("short").is_err());
    }

    #[test]
    fn a_generated_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatehouse.key");
        let (first, source) = MasterKey::load(None, None, Some(&path)).unwrap();
        assert_eq!(source, KeySource::Generated(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (again, _) = MasterKey::load(None, None, Some(&path)).unwrap();
        assert_eq!(first.0, again.0);
        assert!(MasterKey::load(None, None, None).is_err());
    }

    #[test]
    fn codes_are_numeric_and_hashes_are_keyed() {
        let code = numeric_code(6);
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        let (a, b) = (MasterKey::generate(), MasterKey::generate());
        assert_ne!(a.keyed_hash("code", "123456"), b.keyed_hash("code", "123456"));
    }
}
