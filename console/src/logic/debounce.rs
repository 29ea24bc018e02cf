//! Search-as-you-type: which keystroke's timer may still apply its query.

/// Every keystroke takes a ticket; when its timer fires, only the latest ticket applies.
#[derive(Debug, Default, Clone, Copy)]
pub struct Debounce {
    latest: u64,
}

impl Debounce {
    pub fn bump(&mut self) -> u64 {
        self.latest += 1;
        self.latest
    }

    pub fn is_latest(&self, ticket: u64) -> bool {
        ticket == self.latest
    }
}

/// The `q` to send for the search box: trimmed, `None` when blank, at most 254 characters.
pub fn search_term(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.chars().take(254).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_keystroke_fires() {
        let mut d = Debounce::default();
        let first = d.bump();
        let second = d.bump();
        assert!(!d.is_latest(first));
        assert!(d.is_latest(second));
    }

    #[test]
    fn blank_searches_send_no_q() {
        assert_eq!(search_term("   "), None);
        assert_eq!(search_term(" al "), Some("al".to_owned()));
        assert_eq!(search_term(&"x".repeat(300)).map(|s| s.len()), Some(254));
    }
}
