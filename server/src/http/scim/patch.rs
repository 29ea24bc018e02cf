//! SCIM PATCH (RFC 7644 §3.5.2) over a resource's JSON form: `add`, `replace` and `remove`,
//! with and without `path`, value filters (`emails[type eq "work"].value`,
//! `members[value eq "…"]`), extension URNs, and the spellings Entra ID and Okta send
//! (`"op": "Replace"`, `"value": "False"`, `remove` of `members` with a `value` list). The
//! adapter turns the patched document into the account's or group's new state and hands it to
//! the domain like a `PUT`, so a patch is bound by exactly the same rules.

use serde_json::{Map, Value};

use super::filter::{self, member, CompValue, Filter, Op, PatchPath};
use super::{scim_error, ScimType};
use crate::error::Result;

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// At most this many operations in one request.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub kind: Kind,
    /// The path as sent, and parsed.
    pub path: Option<(String, PatchPath)>,
    pub value: Option<Value>,
}

/// The operations of a `PatchOp` request body.
pub fn parse_request(body: &Value) -> Result<Vec<Operation>> {
    let schemas = member(body, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA)))) {
        return Err(scim_error(
            ScimType::InvalidSyntax,
            format!("a PATCH body's schemas must be [\"{PATCH_OP_SCHEMA}\"]"),
        ));
    }
    let Some(Value::Array(operations)) = member(body, "Operations") else {
        return Err(scim_error(ScimType::InvalidSyntax, "a PATCH body needs an `Operations` array"));
    };
    if operations.is_empty() || operations.len() > MAX_OPERATIONS {
        return Err(scim_error(ScimType::InvalidSyntax, format!("a PATCH has 1 to {MAX_OPERATIONS} operations")));
    }
    operations.iter().map(parse_operation).collect()
}

fn parse_operation(op: &Value) -> Result<Operation> {
    let kind = match member(op, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
        Some("add") => Kind::Add,
        Some("replace") => Kind::Replace,
        Some("remove") => Kind::Remove,
        _ => return Err(scim_error(ScimType::InvalidSyntax, "each operation's `op` is add, replace or remove")),
    };
    let path = match member(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => {
            let parsed = filter::parse_path(text)
                .map_err(|e| scim_error(ScimType::InvalidPath, format!("path `{text}`: {}", e.0)))?;
            Some((text.trim().to_owned(), parsed))
        }
        Some(_) => return Err(scim_error(ScimType::InvalidPath, "`path` must be a string")),
    };
    let value = member(op, "value").cloned();
    if kind == Kind::Remove && path.is_none() {
        return Err(scim_error(ScimType::NoTarget, "a remove operation needs a `path`"));
    }
    if kind != Kind::Remove && value.is_none() {
        return Err(scim_error(ScimType::InvalidValue, "add and replace operations need a `value`"));
    }
    Ok(Operation { kind, path, value })
}

/// Refuses operations that would change one of `read_only` (a core attribute that only the
/// service provider writes): a 400 with `scimType` `mutability` (RFC 7644 §3.5.2).
pub fn refuse_read_only(operations: &[Operation], read_only: &[&str]) -> Result<()> {
    let is_read_only = |name: &str| read_only.iter().any(|r| r.eq_ignore_ascii_case(name));
    for operation in operations {
        let named = match (&operation.path, &operation.value) {
            (Some((_, path)), _) => {
                let core = path.attr.uri.as_deref().is_none_or(filter::is_core);
                (core && is_read_only(&path.attr.name)).then(|| path.attr.name.clone())
            }
            (None, Some(Value::Object(values))) => values.keys().find(|k| is_read_only(k)).cloned(),
            (None, _) => None,
        };
        if let Some(name) = named {
            return Err(scim_error(ScimType::Mutability, format!("{name} is read-only")));
        }
    }
    Ok(())
}

/// The name an attribute is written under: the canonical spelling of a known one, else as sent.
fn canonical(name: &str, known: &[&str]) -> String {
    known.iter().find(|k| k.eq_ignore_ascii_case(name)).map_or_else(|| name.to_owned(), |k| (*k).to_owned())
}

/// The key of `object` that `name` designates (case-insensitively), or its canonical spelling.
fn key_of(object: &Map<String, Value>, name: &str, known: &[&str]) -> String {
    object.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| canonical(name, known))
}

/// Applies `operations` in order to `doc` (an object). `extensions` are the schema URNs whose
/// attributes live in a member of their own; `known` the attribute names to spell canonically.
pub fn apply(doc: &mut Value, operations: &[Operation], extensions: &[&str], known: &[&str]) -> Result<()> {
    for operation in operations {
        apply_one(doc, operation, extensions, known)?;
    }
    Ok(())
}

fn as_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    value.as_object_mut().expect("an object")
}

fn apply_one(doc: &mut Value, operation: &Operation, extensions: &[&str], known: &[&str]) -> Result<()> {
    let Some((text, path)) = &operation.path else {
        // No path: the value is an object of attributes (and extension objects) to add or replace.
        let Some(Value::Object(values)) = &operation.value else {
            return Err(scim_error(ScimType::InvalidValue, "without a path, the value must be an object"));
        };
        for (name, value) in values {
            let extension = extensions.iter().find(|e| e.eq_ignore_ascii_case(name));
            match (extension, value) {
                (Some(urn), Value::Object(members)) => {
                    let target = as_object(as_object(doc).entry(urn.to_string()).or_insert(Value::Null));
                    for (sub, v) in members {
                        let key = key_of(target, sub, known);
                        merge_into(target, key, v.clone(), operation.kind);
                    }
                }
                _ => {
                    let object = as_object(doc);
                    // A dotted name (Entra sends `name.givenName` this way) sets a sub-attribute.
                    if let Some((outer, sub)) = name.split_once('.').filter(|_| !name.contains(':')) {
                        let key = key_of(object, outer, known);
                        let inner = as_object(object.entry(key).or_insert(Value::Null));
                        let sub_key = key_of(inner, sub, known);
                        merge_into(inner, sub_key, value.clone(), operation.kind);
                    } else {
                        let key = key_of(object, name, known);
                        merge_into(object, key, value.clone(), operation.kind);
                    }
                }
            }
        }
        return Ok(());
    };
    // A path naming a whole extension: its value is that extension's object.
    if let Some(urn) = extensions.iter().find(|e| e.eq_ignore_ascii_case(text)) {
        let object = as_object(doc);
        return match operation.kind {
            Kind::Remove => {
                object.remove(*urn);
                Ok(())
            }
            kind => {
                let value = operation.value.clone().unwrap_or(Value::Null);
                merge_into(object, urn.to_string(), value, kind);
                Ok(())
            }
        };
    }
    let container = match &path.attr.uri {
        Some(uri) if !filter::is_core(uri) => {
            let Some(urn) = extensions.iter().find(|e| e.eq_ignore_ascii_case(uri)) else {
                return Err(scim_error(ScimType::InvalidPath, format!("path `{text}`: unknown schema `{uri}`")));
            };
            let object = as_object(doc);
            if operation.kind == Kind::Remove && !object.contains_key(*urn) {
                return Ok(());
            }
            as_object(object.entry(urn.to_string()).or_insert(Value::Null))
        }
        _ => as_object(doc),
    };
    let key = key_of(container, &path.attr.name, known);
    match (&path.filter, &path.attr.sub) {
        (None, None) => {
            match operation.kind {
                Kind::Remove => {
                    // `remove` of some values of a multi-valued attribute, named in `value` (Entra).
                    if let (Some(Value::Array(gone)), Some(Value::Array(values))) =
                        (&operation.value, container.get_mut(&key))
                    {
                        values.retain(|v| !gone.iter().any(|g| same_value(g, v)));
                        return Ok(());
                    }
                    container.remove(&key);
                }
                kind => merge_into(container, key, operation.value.clone().unwrap_or(Value::Null), kind),
            }
            Ok(())
        }
        (None, Some(sub)) => {
            if operation.kind == Kind::Remove {
                if let Some(inner) = container.get_mut(&key).and_then(Value::as_object_mut) {
                    let sub_key = key_of(inner, sub, known);
                    inner.remove(&sub_key);
                }
                return Ok(());
            }
            let inner = container.entry(key).or_insert(Value::Null);
            if inner.is_array() {
                return Err(scim_error(ScimType::InvalidPath, format!("path `{text}`: use a value filter")));
            }
            let inner = as_object(inner);
            let sub_key = key_of(inner, sub, known);
            merge_into(inner, sub_key, operation.value.clone().unwrap_or(Value::Null), operation.kind);
            Ok(())
        }
        (Some(filter), _) => apply_filtered(container, key, filter, path.sub.as_deref(), operation, text, known),
    }
}

fn apply_filtered(
    container: &mut Map<String, Value>,
    key: String,
    filter: &Filter,
    sub: Option<&str>,
    operation: &Operation,
    text: &str,
    known: &[&str],
) -> Result<()> {
    let values = container.entry(key.clone()).or_insert_with(|| Value::Array(Vec::new()));
    if !values.is_array() {
        return Err(scim_error(ScimType::InvalidPath, format!("path `{text}`: not a multi-valued attribute")));
    }
    let values = values.as_array_mut().expect("an array");
    let matching: Vec<usize> = (0..values.len()).filter(|&i| filter.matches(&values[i])).collect();
    match operation.kind {
        Kind::Remove => {
            match sub {
                None => {
                    let mut i = 0;
                    values.retain(|_| {
                        i += 1;
                        !matching.contains(&(i - 1))
                    });
                }
                Some(sub) => {
                    for &i in &matching {
                        if let Some(object) = values[i].as_object_mut() {
                            let sub_key = key_of(object, sub, known);
                            object.remove(&sub_key);
                        }
                    }
                }
            }
            if values.is_empty() {
                container.remove(&key);
            }
            Ok(())
        }
        kind => {
            let value = operation.value.clone().unwrap_or(Value::Null);
            if matching.is_empty() {
                // Entra and Okta add a typed value by its filter (`emails[type eq "work"].value`).
                let Some(mut created) = seed(filter) else {
                    return Err(scim_error(ScimType::NoTarget, format!("path `{text}` selects no value")));
                };
                match (sub, value) {
                    (Some(sub), value) => {
                        created.insert(canonical(sub, known), value);
                    }
                    (None, Value::Object(members)) => created.extend(members),
                    (None, _) => {
                        return Err(scim_error(ScimType::InvalidValue, "a value filter's value must be an object"))
                    }
                }
                values.push(Value::Object(created));
                return Ok(());
            }
            for &i in &matching {
                let object = as_object(&mut values[i]);
                match (sub, &value) {
                    (Some(sub), value) => {
                        let sub_key = key_of(object, sub, known);
                        merge_into(object, sub_key, value.clone(), kind);
                    }
                    (None, Value::Object(members)) => {
                        for (name, v) in members {
                            let k = key_of(object, name, known);
                            object.insert(k, v.clone());
                        }
                    }
                    (None, _) => {
                        return Err(scim_error(ScimType::InvalidValue, "a value filter's value must be an object"))
                    }
                }
            }
            Ok(())
        }
    }
}

/// A new value of a multi-valued attribute that `filter` would select: its `eq` comparisons.
fn seed(filter: &Filter) -> Option<Map<String, Value>> {
    let mut created = Map::new();
    fn walk(filter: &Filter, created: &mut Map<String, Value>) -> bool {
        match filter {
            Filter::And(a, b) => walk(a, created) && walk(b, created),
            Filter::Compare(path, Op::Eq, value) if path.uri.is_none() && path.sub.is_none() => {
                let value = match value {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
                    CompValue::Null => Value::Null,
                };
                created.insert(path.name.clone(), value);
                true
            }
            _ => false,
        }
    }
    walk(filter, &mut created).then_some(created)
}

/// Two values of a multi-valued attribute are the same when their `value`s are (or they are).
fn same_value(a: &Value, b: &Value) -> bool {
    match (member(a, "value"), member(b, "value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// `add` merges (appending to multi-valued attributes, merging complex ones); `replace` sets.
fn merge_into(object: &mut Map<String, Value>, key: String, value: Value, kind: Kind) {
    let existing = object.remove(&key);
    let merged = match (kind, existing, value) {
        (Kind::Add, Some(Value::Array(mut values)), Value::Array(added)) => {
            for v in added {
                if !values.iter().any(|existing| same_value(existing, &v)) {
                    values.push(v);
                }
            }
            Value::Array(values)
        }
        (Kind::Add, Some(Value::Array(mut values)), v @ Value::Object(_)) => {
            if !values.iter().any(|existing| same_value(existing, &v)) {
                values.push(v);
            }
            Value::Array(values)
        }
        (_, Some(Value::Object(mut members)), Value::Object(added)) => {
            for (name, v) in added {
                let k = members.keys().find(|k| k.eq_ignore_ascii_case(&name)).cloned().unwrap_or(name);
                members.insert(k, v);
            }
            Value::Object(members)
        }
        (_, _, value) => value,
    };
    object.insert(key, merged);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const EXT: &[&str] = &[filter::ENTERPRISE_SCHEMA];
    const KNOWN: &[&str] = &["userName", "active", "emails", "name", "givenName", "members", "value", "type"];

    fn patch(doc: Value, ops: Value) -> Result<Value> {
        let body = json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": ops });
        let mut doc = doc;
        apply(&mut doc, &parse_request(&body)?, EXT, KNOWN)?;
        Ok(doc)
    }

    #[test]
    fn entra_and_okta_spellings() {
        let doc = json!({ "userName": "a", "active": true });
        let out = patch(doc.clone(), json!([{ "op": "Replace", "path": "active", "value": "False" }])).unwrap();
        assert_eq!(out["active"], "False", "the string is coerced when the document is read back");
        let out = patch(doc.clone(), json!([{ "op": "replace", "value": { "active": false, "name.givenName": "B" } }]))
            .unwrap();
        assert_eq!(out["active"], false);
        assert_eq!(out["name"]["givenName"], "B");
        let out = patch(
            doc.clone(),
            json!([{ "op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@example.com" }]),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{ "type": "work", "value": "a@example.com" }]));
        let out = patch(out, json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.io" }]))
            .unwrap();
        assert_eq!(out["emails"], json!([{ "type": "work", "value": "b@x.io" }]));
        let out = patch(
            doc,
            json!([{ "op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                     "value": "Sales" }]),
        )
        .unwrap();
        assert_eq!(out[filter::ENTERPRISE_SCHEMA]["department"], "Sales");
    }

    #[test]
    fn members_are_added_and_removed_by_value_and_by_filter() {
        let doc = json!({ "displayName": "g", "members": [{ "value": "1" }, { "value": "2" }] });
        let out = patch(
            doc.clone(),
            json!([{ "op": "add", "path": "members", "value": [{ "value": "3" }, { "value": "1" }] }]),
        )
        .unwrap();
        assert_eq!(out["members"], json!([{ "value": "1" }, { "value": "2" }, { "value": "3" }]));
        let out = patch(out, json!([{ "op": "remove", "path": "members[value eq \"2\"]" }])).unwrap();
        assert_eq!(out["members"], json!([{ "value": "1" }, { "value": "3" }]));
        let out = patch(out, json!([{ "op": "Remove", "path": "members", "value": [{ "value": "1" }] }])).unwrap();
        assert_eq!(out["members"], json!([{ "value": "3" }]));
        let out = patch(out, json!([{ "op": "replace", "path": "members", "value": [] }])).unwrap();
        assert_eq!(out["members"], json!([]));
        let out = patch(doc, json!([{ "op": "remove", "path": "members" }])).unwrap();
        assert!(out.get("members").is_none());
    }

    #[test]
    fn refuses_what_is_not_a_patch() {
        let doc = json!({ "userName": "a" });
        assert!(patch(doc.clone(), json!([{ "op": "remove" }])).is_err(), "remove needs a path");
        assert!(patch(doc.clone(), json!([{ "op": "move", "path": "a", "value": 1 }])).is_err());
        assert!(patch(doc.clone(), json!([{ "op": "add", "path": "emails[type eq", "value": 1 }])).is_err());
        assert!(patch(doc.clone(), json!([{ "op": "replace", "path": "emails[type ne \"x\"].value", "value": "v" }]))
            .is_err());
        assert!(patch(doc.clone(), json!([])).is_err());
        let body = json!({ "Operations": [{ "op": "add", "path": "a", "value": 1 }] });
        assert!(parse_request(&body).is_err(), "the schema is required");
    }
}
