//! PHC password hash strings, as bulk imports bring them (`$argon2id$…`, `$argon2i$…`,
//! `$argon2d$…`, `$2a$`/`$2b$`/`$2y$` bcrypt) and as sign-in reads them back.
//!
//! The import check (`check_importable`) is the parser under test; `verify` runs only on cheap
//! parameters so that an iteration stays fast. Properties: no panic; what the import accepts
//! can be verified (an imported account whose hash can never match is locked out for good);
//! hashes made by the reference implementations and by the server itself import and verify.
#![no_main]

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};
use gatehouse::domain::password::{self, HashParams, Verified, FLOOR};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "correct horse battery";

/// argon2 parameters small enough to hash on every iteration.
fn cheap_argon2(parsed: &PasswordHash<'_>) -> Option<Params> {
    let params = Params::try_from(parsed).ok()?;
    (params.m_cost() <= 256 && params.t_cost() <= 3 && params.p_cost() <= 4).then_some(params)
}

fn cheap_bcrypt(stored: &str) -> bool {
    stored.get(4..6).and_then(|c| c.parse::<u32>().ok()).is_some_and(|c| c <= 5) && stored.get(6..7) == Some("$")
}

/// The stored string with its hash replaced by the reference implementation's hash of `SECRET`
/// (same algorithm, version, parameters and salt), or why the reference refuses it.
fn reference_argon2(parsed: &PasswordHash<'_>, params: Params) -> Result<String, String> {
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| e.to_string())?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| e.to_string())?,
        None => Version::V0x13,
    };
    let hash = parsed.hash.ok_or("no hash")?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt.ok_or("no salt")?.decode_b64(&mut salt).map_err(|e| e.to_string())?;
    let mut out = vec![0u8; hash.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into(SECRET.as_bytes(), salt, &mut out)
        .map_err(|e| e.to_string())?;
    let mut remade = parsed.clone();
    remade.hash = Some(Output::new(&out).map_err(|e| e.to_string())?);
    Ok(remade.to_string())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(stored) = std::str::from_utf8(rest) else { return };

    let importable = password::check_importable(stored);
    if let Err(message) = &importable {
        assert!(!message.is_empty());
    }

    if stored.starts_with("$2") {
        if cheap_bcrypt(stored) {
            let _ = password::verify(&FLOOR, stored, SECRET);
            if importable.is_ok() {
                // Imported, so bcrypt must be able to check a password against it.
                if let Err(e) = bcrypt::verify(SECRET, stored) {
                    panic!("imported {stored:?} can never verify: {e}");
                }
            }
        }
    } else if let Ok(parsed) = PasswordHash::new(stored) {
        if let Some(params) = cheap_argon2(&parsed) {
            let _ = password::verify(&FLOOR, stored, SECRET);
            if importable.is_ok() {
                // Imported, so it must be able to match the right password.
                let reference = reference_argon2(&parsed, params)
                    .unwrap_or_else(|why| panic!("imported {stored:?} can never verify: {why}"));
                assert!(password::check_importable(&reference).is_ok(), "{reference}");
                assert_eq!(password::verify(&FLOOR, &reference, SECRET), Verified::Yes { rehash: true }, "{reference}");
                assert_eq!(password::verify(&FLOOR, &reference, "wrong horse battery"), Verified::No);
            }
        }
    }

    // The server's own output with cheap parameters: imports, verifies, asks for a rehash.
    if selector % 16 == 0 {
        let secret = String::from_utf8_lossy(&rest[..rest.len().min(64)]).into_owned();
        let weak = HashParams { memory_kib: 8 + u32::from(selector % 7) * 8, iterations: 1, parallelism: 1 };
        let ours = password::hash(&weak, &secret).expect("hashing works");
        assert!(password::check_importable(&ours).is_ok(), "{ours}");
        assert_eq!(password::verify(&FLOOR, &ours, &secret), Verified::Yes { rehash: true });
        assert_eq!(password::verify(&weak, &ours, &secret), Verified::Yes { rehash: false });
        assert_eq!(password::verify(&FLOOR, &ours, &format!("{secret}x")), Verified::No);
    }

    // bcrypt at the lowest cost with a salt from the input: imports and verifies.
    if selector % 16 == 1 && rest.len() >= 16 {
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&rest[..16]);
        let secret = String::from_utf8_lossy(&rest[16..rest.len().min(16 + 64)]).into_owned();
        let made = bcrypt::hash_with_salt(&secret, 4, salt).expect("bcrypt").format_for_version(bcrypt::Version::TwoB);
        assert!(password::check_importable(&made).is_ok(), "{made}");
        assert_eq!(password::verify(&FLOOR, &made, &secret), Verified::Yes { rehash: true });
    }
});
