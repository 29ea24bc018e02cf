//! User codes of the device authorization grant as a person types them on `/oauth/device`
//! (`domain::user_code::normalize`). No panic; whatever it accepts is eight letters of the
//! alphabet, reads back the same from its display form, and is what the input says once dashes
//! and spaces are dropped and letters upper-cased.
#![no_main]

use gatehouse::domain::user_code::{display, normalize, ALPHABET, LENGTH};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(code) = normalize(text) else { return };
    assert_eq!(code.len(), LENGTH);
    assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code:?} from {text:?}");
    assert_eq!(normalize(&display(&code)).as_deref(), Some(code.as_str()));
    let typed: String = text.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).collect();
    assert!(typed.eq_ignore_ascii_case(&code), "{text:?} read as {code:?}");
});
