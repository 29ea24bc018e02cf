//! The key set of the fuzz targets that verify client-signed JWTs (client assertions, request
//! objects): one ES256 and one EdDSA key, kids `es` and `ed`, generated once per process.

use std::sync::OnceLock;

use gatehouse::domain::signing_keys::SigningKey;
use gatehouse_api_types::{KeyState, SigningAlg};
use jsonwebtoken::jwk::JwkSet;
use serde_json::json;

pub fn keys() -> &'static (Vec<SigningKey>, JwkSet) {
    static KEYS: OnceLock<(Vec<SigningKey>, JwkSet)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let keys: Vec<SigningKey> = [(SigningAlg::ES256, "es"), (SigningAlg::EdDSA, "ed")]
            .into_iter()
            .map(|(alg, kid)| {
                let mut key = SigningKey::generate(alg, KeyState::Current).expect("key generation");
                key.kid = kid.into();
                key.jwk["kid"] = json!(kid);
                key
            })
            .collect();
        let set = serde_json::from_value(json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }))
            .expect("a JWK Set");
        (keys, set)
    })
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
