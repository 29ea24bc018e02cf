//! The route table of the Management API, written once. `management_api!` turns it into the
//! three things that must agree: the routes actix serves ([`register`]), the operations of the
//! OpenAPI document ([`ManagementApiPaths`], each described by its handler's `#[utoipa::path]`)
//! and the `Allow` header of a 405 ([`allowed_methods`]). [`MANAGEMENT_API`] lists it for tests.
//! The unit test below checks that each handler's `#[utoipa::path]` names the path and method
//! it is routed at.

use actix_web::http::Method;
use actix_web::{web, HttpResponse, Scope};

use super::api::{audit, audit_keys, clients, enrolment, factors, groups, keys, log_streams, me, namespaces, users};
use super::ops;
use crate::error::Error;
use crate::shell::Route;

/// One operation of the Management API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// `GET`, `PUT`, `POST`, `DELETE` or `PATCH`.
    pub method: &'static str,
    /// Its path under `/api/v1`, with `{parameters}`.
    pub path: &'static str,
    /// The actix resource name (for `url_for` and metrics).
    pub name: &'static str,
}

/// The methods in the order an `Allow` header lists them.
const ALLOW_ORDER: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "PATCH"];

macro_rules! management_api {
    ($($path:literal $name:ident { $($method:ident $module:ident::$handler:ident),+ $(,)? })+) => {
        /// Every documented operation of the Management API, in the order of the table.
        pub const MANAGEMENT_API: &[Operation] = &[
            $($(Operation { method: stringify!($method), path: $path, name: stringify!($name) },)+)+
        ];

        /// Adds every operation of the table to the `/api/v1` scope. Each path is one named
        /// resource; another method on it answers 405 with the methods it has in `Allow`.
        pub fn register(scope: Scope) -> Scope {
            scope$(.service(
                resource($path, stringify!($name))
                    $(.route(web::method(Method::$method).to($module::$handler)))+
            ))+
        }

        /// The operations of the OpenAPI document, as each handler's `#[utoipa::path]` describes
        /// it (merged into [`super::api::ApiDoc`]).
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($($module::$handler),+),+))]
        pub struct ManagementApiPaths;
    };
}

management_api! {
    "/me" me { GET me::get, PATCH me::update }
    "/me/password" me_password { PUT me::set_password }
    "/me/consents" me_consents { GET me::consents }
    "/me/consents/{client_id}" me_consent { DELETE me::withdraw_consent }
    "/me/factors" me_factors { GET factors::list_own }
    "/me/factors/{factor_id}" me_factor { DELETE factors::delete_own, PATCH factors::rename_own }
    "/me/recovery-codes" me_recovery_codes { POST factors::regenerate_recovery_codes }
    "/me/passkey-registrations" me_passkey_registrations { POST enrolment::begin_passkey }
    "/me/passkeys" me_passkeys { POST enrolment::finish_passkey }
    "/me/totp-enrolments" me_totp_enrolments { POST enrolment::begin_totp }
    "/me/totp" me_totp { POST enrolment::finish_totp }
    "/keys" keys { GET keys::list }
    "/keys:rotate" keys_rotate { POST keys::rotate }
    "/namespaces" namespaces { GET namespaces::list, POST namespaces::create }
    "/namespaces/{ns}" namespace { GET namespaces::get, PATCH namespaces::update, DELETE namespaces::delete }
    "/namespaces/{ns}/users" users { GET users::list, POST users::create }
    "/namespaces/{ns}/users:import" users_import { POST users::import }
    "/namespaces/{ns}/users/{id}" user { GET users::get, PATCH users::update, DELETE users::delete }
    "/namespaces/{ns}/users/{id}/password" user_password { PUT users::set_password }
    "/namespaces/{ns}/users/{id}/permissions" user_permissions { GET users::permissions, PUT users::set_permissions }
    "/namespaces/{ns}/users/{id}/groups" user_groups { GET groups::of_user }
    "/namespaces/{ns}/groups" groups { GET groups::list, POST groups::create }
    "/namespaces/{ns}/groups/{id}" group { GET groups::get, PATCH groups::update, DELETE groups::delete }
    "/namespaces/{ns}/groups/{id}/permissions" group_permissions { GET groups::permissions, PUT groups::set_permissions }
    "/namespaces/{ns}/groups/{id}/members" group_members { GET groups::members }
    "/namespaces/{ns}/groups/{id}/members/{account_id}" group_member { PUT groups::add_member, DELETE groups::remove_member }
    "/namespaces/{ns}/users/{id}/factors" user_factors { GET factors::list }
    "/namespaces/{ns}/users/{id}/factors/{factor_id}" user_factor { DELETE factors::delete }
    "/clients" clients { GET clients::list, POST clients::create }
    "/clients/{id}" client { GET clients::get, PATCH clients::update, DELETE clients::delete }
    "/clients/{id}/secrets" client_secrets { POST clients::rotate_secret }
    "/clients/{id}/effective-permissions" client_effective_permissions { GET clients::effective_permissions }
    "/audit-events" audit_events { GET audit::list }
    "/audit-events:verify" audit_verify { GET audit::verify }
    "/audit-keys" audit_keys { GET audit_keys::list }
    "/audit-events:export" audit_export { GET audit::export }
    "/log-streams" log_streams { GET log_streams::list, POST log_streams::create }
    "/log-streams/{id}" log_stream { GET log_streams::get, PATCH log_streams::update, DELETE log_streams::delete }
}

/// The routes of the `/api/v1` scope that are not operations of the document: the document itself.
pub const UNDOCUMENTED: &[Operation] = &[Operation { method: "GET", path: "/openapi.json", name: "openapi" }];

/// The operations routes outside `/api/v1` (probes and metrics), all `GET`.
pub const OPERATIONS: &[Operation] = &[
    Operation { method: "GET", path: "/healthz", name: "healthz" },
    Operation { method: "GET", path: "/readyz", name: "readyz" },
    Operation { method: "GET", path: "/metrics", name: "metrics" },
];

/// Adds the probes and metrics to the app.
pub fn register_operations(cfg: &mut web::ServiceConfig) {
    cfg.route(OPERATIONS[0].path, web::get().to(ops::healthz))
        .route(OPERATIONS[1].path, web::get().to(ops::readyz))
        .route(OPERATIONS[2].path, web::get().to(ops::metrics));
}

/// Adds the routes of `/api/v1` that are not documented operations.
pub fn register_undocumented(scope: Scope) -> Scope {
    scope.service(resource(UNDOCUMENTED[0].path, UNDOCUMENTED[0].name).get(ops::openapi))
}

/// The methods a path of `/api/v1` answers, for the `Allow` header of a 405.
pub fn allowed_methods(path: &str) -> Option<String> {
    let table = || MANAGEMENT_API.iter().chain(UNDOCUMENTED);
    let methods: Vec<&str> =
        ALLOW_ORDER.into_iter().filter(|m| table().any(|o| o.path == path && o.method == *m)).collect();
    (!methods.is_empty()).then(|| methods.join(", "))
}

/// A named resource of the Management API (its [`Route`] attached); other methods get a 405
/// problem.
fn resource(path: &'static str, name: &'static str) -> actix_web::Resource {
    let allow = allowed_methods(path);
    let route = Route { name, pattern: format!("/api/v1{path}") };
    web::resource(path).name(name).app_data(route).default_service(web::to(move || {
        let allow = allow.clone();
        async move { method_not_allowed(allow.as_deref()) }
    }))
}

/// A 405 problem with the `Allow` header RFC 9110 asks for.
fn method_not_allowed(allow: Option<&str>) -> HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&Error::MethodNotAllowed);
    if let Some(allow) = allow.and_then(|a| actix_web::http::header::HeaderValue::from_str(a).ok()) {
        response.headers_mut().insert(actix_web::http::header::ALLOW, allow);
    }
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use utoipa::OpenApi;

    use super::*;

    /// Each handler's `#[utoipa::path]` documents the path and method the table routes it at,
    /// and the document has no other operation.
    #[test]
    fn the_document_describes_exactly_the_routed_operations() {
        let mut documented = BTreeSet::new();
        for (path, item) in super::super::api::ApiDoc::openapi().paths.paths {
            for (method, operation) in [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
                ("TRACE", &item.trace),
            ] {
                if operation.is_some() {
                    documented.insert(format!("{method} {path}"));
                }
            }
        }
        let routed: BTreeSet<String> =
            MANAGEMENT_API.iter().map(|o| format!("{} /api/v1{}", o.method, o.path)).collect();
        assert_eq!(documented, routed);
        assert_eq!(routed.len(), MANAGEMENT_API.len(), "an operation is in the table twice");
    }

    #[test]
    fn allow_lists_a_paths_methods_in_the_usual_order() {
        assert_eq!(allowed_methods("/namespaces/{ns}").as_deref(), Some("GET, DELETE, PATCH"));
        assert_eq!(allowed_methods("/openapi.json").as_deref(), Some("GET"));
        assert_eq!(allowed_methods("/nowhere"), None);
    }
}
