//! The Management API (`/api/v1`) and the operations routes: the route table, thin handlers,
//! the `Api` extractor that authenticates callers, strict extractors and the audit middleware;
//! and SCIM 2.0 (`/scim/v2`, [`scim`]), another face of the same API on the same callers.
//! It stands on [`crate::shell`] (state, request origin, bodies, problem+json).

pub mod api;
pub mod auth;
pub mod extract;
pub mod middleware;
pub mod ops;
pub mod routes;
pub mod scim;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::domain::idempotency::Reply;
use crate::error::{Error, Result};

/// The routes of `gatehouse serve` and of the tests: the probes, then the Management API from
/// its table (`routes.rs`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(extract::path_error));
    routes::register_operations(cfg);
    let api = routes::register(routes::register_undocumented(web::scope("/api/v1")));
    cfg.service(api.default_service(web::to(not_found)).wrap(from_fn(middleware::audit)));
}

async fn not_found() -> Result<HttpResponse> {
    Err(Error::NotFound("no such endpoint; see /api/v1/openapi.json".into()))
}

/// A 200 JSON response with the resource's ETag.
pub fn ok_with_etag<T: Serialize>(etag: String, body: &T) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::ETAG, etag)).json(body)
}

/// A 201 reply for a created resource at `location`, with its ETag when it is versioned.
pub fn created<T: Serialize>(location: String, etag: Option<String>, body: &T) -> Result<Reply> {
    Ok(Reply { status: 201, location: Some(location), etag, body: serde_json::to_vec(body).map_err(Error::internal)? })
}
