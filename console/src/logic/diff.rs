//! The before/after view of an audit event's `changes`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct DiffRow {
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub changed: bool,
}

/// `changes.before` and `changes.after` when the event has them (a refusal carries other
/// details instead).
pub fn before_after(changes: &Value) -> Option<(Value, Value)> {
    let obj = changes.as_object()?;
    if !obj.contains_key("before") && !obj.contains_key("after") {
        return None;
    }
    let get = |k: &str| obj.get(k).cloned().unwrap_or(Value::Null);
    Some((get("before"), get("after")))
}

/// How a value shows in a cell: strings bare, everything else as compact JSON.
pub fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn as_object(value: &Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(m) => Some(m.clone()),
        Value::Null => Some(Map::new()),
        _ => None,
    }
}

/// One row per key of either side, sorted by key; `changed` where the sides differ (a key
/// missing on one side counts as changed). Non-object values compare as a single row.
pub fn diff(before: &Value, after: &Value) -> Vec<DiffRow> {
    match (as_object(before), as_object(after)) {
        (Some(b), Some(a)) => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            keys.into_iter()
                .map(|k| DiffRow {
                    key: k.clone(),
                    before: b.get(k).map(show),
                    after: a.get(k).map(show),
                    changed: b.get(k) != a.get(k),
                })
                .collect()
        }
        _ => vec![DiffRow {
            key: "(value)".to_owned(),
            before: Some(show(before)),
            after: Some(show(after)),
            changed: before != after,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn marks_changed_added_and_removed_keys() {
        let rows = diff(
            &json!({"name":"Ann","disabled":false,"email":"a@x"}),
            &json!({"name":"Ann","disabled":true,"phone":"+14155550123"}),
        );
        let keys: Vec<_> = rows.iter().map(|r| (r.key.as_str(), r.changed)).collect();
        assert_eq!(keys, vec![("disabled", true), ("email", true), ("name", false), ("phone", true)]);
        assert_eq!(rows[0].before.as_deref(), Some("false"));
        assert_eq!(rows[0].after.as_deref(), Some("true"));
        assert_eq!(rows[1].after, None);
        assert_eq!(rows[2].before.as_deref(), Some("Ann"));
    }

    #[test]
    fn a_creation_has_no_before() {
        let rows = diff(&Value::Null, &json!({"slug":"shop"}));
        assert_eq!(rows, vec![DiffRow { key: "slug".into(), before: None, after: Some("shop".into()), changed: true }]);
    }

    #[test]
    fn finds_before_and_after_only_when_present() {
        assert!(before_after(&json!({"missing_grant":"users:write@x"})).is_none());
        let (b, a) = before_after(&json!({"after":{"x":1}})).unwrap();
        assert_eq!(b, Value::Null);
        assert_eq!(a, json!({"x":1}));
    }

    #[test]
    fn scalars_compare_as_one_row() {
        let rows = diff(&json!(["a"]), &json!(["a", "b"]));
        assert_eq!(rows.len(), 1);
        assert!(rows[0].changed);
        assert_eq!(rows[0].after.as_deref(), Some(r#"["a","b"]"#));
    }
}
