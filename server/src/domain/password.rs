//! Password hashing: argon2id at OWASP's floor or stronger, the parameters kept in each PHC
//! string so they can be raised later. Imported argon2 and bcrypt hashes verify and report that
//! they should be re-hashed with the current parameters.
//!
//! Everything here is CPU-bound and slow on purpose: call it through [`super::hashing::HashPool`].

use std::cell::RefCell;

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use rand::RngCore;

use crate::error::{Error, Result};

/// OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
pub const FLOOR: HashParams = HashParams { memory_kib: 19_456, iterations: 2, parallelism: 1 };

/// Upper bounds for imported hashes, so that a hostile import cannot make one sign-in cost
/// gigabytes or minutes.
const MAX_IMPORT_MEMORY_KIB: u32 = 262_144;
const MAX_IMPORT_ITERATIONS: u32 = 16;
const MAX_IMPORT_PARALLELISM: u32 = 16;
const MIN_BCRYPT_COST: u32 = 4;
const MAX_BCRYPT_COST: u32 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        FLOOR
    }
}

impl HashParams {
    /// Refuses parameters below OWASP's floor.
    pub fn checked(self) -> Result<Self> {
        if self.memory_kib < FLOOR.memory_kib || self.iterations < FLOOR.iterations || self.parallelism < 1 {
            return Err(Error::bad_request(format!(
                "argon2id parameters must be at least m={} KiB, t={}, p={}",
                FLOOR.memory_kib, FLOOR.iterations, FLOOR.parallelism
            )));
        }
        Ok(self)
    }

    fn argon2_params(&self) -> Result<Params> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(HASH_LEN)).map_err(Error::internal)
    }
}

const HASH_LEN: usize = 32;
const SALT_LEN: usize = 16;

thread_local! {
    /// argon2's working memory, kept per thread: allocating and faulting in 19 MiB for every
    /// hash would cost as much kernel time as the hash itself.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 into `out` with this thread's reusable memory.
fn argon2_into(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    secret: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> std::result::Result<(), argon2::Error> {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let needed = params.block_count();
        if memory.len() < needed {
            memory.resize(needed, Block::default());
        }
        let outcome = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            secret,
            salt,
            out,
            &mut memory[..needed],
        );
        // Do not keep the memory of an unusually expensive imported hash around.
        if memory.len() > 2 * FLOOR.memory_kib as usize {
            *memory = Vec::new();
        }
        outcome
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

/// Hashes `secret` with argon2id and a fresh random salt; returns the PHC string.
pub fn hash(params: &HashParams, secret: &str) -> Result<String> {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let mut out = [0u8; HASH_LEN];
    argon2_into(Algorithm::Argon2id, Version::V0x13, params.argon2_params()?, secret.as_bytes(), &salt, &mut out)
        .map_err(Error::internal)?;
    Ok(phc(params, &salt, &out))
}

/// A PHC string with these parameters, a random salt and a random output: the hash of no
/// secret anyone knows (finding one would be a preimage of argon2). Verifying against it costs
/// what verifying against a real hash costs and answers no, without hashing anything to make
/// it (hashing would leave 19 MiB of argon2 memory with the thread that made it: issue 15's
/// idle RSS).
pub fn decoy(params: &HashParams) -> String {
    let mut salt = [0u8; SALT_LEN];
    let mut out = [0u8; HASH_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut out);
    phc(params, &salt, &out)
}

fn phc(params: &HashParams, salt: &[u8], out: &[u8]) -> String {
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        b64(salt),
        b64(out)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The password matches; `rehash` says the stored hash is weaker than (or differs from)
    /// the current parameters and should be replaced.
    Yes {
        rehash: bool,
    },
    No,
}

impl Verified {
    pub fn ok(self) -> bool {
        matches!(self, Verified::Yes { .. })
    }
}

/// Checks `secret` against a stored PHC string (argon2 of any variant, or bcrypt).
pub fn verify(current: &HashParams, stored: &str, secret: &str) -> Verified {
    if is_bcrypt(stored) {
        return match bcrypt::verify(secret, stored) {
            Ok(true) => Verified::Yes { rehash: true },
            _ => Verified::No,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else { return Verified::No };
    if argon2_bounds(&parsed).is_err() {
        return Verified::No;
    }
    if argon2_matches(&parsed, secret).unwrap_or(false) {
        Verified::Yes { rehash: needs_rehash(current, &parsed) }
    } else {
        Verified::No
    }
}

/// Recomputes an argon2 PHC hash for `secret` and compares in constant time (`None`: the
/// stored string is not usable).
fn argon2_matches(parsed: &PasswordHash<'_>, secret: &str) -> Option<bool> {
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::V0x13,
    };
    let expected = parsed.hash?;
    let stated = Params::try_from(parsed).ok()?;
    let params = Params::new(stated.m_cost(), stated.t_cost(), stated.p_cost(), Some(expected.len())).ok()?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let mut out = vec![0u8; expected.len()];
    argon2_into(algorithm, version, params, secret.as_bytes(), salt, &mut out).ok()?;
    Some(Output::new(&out).ok()? == expected)
}

fn needs_rehash(current: &HashParams, parsed: &PasswordHash<'_>) -> bool {
    if parsed.algorithm.as_str() != "argon2id" {
        return true;
    }
    match Params::try_from(parsed) {
        Ok(p) => {
            p.m_cost() != current.memory_kib || p.t_cost() != current.iterations || p.p_cost() != current.parallelism
        }
        Err(_) => true,
    }
}

/// Checks that an imported PHC string is one we can verify, within sane cost bounds.
pub fn check_importable(stored: &str) -> std::result::Result<(), String> {
    if is_bcrypt(stored) {
        let cost: u32 =
            stored.get(4..6).and_then(|c| c.parse().ok()).ok_or_else(|| "is not a valid bcrypt hash".to_owned())?;
        if !(MIN_BCRYPT_COST..=MAX_BCRYPT_COST).contains(&cost) {
            return Err(format!("bcrypt cost must be between {MIN_BCRYPT_COST} and {MAX_BCRYPT_COST}"));
        }
        // Salt and hash in bcrypt's base64, canonical as bcrypt decodes them (found by fuzzing:
        // other trailing bits imported, then never verified).
        let engine =
            base64::engine::GeneralPurpose::new(&base64::alphabet::BCRYPT, base64::engine::general_purpose::NO_PAD);
        let decodes = |text: &str, len: usize| engine.decode(text).is_ok_and(|bytes| bytes.len() == len);
        let valid = stored.len() == 60
            && stored.as_bytes()[6] == b'$'
            && stored[7..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
            && decodes(&stored[7..29], 16)
            && decodes(&stored[29..], 23);
        return if valid { Ok(()) } else { Err("is not a valid bcrypt hash".into()) };
    }
    if !stored.starts_with("$argon2") {
        return Err("must be a PHC string: $argon2id$…, $argon2i$…, $argon2d$… or $2b$…".into());
    }
    let parsed = PasswordHash::new(stored).map_err(|_| "is not a valid argon2 PHC string".to_owned())?;
    argon2_bounds(&parsed)?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("is missing its salt or hash".into());
    }
    // Only what `argon2_matches` can recompute (found by fuzzing: such hashes imported, then
    // never verified): a known version, a salt argon2 takes, no key id or associated data.
    let mut salt = [0u8; 64];
    let salt_len = parsed.salt.and_then(|s| s.decode_b64(&mut salt).ok()).map_or(0, |s| s.len());
    let params = Params::try_from(&parsed).map_err(|_| "has invalid argon2 parameters".to_owned())?;
    if parsed.version.is_some_and(|v| Version::try_from(v).is_err())
        || salt_len < argon2::MIN_SALT_LEN
        || !params.keyid().is_empty()
        || !params.data().is_empty()
    {
        return Err("uses an argon2 version, salt, key id or associated data that cannot be verified".into());
    }
    Ok(())
}

fn argon2_bounds(parsed: &PasswordHash<'_>) -> std::result::Result<(), String> {
    if !matches!(parsed.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d") {
        return Err("uses an unsupported algorithm".into());
    }
    let params = Params::try_from(parsed).map_err(|_| "has invalid argon2 parameters".to_owned())?;
    if params.m_cost() > MAX_IMPORT_MEMORY_KIB
        || params.t_cost() > MAX_IMPORT_ITERATIONS
        || params.p_cost() > MAX_IMPORT_PARALLELISM
    {
        return Err(format!(
            "argon2 parameters are too expensive (at most m={MAX_IMPORT_MEMORY_KIB}, t={MAX_IMPORT_ITERATIONS}, p={MAX_IMPORT_PARALLELISM})"
        ));
    }
    Ok(())
}

fn is_bcrypt(stored: &str) -> bool {
    stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_argon2id_at_the_owasp_floor_and_verifies() {
        let phc = hash(&FLOOR, "correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(verify(&FLOOR, &phc, "correct horse"), Verified::Yes { rehash: false });
        assert_eq!(verify(&FLOOR, &phc, "wrong horse"), Verified::No);
    }

    #[test]
    fn a_decoy_is_a_real_hash_of_no_known_secret() {
        let decoy = decoy(&FLOOR);
        assert!(decoy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{decoy}");
        let parsed = PasswordHash::new(&decoy).unwrap();
        assert!(argon2_bounds(&parsed).is_ok());
        // argon2 runs over the guess (as for a real hash) and does not match.
        assert_eq!(argon2_matches(&parsed, "decoy"), Some(false));
        assert_eq!(verify(&FLOOR, &decoy, ""), Verified::No);
        assert_ne!(decoy, super::decoy(&FLOOR), "each decoy has its own salt and output");
    }

    #[test]
    fn weaker_or_foreign_hashes_verify_and_ask_for_a_rehash() {
        let weak = HashParams { memory_kib: 8192, iterations: 1, parallelism: 1 };
        let phc = hash(&weak, "pw123456").unwrap();
        assert_eq!(verify(&FLOOR, &phc, "pw123456"), Verified::Yes { rehash: true });
        let bcrypt_hash = bcrypt::hash("pw123456", 4).unwrap();
        assert!(check_importable(&bcrypt_hash).is_ok());
        assert_eq!(verify(&FLOOR, &bcrypt_hash, "pw123456"), Verified::Yes { rehash: true });
        assert_eq!(verify(&FLOOR, &bcrypt_hash, "nope"), Verified::No);
    }

    #[test]
    fn refuses_to_import_unknown_or_ruinous_hashes() {
        assert!(check_importable("plaintext").is_err());
        assert!(check_importable("$1$abc$def").is_err());
        assert!(check_importable("$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA").is_err());
        assert!(check_importable("$2b$31$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234").is_err());
        assert!(check_importable(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
        )
        .is_ok());
    }

    #[test]
    fn verifies_hashes_made_by_the_reference_implementation() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let reference = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(8192, 3, 2, None).unwrap())
            .hash_password(b"legacy pw", &SaltString::encode_b64(b"0123456789abcdef").unwrap())
            .unwrap()
            .to_string();
        assert_eq!(verify(&FLOOR, &reference, "legacy pw"), Verified::Yes { rehash: true });
        assert_eq!(verify(&FLOOR, &reference, "legacy pX"), Verified::No);
        let ours = hash(&FLOOR, "ours").unwrap();
        use argon2::password_hash::PasswordVerifier;
        assert!(Argon2::default().verify_password(b"ours", &PasswordHash::new(&ours).unwrap()).is_ok());
    }

    #[test]
    fn refuses_parameters_below_the_floor() {
        assert!(HashParams { memory_kib: 4096, iterations: 2, parallelism: 1 }.checked().is_err());
        assert!(HashParams { memory_kib: 65536, iterations: 3, parallelism: 1 }.checked().is_ok());
    }
}
