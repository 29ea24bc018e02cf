//! The user codes of the device authorization grant (RFC 8628 §6.1): eight letters from an
//! alphabet without vowels (no words) and without letters easily mistaken for others, shown as
//! `XXXX-XXXX`, entered in either case, with or without the dash and spaces. 20^8 codes (about
//! 34 bits): guessing one is throttled per address on the hosted page, and a code lives ten
//! minutes. Stored as a keyed hash of its normalized form.

use rand::Rng;

/// The letters of a user code.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code.
pub const LENGTH: usize = 8;
/// Longer input is not read (a code with generous separators fits well within it).
const MAX_INPUT: usize = 64;

/// A new user code, normalized (no dash).
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..LENGTH).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// How a normalized code is shown: `XXXX-XXXX`.
pub fn display(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(LENGTH / 2));
    format!("{a}-{b}")
}

/// The normalized code a user typed (letters upper-cased, dashes and spaces dropped); `None`
/// when it cannot be a user code.
pub fn normalize(input: &str) -> Option<String> {
    if input.len() > MAX_INPUT {
        return None;
    }
    let code: String =
        input.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_letters_of_the_alphabet_and_read_back_however_typed() {
        for _ in 0..200 {
            let code = generate();
            assert_eq!(code.len(), LENGTH);
            assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            let shown = display(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(normalize(&shown).as_deref(), Some(code.as_str()));
            assert_eq!(normalize(&shown.to_ascii_lowercase()).as_deref(), Some(code.as_str()));
            assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalize(" bcdf ghjk ").as_deref(), Some("BCDFGHJK"));
    }

    #[test]
    fn anything_else_is_not_a_code() {
        for bad in
            ["", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "BCDF_GHJK", "ßCDF-GHJK", "B".repeat(100).as_str()]
        {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
