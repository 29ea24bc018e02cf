//! Deserializers the request types share: a merge patch's absent-or-null fields, and whole
//! numbers as JSON encoders write them.

use serde::{Deserialize, Deserializer};

/// Deserializes a field that distinguishes "absent" (`None`) from "null" (`Some(None)`), as
/// JSON merge patch does: absent leaves a value unchanged, null clears it.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Deserializes a field a merge patch may set but not clear: absent is `None` (with
/// `#[serde(default)]`), a value is `Some`, and `null` is refused (a 400 naming the field).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A whole number as JSON Schema's `integer` has it: `60`, and also `60.0` or `6e1` (a number
/// with no fractional part), as some JSON encoders write them.
pub(crate) fn whole_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else { return Ok(None) };
    let whole = number.as_u64().or_else(|| {
        number.as_f64().filter(|f| f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(f)).map(|f| f as u64)
    });
    match whole.map(T::try_from) {
        Some(Ok(value)) => Ok(Some(value)),
        Some(Err(_)) => Err(D::Error::custom(format!("invalid value: {number}, it is too large"))),
        None => Err(D::Error::custom(format!("invalid value: {number}, expected a whole number of at least 0"))),
    }
}

/// [`whole_number`] in a merge patch: absent (`None`), `null` (`Some(None)`) or a number.
pub(crate) fn nullable_whole_number<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    whole_number(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use crate::{ClientCreate, ClientPatch, SecretRotate};

    #[test]
    fn whole_numbers_may_carry_a_zero_fraction() {
        let rotate = |body: &str| serde_json::from_str::<SecretRotate>(body).map(|r| r.previous_secret_expires_in);
        assert_eq!(rotate(r#"{"previous_secret_expires_in": 60}"#).unwrap(), Some(60));
        assert_eq!(rotate(r#"{"previous_secret_expires_in": 60.0}"#).unwrap(), Some(60));
        assert_eq!(rotate(r#"{"previous_secret_expires_in": 6e1}"#).unwrap(), Some(60));
        assert_eq!(rotate(r#"{"previous_secret_expires_in": null}"#).unwrap(), None);
        assert_eq!(rotate("{}").unwrap(), None);
        for bad in ["60.5", "-1", "-1.0", "\"60\"", "1e30"] {
            assert!(rotate(&format!(r#"{{"previous_secret_expires_in": {bad}}}"#)).is_err(), "{bad}");
        }
        let patch = |body: &str| serde_json::from_str::<ClientPatch>(body).unwrap().access_token_ttl;
        assert_eq!(patch("{}"), None);
        assert_eq!(patch(r#"{"access_token_ttl": null}"#), Some(None));
        assert_eq!(patch(r#"{"access_token_ttl": 120.0}"#), Some(Some(120)));
        assert!(serde_json::from_str::<ClientCreate>(r#"{"name": "n", "access_token_ttl": 4294967296}"#).is_err());
    }
}
