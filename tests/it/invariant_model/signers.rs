//! The private keys agents make for `private_key_jwt` clients, and the assertions they sign.

use serde_json::{json, Value};

use super::world::World;
use gatehouse::domain::signing_keys::SigningKey;
use gatehouse_api_types::{KeyState, SigningAlg};

impl World<'_> {
    /// A new ES256 key pair kept by the model; its public JWK (with its kid).
    pub fn new_signer(&self) -> Value {
        let key = SigningKey::generate(SigningAlg::ES256, KeyState::Current).expect("a key");
        let mut jwk = key.jwk.clone();
        jwk["kid"] = json!(key.kid);
        self.signers.borrow_mut().insert(key.kid.clone(), std::sync::Arc::new(key));
        jwk
    }

    /// A client assertion for client `c` signed with the model's key `kid`.
    pub fn assertion(&self, c: usize, kid: &str) -> String {
        let signers = self.signers.borrow();
        let key = &signers[kid];
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        let client_id = &self.clients[c].client_id;
        let now = chrono::Utc::now().timestamp();
        let claims = json!({ "iss": client_id, "sub": client_id, "aud": self.app.base, "exp": now + 60,
                             "iat": now, "jti": uuid::Uuid::now_v7().to_string() });
        key.sign(&header, &claims).expect("signing")
    }
}
