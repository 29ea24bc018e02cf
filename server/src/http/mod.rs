//! HTTP: the route table, thin handlers, extractors and the problem+json mapping.

pub mod api;
pub mod auth;
pub mod extract;
pub mod middleware;
pub mod ops;
pub mod problem;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::audit_log::AuditLog;
use crate::db::Db;
use crate::domain::hashing::HashPool;
use crate::domain::idempotency::Reply;
use crate::domain::secrets::VerifiedSecrets;
use crate::error::{Error, Result};
use crate::metrics::Metrics;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub hasher: HashPool,
    pub verified: VerifiedSecrets,
    pub audit: AuditLog,
    pub metrics: Metrics,
    /// Behind a proxy that sets `X-Forwarded-For`, take the caller's address from it.
    pub trust_forwarded_for: bool,
}

/// The one route table, used by `gatehouse serve` and by the tests alike.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use api::{audit, clients, me, namespaces, users};
    cfg.app_data(web::PathConfig::default().error_handler(extract::path_error))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .service(
            web::scope("/api/v1")
                .wrap(from_fn(middleware::audit))
                .service(web::resource("/openapi.json").name("openapi").get(ops::openapi))
                .service(web::resource("/me").name("me").get(me::get))
                .service(web::resource("/namespaces").name("namespaces").get(namespaces::list).post(namespaces::create))
                .service(
                    web::resource("/namespaces/{ns}")
                        .name("namespace")
                        .get(namespaces::get)
                        .patch(namespaces::update)
                        .delete(namespaces::delete),
                )
                .service(web::resource("/namespaces/{ns}/users").name("users").get(users::list).post(users::create))
                .service(web::resource("/namespaces/{ns}/users:import").name("users_import").post(users::import))
                .service(
                    web::resource("/namespaces/{ns}/users/{id}")
                        .name("user")
                        .get(users::get)
                        .patch(users::update)
                        .delete(users::delete),
                )
                .service(web::resource("/namespaces/{ns}/users/{id}/password").name("user_password").put(users::set_password))
                .service(
                    web::resource("/namespaces/{ns}/users/{id}/permissions")
                        .name("user_permissions")
                        .get(users::permissions)
                        .put(users::set_permissions),
                )
                .service(web::resource("/clients").name("clients").get(clients::list).post(clients::create))
                .service(
                    web::resource("/clients/{id}").name("client").get(clients::get).patch(clients::update).delete(clients::delete),
                )
                .service(web::resource("/clients/{id}/secrets").name("client_secrets").post(clients::rotate_secret))
                .service(
                    web::resource("/clients/{id}/effective-permissions")
                        .name("client_effective_permissions")
                        .get(clients::effective_permissions),
                )
                .service(web::resource("/audit-events").name("audit_events").get(audit::list))
                .default_service(web::to(not_found)),
        );
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
