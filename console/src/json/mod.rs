//! The console's answers, decoded by hand from the `serde_json::Value` of the one request path
//! ([`crate::api`]) instead of by serde's derived `Deserialize`.
//!
//! A derived `Deserialize` is a few KB of WASM per type (field-name visitors, one
//! `Option`/`Vec` deserializer per field type, error paths), `#[serde(flatten)]` and
//! `#[serde(untagged)]` several more; these decoders are a call per field into the small
//! readers below. They decode the same JSON to the same values and refuse what serde refuses:
//! a required member missing or of another type is "an unexpected answer"; an absent or `null`
//! optional member is `None`; members the console does not know are ignored. `tests.rs` checks
//! each against serde's decoding of the same answer. Request bodies are still serialised by
//! serde (`Serialize` is much smaller).

mod types;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::api::ApiError;

/// A value the console decodes from an answer.
pub trait FromJson: Sized {
    fn from_json(value: Value) -> Result<Self, ApiError>;
}

pub fn unexpected(what: &str) -> ApiError {
    ApiError {
        status: 200,
        detail: format!("the server sent an unexpected answer ({what})"),
        field_errors: Vec::new(),
        missing_grant: None,
    }
}

/// The members of a JSON object, taken one by one.
pub struct Obj(Map<String, Value>);

impl Obj {
    pub fn new(value: Value) -> Result<Obj, ApiError> {
        match value {
            Value::Object(map) => Ok(Obj(map)),
            _ => Err(unexpected("not an object")),
        }
    }

    /// A member (absent is `null`: required members refuse it, optional ones are `None`).
    pub fn get<T: FromJson>(&mut self, key: &str) -> Result<T, ApiError> {
        T::from_json(self.0.remove(key).unwrap_or(Value::Null)).map_err(|e| in_member(e, key))
    }

    /// A member that is its type's default when absent (`#[serde(default)]`).
    pub fn get_or_default<T: FromJson + Default>(&mut self, key: &str) -> Result<T, ApiError> {
        match self.0.contains_key(key) {
            true => self.get(key),
            false => Ok(T::default()),
        }
    }

    /// The members left, as an object (for a type decoded from the rest).
    pub fn rest(self) -> Value {
        Value::Object(self.0)
    }
}

fn in_member(mut e: ApiError, key: &str) -> ApiError {
    if !e.detail.contains(" in ") {
        e.detail = e.detail.replacen(')', &format!(" in {key})"), 1);
    }
    e
}

/// A protocol value set (`FromStr` of its strings).
pub fn parse<T: FromStr>(value: Value) -> Result<T, ApiError> {
    String::from_json(value)?.parse().map_err(|_| unexpected("unknown value"))
}

impl FromJson for Value {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        Ok(value)
    }
}

impl FromJson for String {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        match value {
            Value::String(s) => Ok(s),
            _ => Err(unexpected("not a string")),
        }
    }
}

impl FromJson for bool {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        value.as_bool().ok_or_else(|| unexpected("not a boolean"))
    }
}

fn integer(value: &Value) -> Result<i64, ApiError> {
    value.as_i64().ok_or_else(|| unexpected("not an integer"))
}

impl FromJson for i64 {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        integer(&value)
    }
}

impl FromJson for i32 {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        i32::try_from(integer(&value)?).map_err(|_| unexpected("out of range"))
    }
}

impl FromJson for u32 {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        u32::try_from(integer(&value)?).map_err(|_| unexpected("out of range"))
    }
}

impl FromJson for u16 {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        u16::try_from(integer(&value)?).map_err(|_| unexpected("out of range"))
    }
}

impl FromJson for u64 {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        value.as_u64().ok_or_else(|| unexpected("not an integer"))
    }
}

impl FromJson for Uuid {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        Uuid::parse_str(&String::from_json(value)?).map_err(|_| unexpected("not a UUID"))
    }
}

impl FromJson for DateTime<Utc> {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        String::from_json(value)?.parse().map_err(|_| unexpected("not a time"))
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        match value {
            Value::Null => Ok(None),
            value => T::from_json(value).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        match value {
            Value::Array(items) => items.into_iter().map(T::from_json).collect(),
            _ => Err(unexpected("not a list")),
        }
    }
}

impl FromJson for Map<String, Value> {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        Obj::new(value).map(|o| o.0)
    }
}

impl FromJson for BTreeMap<String, String> {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        Obj::new(value)?.0.into_iter().map(|(k, v)| Ok((k, String::from_json(v)?))).collect()
    }
}
