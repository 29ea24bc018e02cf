//! Operations: liveness, readiness, metrics and the OpenAPI document.

use actix_web::{web, HttpResponse};
use gatehouse_api_types::Health;
use utoipa::OpenApi;

use crate::db;
use crate::error::Result;
use crate::shell::AppState;

/// The process is alive.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into() })
}

/// The database answers (503 problem+json otherwise).
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    state.db.run(db::ping).await?;
    Ok(HttpResponse::Ok().json(Health { status: "ready".into() }))
}

/// Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse> {
    let (open, idle, max) = state.db.pool_state();
    state.metrics.pool.with_label_values(&["in_use"]).set(i64::from(open.saturating_sub(idle)));
    state.metrics.pool.with_label_values(&["idle"]).set(i64::from(idle));
    state.metrics.pool.with_label_values(&["max"]).set(i64::from(max));
    state.metrics.hash_queue.set(state.hasher.queued() as i64);
    state.metrics.verified_secrets.set(state.verified.len() as i64);
    state.metrics.signing_key_loads.set(state.oauth.keys.loads() as i64);
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render()?))
}

/// The OpenAPI 3.1 document of the Management API, generated from the handlers.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(super::api::ApiDoc::openapi())
}
