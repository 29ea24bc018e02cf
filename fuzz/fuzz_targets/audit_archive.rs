//! The readers of an audit archive, whose files come from wherever the archive was kept:
//! `segment::parse_manifest` (manifest JSON), `segment::read_events` (a zstd NDJSON segment),
//! `audit_keys::verify` (a detached Ed25519 signature). The first byte picks: 0 a manifest,
//! 1 a segment's bytes as they are, 2 the rest compressed first (so the NDJSON reader past
//! zstd is reached), 3 a signature. No panic; no more events than the limit are read; what
//! parses as a manifest has a consistent range; a signature verifies only on its message.
#![no_main]

use gatehouse::domain::audit_archive::segment;
use gatehouse::domain::audit_keys::{self, AuditSigner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 4 {
        0 => {
            if let Ok(m) = segment::parse_manifest(rest) {
                assert!(m.first_seq >= 1 && m.last_seq >= m.first_seq);
                assert_eq!(m.last_seq - m.first_seq + 1, m.events);
            }
        }
        1 | 2 => {
            let bytes = if selector % 4 == 2 { zstd::encode_all(rest, 1).unwrap() } else { rest.to_vec() };
            let limit = 3;
            let mut seen = 0;
            if let Ok(count) = segment::read_events(&bytes[..], limit, |_| {
                seen += 1;
                Ok(())
            }) {
                assert!(count <= limit && count == seen);
            }
        }
        _ => {
            let text = String::from_utf8_lossy(rest);
            let signer = AuditSigner::generate();
            assert!(
                audit_keys::verify(&signer.public_key, b"manifest", &text).is_err()
                    || text.trim() == signer.sign(b"manifest")
            );
            let signature = signer.sign(rest);
            assert!(audit_keys::verify(&signer.public_key, rest, &signature).is_ok());
            let _ = audit_keys::verify(&text, rest, &signature);
        }
    }
});
