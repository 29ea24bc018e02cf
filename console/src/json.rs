//! Hand-written decoding of the few answers whose derived `Deserialize` is much larger than the
//! fields the console reads: `#[serde(flatten)]` (a created client or log stream with its
//! secret) and `#[serde(untagged)]` (where a grant comes from) buffer the whole answer and try
//! each shape, which costs several KB of WASM per type. These read the same JSON and fail the
//! same way (a missing or mistyped required field is an unexpected answer).

use gatehouse_api_types::{Client, ClientCreated, Direct, DroppedGrant, EffectivePermissions, GrantSource, GrantVia};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::api::{self, ApiError};

fn unexpected(what: &str) -> ApiError {
    ApiError {
        status: 200,
        detail: format!("the server sent an unexpected answer ({what})"),
        field_errors: Vec::new(),
        missing_grant: None,
    }
}

fn object(value: Value) -> Result<Map<String, Value>, ApiError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(unexpected("not an object")),
    }
}

/// A required string member.
fn string(map: &mut Map<String, Value>, key: &str) -> Result<String, ApiError> {
    match map.remove(key) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(unexpected(key)),
    }
}

/// An optional string member (absent or `null` is `None`).
fn optional_string(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(unexpected(key)),
    }
}

/// A required array member, each element decoded by `item`.
fn list<T>(
    map: &mut Map<String, Value>,
    key: &str,
    item: fn(Value) -> Result<T, ApiError>,
) -> Result<Vec<T>, ApiError> {
    match map.remove(key) {
        Some(Value::Array(items)) => items.into_iter().map(item).collect(),
        _ => Err(unexpected(key)),
    }
}

fn string_item(value: Value) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(unexpected("not a string")),
    }
}

/// `POST /clients`: the client and, once, its secret.
pub fn client_created(value: Value) -> Result<ClientCreated, ApiError> {
    let mut map = object(value)?;
    let client_secret = optional_string(&mut map, "client_secret")?;
    let client: Client = api::decode(Value::Object(map))?;
    Ok(ClientCreated { client, client_secret })
}

/// `POST /log-streams`: only the signing secret is shown (the list is reloaded).
pub fn log_stream_secret(value: Value) -> Result<String, ApiError> {
    string(&mut object(value)?, "secret")
}

/// `GET /clients/{id}/effective-permissions`.
pub fn effective_permissions(value: Value) -> Result<EffectivePermissions, ApiError> {
    let mut map = object(value)?;
    let owner_sources = match map.get("owner_sources") {
        None => Vec::new(),
        Some(_) => list(&mut map, "owner_sources", grant_source)?,
    };
    Ok(EffectivePermissions {
        granted: list(&mut map, "granted", string_item)?,
        owner: list(&mut map, "owner", string_item)?,
        owner_sources,
        effective: list(&mut map, "effective", string_item)?,
        dropped: list(&mut map, "dropped", dropped_grant)?,
    })
}

fn dropped_grant(value: Value) -> Result<DroppedGrant, ApiError> {
    let mut map = object(value)?;
    Ok(DroppedGrant { grant: string(&mut map, "grant")?, reason: string(&mut map, "reason")? })
}

/// `{"grant": …, "via": "direct" | {"group": <uuid>, "name": …}}`.
fn grant_source(value: Value) -> Result<GrantSource, ApiError> {
    let mut map = object(value)?;
    let grant = string(&mut map, "grant")?;
    let via = match map.remove("via") {
        Some(Value::String(s)) if s == "direct" => GrantVia::Direct(Direct::Direct),
        Some(Value::Object(mut group)) => {
            let id = string(&mut group, "group")?;
            let group_id = Uuid::parse_str(&id).map_err(|_| unexpected("group"))?;
            GrantVia::Group { group: group_id, name: string(&mut group, "name")? }
        }
        _ => return Err(unexpected("via")),
    };
    Ok(GrantSource { grant, via })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The hand-written decoders agree with the derived ones on the same JSON.
    #[test]
    fn effective_permissions_match_serde() {
        let value = json!({
            "granted": ["users:read@a", "users:write@a"],
            "owner": ["users:read@a"],
            "owner_sources": [
                {"grant": "users:read@a", "via": "direct"},
                {"grant": "users:read@a", "via": {"group": "0b7e3a34-5d55-4c3c-9a53-3f0e7c1c8a11", "name": "ops"}}
            ],
            "effective": ["users:read@a"],
            "dropped": [{"grant": "users:write@a", "reason": "the owner does not hold it"}]
        });
        let derived: EffectivePermissions = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(effective_permissions(value).unwrap(), derived);

        let without_sources = json!({"granted": [], "owner": [], "effective": [], "dropped": []});
        assert!(effective_permissions(without_sources).unwrap().owner_sources.is_empty());
        assert!(effective_permissions(json!({"granted": [], "owner": [], "effective": []})).is_err());
        let bad_via = json!({"granted": [], "owner": [], "effective": [], "dropped": [],
            "owner_sources": [{"grant": "x", "via": "indirect"}]});
        assert!(effective_permissions(bad_via).is_err());
    }

    #[test]
    fn created_client_keeps_its_secret_and_fields() {
        let value = json!({
            "id": "0b7e3a34-5d55-4c3c-9a53-3f0e7c1c8a11", "client_id": "gh_abc", "name": "ci",
            "owner": null, "permissions": ["users:read@a"], "effective_permissions": [],
            "grant_types": ["client_credentials"], "redirect_uris": [], "password_grant_enabled": false,
            "user_namespace": null, "token_endpoint_auth_method": "client_secret_basic",
            "access_token_alg": "RS256", "post_logout_redirect_uris": [], "attribute_claims": {},
            "require_pkce": true, "skip_consent": false, "registration_enabled": false,
            "hybrid_enabled": false, "require_pushed_authorization_requests": false, "disabled": false,
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
            "last_used_at": null, "client_secret": "s3cret"
        });
        let derived: ClientCreated = serde_json::from_value(value.clone()).unwrap();
        let decoded = client_created(value.clone()).unwrap();
        assert_eq!(decoded, derived);
        assert_eq!(decoded.client_secret.as_deref(), Some("s3cret"));
        let mut no_secret = value;
        no_secret.as_object_mut().unwrap().remove("client_secret");
        assert_eq!(client_created(no_secret).unwrap().client_secret, None);
        assert_eq!(log_stream_secret(json!({"id": "x", "secret": "whsec_k"})).unwrap(), "whsec_k");
        assert!(log_stream_secret(json!({"id": "x"})).is_err());
    }
}
