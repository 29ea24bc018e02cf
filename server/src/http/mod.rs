//! The Management API (`/api/v1`) and the operations routes: the route table, thin handlers,
//! the `Api` extractor that authenticates callers, strict extractors and the audit middleware.
//! It stands on [`crate::shell`] (state, request origin, bodies, problem+json).

pub mod api;
pub mod auth;
pub mod extract;
pub mod middleware;
pub mod ops;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::domain::idempotency::Reply;
use crate::error::{Error, Result};

/// The one route table, used by `gatehouse serve` and by the tests alike.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use api::{audit, clients, keys, me, namespaces, users};
    cfg.app_data(web::PathConfig::default().error_handler(extract::path_error))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .service(
            web::scope("/api/v1")
                .wrap(from_fn(middleware::audit))
                .service(resource("/openapi.json", "openapi").get(ops::openapi))
                .service(resource("/me", "me").get(me::get).patch(me::update))
                .service(resource("/me/password", "me_password").put(me::set_password))
                .service(resource("/me/consents", "me_consents").get(me::consents))
                .service(resource("/me/consents/{client_id}", "me_consent").delete(me::withdraw_consent))
                .service(resource("/keys", "keys").get(keys::list))
                .service(resource("/keys:rotate", "keys_rotate").post(keys::rotate))
                .service(resource("/namespaces", "namespaces").get(namespaces::list).post(namespaces::create))
                .service(
                    resource("/namespaces/{ns}", "namespace")
                        .get(namespaces::get)
                        .patch(namespaces::update)
                        .delete(namespaces::delete),
                )
                .service(resource("/namespaces/{ns}/users", "users").get(users::list).post(users::create))
                .service(resource("/namespaces/{ns}/users:import", "users_import").post(users::import))
                .service(
                    resource("/namespaces/{ns}/users/{id}", "user")
                        .get(users::get)
                        .patch(users::update)
                        .delete(users::delete),
                )
                .service(resource("/namespaces/{ns}/users/{id}/password", "user_password").put(users::set_password))
                .service(
                    resource("/namespaces/{ns}/users/{id}/permissions", "user_permissions")
                        .get(users::permissions)
                        .put(users::set_permissions),
                )
                .service(resource("/clients", "clients").get(clients::list).post(clients::create))
                .service(
                    resource("/clients/{id}", "client")
                        .get(clients::get)
                        .patch(clients::update)
                        .delete(clients::delete),
                )
                .service(resource("/clients/{id}/secrets", "client_secrets").post(clients::rotate_secret))
                .service(
                    resource("/clients/{id}/effective-permissions", "client_effective_permissions")
                        .get(clients::effective_permissions),
                )
                .service(resource("/audit-events", "audit_events").get(audit::list))
                .service(resource("/audit-events:verify", "audit_verify").get(audit::verify))
                .default_service(web::to(not_found)),
        );
}

/// A named resource of the Management API; other methods get a 405 problem.
fn resource(path: &str, name: &str) -> actix_web::Resource {
    let allow = api::allowed_methods(&format!("/api/v1{path}"));
    web::resource(path).name(name).default_service(web::to(move || async move { method_not_allowed(allow) }))
}

/// A 405 problem with the `Allow` header RFC 9110 asks for: the methods the OpenAPI document
/// lists for the path.
fn method_not_allowed(allow: Option<&'static str>) -> HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&Error::MethodNotAllowed);
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allow));
    }
    response
}

async fn not_found() -> Result<HttpResponse> {
    Err(Error::NotFound("no such endpoint; see /api/v1/openapi.json".into()))
}

/// A 200 JSON response with the resource's ETag.
pub fn ok_with_etag<T: Serialize>(etag: String, body: &T) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::ETAG, etag)).json(body)
}

/// A 201 reply for a created resource at `location`.
pub fn created<T: Serialize>(location: String, body: &T) -> Result<Reply> {
    Ok(Reply { status: 201, location: Some(location), body: serde_json::to_vec(body).map_err(Error::internal)? })
}
