//! Sign-in names are compared after Unicode NFKC normalization and case folding, so that
//! "ALICE", "alice" and "ａｌｉｃｅ" (full-width) are one name in a namespace.

use unicode_normalization::UnicodeNormalization;

/// The comparison key of a sign-in name: NFKC(case fold(NFKC(name))), an approximation of
/// Unicode's NFKC_Casefold that is stable under repetition.
pub fn fold(name: &str) -> String {
    let normalized: String = name.nfkc().collect();
    caseless::default_case_fold_str(&normalized).nfkc().collect()
}

/// The smallest string above every string that starts with `prefix` (byte-wise order, which is
/// SQLite's BINARY and PostgreSQL's "C" collation), for index-friendly prefix ranges.
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut upper = String::with_capacity(prefix.len() + 4);
    upper.push_str(prefix);
    upper.push(char::MAX);
    upper
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_compatibility_forms() {
        assert_eq!(fold("ALICE"), "alice");
        assert_eq!(fold("ａｌｉｃｅ"), "alice");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("ﬁle"), "file");
        assert_eq!(fold(&fold("ǅemal")), fold("ǅemal"));
    }

    #[test]
    fn prefix_bound_is_above_all_extensions() {
        let upper = prefix_upper_bound("ali");
        for s in ["ali", "alice", "ali\u{fffd}", "aliz"] {
            assert!(s >= "ali" && s < upper.as_str(), "{s}");
        }
        assert!("alj" > upper.as_str());
    }
}
