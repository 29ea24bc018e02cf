//! The console's sign-in cookie (`console::session::pending_login`): base64url, sealed with the
//! master key (ChaCha20-Poly1305, bound to its purpose), then JSON. A browser can send anything:
//! nothing opens that was not sealed with this key and purpose, and sealed values open intact.
#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use gatehouse::console::session::PendingLogin;
use gatehouse::domain::crypto::MasterKey;
use libfuzzer_sys::fuzz_target;

const PURPOSE: &str = "console-login";

fn key() -> &'static MasterKey {
    static KEY: OnceLock<MasterKey> = OnceLock::new();
    KEY.get_or_init(|| MasterKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("a 32-byte key"))
}

fn open(cookie: &[u8]) -> Option<PendingLogin> {
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cookie).ok()?;
    serde_json::from_slice(&key().open(PURPOSE, &sealed).ok()?).ok()
}

fuzz_target!(|data: &[u8]| {
    assert!(open(data).is_none(), "a cookie not sealed here opened");
    assert!(key().open(PURPOSE, data).is_err());

    // What the server seals opens again, only for its purpose.
    let text = String::from_utf8_lossy(data);
    let (state, verifier) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let plain = serde_json::to_vec(&PendingLogin { state: state.into(), verifier: verifier.into() }).unwrap();
    let sealed = key().seal(PURPOSE, &plain).expect("sealing works");
    let cookie = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sealed);
    let pending = open(cookie.as_bytes()).expect("a sealed cookie opens");
    assert!(pending.state == state && pending.verifier == verifier);
    assert!(key().open("console-tokens", &sealed).is_err());
});
