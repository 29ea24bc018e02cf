//! Handlers of the Management API, `/api/v1`. Each one: authenticate (the `Api` extractor),
//! validate (the `Json`/`Query` extractors), call one domain function, shape the response.

pub mod audit;
pub mod clients;
pub mod keys;
pub mod me;
pub mod namespaces;
pub mod users;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse Management API",
        description = "Accounts, namespaces, API clients, permissions and the audit log. Errors are \
                       application/problem+json (RFC 9457).",
        version = "1"
    ),
    paths(
        me::get, me::update, me::set_password,
        keys::list, keys::rotate,
        namespaces::list, namespaces::create, namespaces::get, namespaces::update, namespaces::delete,
        users::list, users::create, users::import, users::get, users::update, users::delete,
        users::set_password, users::permissions, users::set_permissions,
        clients::list, clients::create, clients::get, clients::update, clients::delete,
        clients::rotate_secret, clients::effective_permissions,
        audit::list, audit::verify,
    ),
    modifiers(&BasicAuth),
    security(("basic" = []), ("bearer" = [])),
    tags(
        (name = "me", description = "The caller, and an account's self-service"),
        (name = "namespaces", description = "Isolated sets of accounts"),
        (name = "users", description = "Accounts and their grants"),
        (name = "clients", description = "API clients, their secrets and effective permissions"),
        (name = "audit", description = "The hash-chained audit log"),
        (name = "keys", description = "Token signing keys"),
    )
)]
pub struct ApiDoc;

struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}
