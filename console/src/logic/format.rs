//! Display helpers.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// `2025-01-31 09:05:07 UTC`.
pub fn time(t: &DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())
}

pub fn opt_time(t: Option<&DateTime<Utc>>) -> String {
    t.map(time).unwrap_or_else(|| "—".to_owned())
}

/// A list of grants (or anything) as one line, or a dash.
pub fn list(items: &[String]) -> String {
    if items.is_empty() {
        "—".to_owned()
    } else {
        items.join(", ")
    }
}

/// The overlap presets of a secret rotation: seconds and label.
pub const OVERLAPS: [(u64, &str); 4] =
    [(0, "none (old secret stops now)"), (3600, "1 hour"), (86_400, "24 hours"), (604_800, "7 days")];

pub fn overlap_label(seconds: u64) -> String {
    OVERLAPS
        .iter()
        .find(|(s, _)| *s == seconds)
        .map(|(_, l)| (*l).to_owned())
        .unwrap_or_else(|| format!("{seconds} seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_in_utc() {
        let t: DateTime<Utc> = "2025-01-31T09:05:07.123+01:00".parse().unwrap();
        assert_eq!(time(&t), "2025-01-31 08:05:07 UTC");
        assert_eq!(opt_time(None), "—");
    }

    #[test]
    fn labels() {
        assert_eq!(list(&[]), "—");
        assert_eq!(list(&["a".into(), "b".into()]), "a, b");
        assert_eq!(overlap_label(86_400), "24 hours");
        assert_eq!(overlap_label(5), "5 seconds");
    }
}
