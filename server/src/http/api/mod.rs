//! Handlers of the Management API, `/api/v1`. Each one: authenticate (the `Api` extractor),
//! validate (the `Json`/`Query` extractors), call one domain function, shape the response.

pub mod audit;
pub mod audit_keys;
pub mod clients;
pub mod enrolment;
pub mod factors;
pub mod groups;
pub mod keys;
pub mod log_streams;
pub mod me;
pub mod namespaces;
pub mod params;
pub mod users;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Required, Response};
use utoipa::{Modify, OpenApi};

use crate::shell::problem::PROBLEM_JSON;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse Management API",
        description = "Accounts, namespaces, API clients, permissions and the audit log. Errors are \
                       application/problem+json (RFC 9457). The same accounts and groups are also served \
                       to provisioning directories (Entra ID, Okta) as SCIM 2.0 (RFC 7643/7644) at \
                       /scim/v2/{namespace}/ (Users, Groups, Bulk, filters, PATCH), with the same \
                       credentials, grants and audit events; SCIM describes itself at \
                       /scim/v2/{namespace}/ServiceProviderConfig, /ResourceTypes and /Schemas rather \
                       than in this document.",
        version = "1"
    ),
    components(schemas(gatehouse_api_types::Problem)),
    modifiers(&Operations, &BasicAuth, &CommonResponses),
    security(("basic" = []), ("bearer" = [])),
    tags(
        (name = "me", description = "The caller, and an account's self-service"),
        (name = "namespaces", description = "Isolated sets of accounts"),
        (name = "users", description = "Accounts and their grants"),
        (name = "groups", description = "Groups of accounts that carry grants"),
        (name = "clients", description = "API clients, their secrets and effective permissions"),
        (name = "audit", description = "The hash-chained audit log"),
        (name = "keys", description = "Token signing keys"),
    )
)]
pub struct ApiDoc;

/// The operations, from the route table (`http::routes`), which names each handler once.
struct Operations;

impl Modify for Operations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(crate::http::routes::ManagementApiPaths::openapi());
    }
}

struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// What every operation can answer besides its own responses, declared once here rather than in
/// each handler: `401`, `403`, `429` (authentication throttled) and `503` (database unavailable)
/// everywhere; `400` where there is a parameter or a body to get wrong; `413` and `415` where a
/// body is read. Every 4xx and 5xx is an `application/problem+json` [`Problem`], and every
/// response carries `X-Request-Id`. An optional request body is left out, never sent as `null`.
///
/// [`Problem`]: gatehouse_api_types::Problem
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                declare_common_responses(operation);
                if let Some(body) = &mut operation.request_body {
                    optional_body_is_absent_not_null(body);
                }
            }
        }
    }
}

fn declare_common_responses(operation: &mut Operation) {
    let takes_body = operation.request_body.is_some();
    let takes_input = takes_body || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut common = vec![
        ("401", "Missing or wrong credentials"),
        ("403", "The caller lacks a grant this needs (`missing_grant` names it)"),
        ("429", "Throttled after repeated authentication failures"),
        ("503", "The database is unavailable; retry shortly"),
    ];
    if takes_input {
        common.push(("400", "The request is malformed or fails validation (`errors` names the fields)"));
    }
    if takes_body {
        common.push(("413", "The body is too large"));
        common.push(("415", "The body is not of a supported content type"));
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in common {
        responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(Response::new(description)));
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        let code = status.parse::<u16>().unwrap_or(0);
        if response.description.is_empty() {
            let reason = actix_web::http::StatusCode::from_u16(code).ok().and_then(|s| s.canonical_reason());
            response.description = reason.unwrap_or("").to_owned();
        }
        if code >= 400 {
            response.content.clear();
            response.content.insert(PROBLEM_JSON.to_owned(), Content::new(Some(Ref::from_schema_name("Problem"))));
        }
        match code {
            401 => header(response, "WWW-Authenticate", Type::String, "The accepted schemes: Basic and Bearer"),
            429 | 503 => header(response, "Retry-After", Type::Integer, "Seconds to wait before retrying"),
            _ => {}
        }
        header(response, "X-Request-Id", Type::String, "The request's id, as in the server log");
    }
}

fn header(response: &mut Response, name: &str, schema_type: Type, description: &str) {
    let schema = ObjectBuilder::new().schema_type(schema_type).build();
    response
        .headers
        .insert(name.to_owned(), HeaderBuilder::new().schema(schema).description(Some(description)).build());
}

/// utoipa spells an `Option<T>` request body as "T or null"; but an optional body is one that
/// may be left out (`required: false`), and when it is sent it is a T.
fn optional_body_is_absent_not_null(body: &mut RequestBody) {
    if matches!(body.required, Some(Required::True)) {
        return;
    }
    for content in body.content.values_mut() {
        let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else { continue };
        let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
        let others: Vec<_> = one_of.items.iter().filter(|s| !is_null(s)).cloned().collect();
        if let [only] = others.as_slice() {
            if others.len() < one_of.items.len() {
                content.schema = Some(only.clone());
            }
        }
    }
    body.required = Some(Required::False);
}
