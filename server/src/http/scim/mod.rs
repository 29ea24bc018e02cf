//! SCIM 2.0 provisioning (RFC 7643/7644, ADR 0018) at `/scim/v2/{ns}/`: a second face of the
//! Management API, inside `http` because it shares its callers, extractors and audit middleware,
//! over the same domain. Callers are the Management API's (the `Api` extractor: Basic
//! with a client's credentials, or a Bearer token), bound by the same owner-limited grants;
//! every change is the domain's, with the domain's audit event; reads and refusals are audited
//! by the Management API's middleware. Errors are SCIM error resources, made in one place
//! ([`scim_errors`]) from the server's one error type.

mod bulk;
mod discovery;
pub mod filter;
mod groups;
mod list;
pub mod patch;
mod resource;
mod user_doc;
mod users;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_api_types::FieldError;
use serde_json::{json, Value};

use crate::domain::Precondition;
use crate::error::{Error, Result};
use crate::http::auth::Api;
use crate::shell::{read_body, BODY_LIMIT};

pub const SCIM_JSON: &str = "application/scim+json";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` of a 400 (RFC 7644 §3.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    Mutability,
}

impl ScimType {
    fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::Mutability => "mutability",
        }
    }
}

/// A 400 with its `scimType`: the server's `Invalid` error whose one field error names it.
pub fn scim_error(scim_type: ScimType, detail: impl Into<String>) -> Error {
    let detail = detail.into();
    Error::Invalid {
        detail: detail.clone(),
        errors: vec![FieldError { field: format!("scim:{}", scim_type.as_str()), message: detail }],
    }
}

/// The `scimType` an error is answered with.
fn scim_type_of(error: &Error) -> Option<String> {
    match error {
        Error::Invalid { errors, .. } => Some(
            errors
                .first()
                .and_then(|e| e.field.strip_prefix("scim:"))
                .unwrap_or(ScimType::InvalidValue.as_str())
                .to_owned(),
        ),
        Error::Conflict(_) => Some("uniqueness".into()),
        _ => None,
    }
}

/// The SCIM error resource of a response that failed (every 4xx and 5xx under `/scim/v2`).
pub fn error_body(status: StatusCode, error: Option<&Error>) -> Value {
    let detail = match error {
        Some(e) => e.to_problem().detail,
        None => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut body = json!({ "schemas": [ERROR_SCHEMA], "status": status.as_u16().to_string(), "detail": detail });
    if let Some(scim_type) = error.and_then(scim_type_of) {
        body["scimType"] = json!(scim_type);
    }
    body
}

/// Turns every error response of the SCIM routes into a SCIM error resource, keeping its status,
/// its headers (`WWW-Authenticate`, `Retry-After`) and the error itself for the audit event.
pub async fn scim_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> std::result::Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mut res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    let body = error_body(status, res.response().error().and_then(|e| e.as_error::<Error>()));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    Ok(res.map_body(|_, _| BoxBody::new(body.to_string())))
}

/// The routes of `/scim/v2/{ns}`, audited like the Management API's.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use groups::Groups;
    use resource as handlers;
    use users::Users;
    let resource = |path: &'static str, name: &'static str| {
        web::resource(path).name(name).app_data(crate::shell::Route { name, pattern: format!("/scim/v2/{{ns}}{path}") })
    };
    let scope = web::scope("/scim/v2/{ns}")
        .service(resource("/ServiceProviderConfig", "scim_discovery").route(web::get().to(discovery::config)))
        .service(resource("/ResourceTypes", "scim_discovery_types").route(web::get().to(discovery::resource_types)))
        .service(
            resource("/ResourceTypes/{name}", "scim_discovery_type").route(web::get().to(discovery::resource_type)),
        )
        .service(resource("/Schemas", "scim_discovery_schemas").route(web::get().to(discovery::schemas)))
        .service(resource("/Schemas/{urn}", "scim_discovery_schema").route(web::get().to(discovery::schema)))
        .service(
            resource("/Users", "scim_users")
                .route(web::get().to(handlers::list::<Users>))
                .route(web::post().to(handlers::create::<Users>)),
        )
        .service(resource("/Users/.search", "scim_users_search").route(web::post().to(handlers::search::<Users>)))
        .service(
            resource("/Users/{id}", "scim_user")
                .route(web::get().to(handlers::get::<Users>))
                .route(web::put().to(handlers::replace::<Users>))
                .route(web::patch().to(handlers::patch::<Users>))
                .route(web::delete().to(handlers::delete::<Users>)),
        )
        .service(
            resource("/Groups", "scim_groups")
                .route(web::get().to(handlers::list::<Groups>))
                .route(web::post().to(handlers::create::<Groups>)),
        )
        .service(resource("/Groups/.search", "scim_groups_search").route(web::post().to(handlers::search::<Groups>)))
        .service(
            resource("/Groups/{id}", "scim_group")
                .route(web::get().to(handlers::get::<Groups>))
                .route(web::put().to(handlers::replace::<Groups>))
                .route(web::patch().to(handlers::patch::<Groups>))
                .route(web::delete().to(handlers::delete::<Groups>)),
        )
        .service(resource("/Bulk", "scim_bulk").route(web::post().to(bulk::bulk)))
        .service(resource("/.search", "scim_search").route(web::post().to(discovery::search_everything)))
        .default_service(web::to(not_found))
        .wrap(from_fn(scim_errors))
        .wrap(from_fn(crate::http::middleware::audit));
    cfg.service(scope);
}

async fn not_found(api: Api) -> Result<HttpResponse> {
    api.context().await?;
    Err(Error::NotFound("no such SCIM endpoint; see ResourceTypes".into()))
}

/// Where the resources of namespace `ns` live: `{issuer}/scim/v2/{ns}`.
pub fn base_url(req: &HttpRequest, ns: &str) -> String {
    let issuer = req
        .app_data::<web::Data<crate::shell::AppState>>()
        .map(|s| s.oauth.settings.issuer.trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{issuer}/scim/v2/{ns}")
}

/// A SCIM JSON response.
pub fn respond(status: StatusCode, body: &Value, etag: Option<&str>, location: Option<&str>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, SCIM_JSON));
    if let Some(etag) = etag {
        response.insert_header((header::ETAG, etag.to_owned()));
    }
    if let Some(location) = location {
        response.insert_header((header::LOCATION, location.to_owned()));
    }
    response.body(body.to_string())
}

/// `meta.version` and the ETag of a resource at `version` (weak, as RFC 7644 shows it).
pub fn version_tag(version: i64) -> String {
    format!("W/{}", Precondition::etag(version))
}

/// The caller's `If-Match`, its weak tags compared as strong ones (`W/"3"` is version 3).
pub async fn if_match(api: &Api) -> Result<Option<Precondition>> {
    Ok(api.if_match().await?.map(|mut condition| {
        for etag in &mut condition.etags {
            if let Some(strong) = etag.strip_prefix("W/") {
                *etag = strong.to_owned();
            }
        }
        condition
    }))
}

/// The request's JSON body (`application/scim+json` or `application/json`), once the caller is
/// authenticated (a caller who is not learns nothing of the body's rules).
pub async fn read_json(api: &Api, payload: web::Payload) -> Result<Value> {
    api.context().await?;
    let body = read_body(&api.req, payload.into_inner(), BODY_LIMIT, &[SCIM_JSON, "application/json"]).await?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| scim_error(ScimType::InvalidSyntax, format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(scim_error(ScimType::InvalidSyntax, "the body must be a JSON object"));
    }
    Ok(value)
}

/// RFC 3339 with seconds, as SCIM's `meta` shows times.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An id from a path: a resource whose id is not a UUID does not exist.
pub fn parse_id(id: &str, kind: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::NotFound(format!("no {kind} {id}")))
}
