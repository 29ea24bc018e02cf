//! What the service provider says of itself (RFC 7644 §4): `ServiceProviderConfig`,
//! `ResourceTypes` and `Schemas`, advertising only what works here. The schemas
//! (`schemas.json`) are RFC 7643's, as scim2-models writes them, cut down to the attributes
//! Gatehouse stores and reads back (see `user_doc`), plus the three schemas that describe the
//! discovery resources themselves. Reading them needs `users:read@<ns>`, as reading the
//! namespace's users does: the path's namespace is checked like any other.

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::filter::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use super::list::LIST_RESPONSE_SCHEMA;
use super::{base_url, respond};
use crate::error::{Error, Result};
use crate::http::auth::Api;
use crate::http::extract::Path;

static SCHEMAS: LazyLock<Vec<Value>> =
    LazyLock::new(|| serde_json::from_str(include_str!("schemas.json")).expect("schemas.json is JSON"));

async fn authorize(api: &Api, ns: &str) -> Result<()> {
    api.context().await?.caller.authorize("users", "read", ns)
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub async fn config(api: Api, path: Path<String>) -> Result<HttpResponse> {
    let ns = path.into_inner();
    authorize(&api, &ns).await?;
    let base = base_url(&api.req, &ns);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://gatehouse.dev/docs/scim",
        "patch": { "supported": true },
        "bulk": {
            "supported": true,
            "maxOperations": super::bulk::MAX_OPERATIONS,
            "maxPayloadSize": super::bulk::MAX_PAYLOAD
        },
        "filter": { "supported": true, "maxResults": super::list::MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "An access token of the client_credentials grant of an API client",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true
            },
            {
                "type": "httpbasic",
                "name": "HTTP Basic",
                "description": "An API client's client_id and secret",
                "specUri": "https://www.rfc-editor.org/info/rfc7617"
            }
        ],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") },
    });
    Ok(respond(StatusCode::OK, &body, None, None))
}

fn resource_types_of(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "An account of the namespace",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": ENTERPRISE_SCHEMA, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A group of the namespace (its members may live in any namespace)",
            "schema": GROUP_SCHEMA,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

pub async fn resource_types(api: Api, path: Path<String>) -> Result<HttpResponse> {
    let ns = path.into_inner();
    authorize(&api, &ns).await?;
    Ok(respond(StatusCode::OK, &list(resource_types_of(&base_url(&api.req, &ns))), None, None))
}

pub async fn resource_type(api: Api, path: Path<(String, String)>) -> Result<HttpResponse> {
    let (ns, name) = path.into_inner();
    authorize(&api, &ns).await?;
    let found = resource_types_of(&base_url(&api.req, &ns)).into_iter().find(|t| t["id"] == name.as_str());
    let found = found.ok_or_else(|| Error::NotFound(format!("no resource type {name}")))?;
    Ok(respond(StatusCode::OK, &found, None, None))
}

fn schemas_of(base: &str) -> Vec<Value> {
    SCHEMAS
        .iter()
        .map(|schema| {
            let mut schema = schema.clone();
            let id = schema["id"].as_str().unwrap_or_default().to_owned();
            schema["meta"] = json!({ "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") });
            schema
        })
        .collect()
}

pub async fn schemas(api: Api, path: Path<String>) -> Result<HttpResponse> {
    let ns = path.into_inner();
    authorize(&api, &ns).await?;
    Ok(respond(StatusCode::OK, &list(schemas_of(&base_url(&api.req, &ns))), None, None))
}

pub async fn schema(api: Api, path: Path<(String, String)>) -> Result<HttpResponse> {
    let (ns, urn) = path.into_inner();
    authorize(&api, &ns).await?;
    let found = schemas_of(&base_url(&api.req, &ns)).into_iter().find(|s| s["id"] == urn.as_str());
    let found = found.ok_or_else(|| Error::NotFound(format!("no schema {urn}")))?;
    Ok(respond(StatusCode::OK, &found, None, None))
}

/// `POST /.search` across resource types is not offered (RFC 7644 §3.4.3 allows a 501).
pub async fn search_everything(api: Api) -> Result<HttpResponse> {
    api.context().await?;
    Ok(respond(
        StatusCode::NOT_IMPLEMENTED,
        &json!({
            "schemas": [super::ERROR_SCHEMA],
            "status": "501",
            "detail": "search Users or Groups: searching every resource type at once is not offered",
        }),
        None,
        None,
    ))
}
