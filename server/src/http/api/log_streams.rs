use actix_web::HttpResponse;
use gatehouse_api_types::{LogStream, LogStreamCreate, LogStreamCreated, LogStreamPatch, Page, PageParams, Problem};
use uuid::Uuid;

use super::params::IdempotencyKey;
use crate::domain::log_streams;
use crate::domain::PageRequest;
use crate::error::Result;
use crate::http::auth::Api;
use crate::http::created;
use crate::http::extract::{Json, Path, Query};

/// Log streams and their delivery status (needs `audit:read@*`).
#[utoipa::path(
    get,
    path = "/api/v1/log-streams",
    tag = "audit",
    operation_id = "list_log_streams",
    params(PageParams),
    responses((status = 200, body = Page<LogStream>))
)]
pub async fn list(api: Api, query: Query<PageParams>) -> Result<HttpResponse> {
    let page = PageRequest::new(query.0.page_size, query.0.page_token.as_deref())?;
    let (items, next_page_token) = api.read(move |conn, ctx| log_streams::list(conn, ctx, &page)).await?;
    Ok(HttpResponse::Ok().json(Page { items: items.iter().map(log_streams::to_api).collect(), next_page_token }))
}

/// Creates a log stream (needs `audit:write@*`): the audit events appended from now on (or
/// after `start_after_seq`) that match `filter` are POSTed to `url` in signed batches. The
/// signing `secret` is in this response only.
#[utoipa::path(
    post,
    path = "/api/v1/log-streams",
    tag = "audit",
    operation_id = "create_log_stream",
    request_body = LogStreamCreate,
    params(IdempotencyKey),
    responses(
        (status = 201, body = LogStreamCreated, headers(("Location" = String, description = "The created resource"))),
        (status = 409, description = "A retry with this Idempotency-Key is still running", body = Problem),
        (status = 422, description = "The Idempotency-Key was used with another request", body = Problem)
    )
)]
pub async fn create(api: Api, body: Json<LogStreamCreate>) -> Result<HttpResponse> {
    let input = body.value;
    let secret = log_streams::new_secret();
    let master = api.state.oauth.master.clone();
    let authorize = |_: &mut _, ctx: &crate::domain::Context| ctx.caller.authorize("audit", "write", "*");
    api.create(body.digest, authorize, move |conn, ctx| {
        let stream = log_streams::create(conn, ctx, &master, input.clone(), &secret)?;
        let location = format!("/api/v1/log-streams/{}", stream.id);
        // Log streams have no version (nor If-Match): no ETag.
        let created_stream = LogStreamCreated { stream: log_streams::to_api(&stream), secret: secret.clone() };
        created(location, None, &created_stream)
    })
    .await
}

/// A log stream with its status: the cursor (`last_delivered_seq`) and the last error
/// (needs `audit:read@*`). The secret is never shown again.
#[utoipa::path(
    get,
    path = "/api/v1/log-streams/{id}",
    tag = "audit",
    operation_id = "get_log_stream",
    params(("id" = Uuid, Path, description = "The stream's id")),
    responses((status = 200, body = LogStream), (status = 404, body = Problem))
)]
pub async fn get(api: Api, path: Path<Uuid>) -> Result<HttpResponse> {
    let id = path.into_inner();
    let stream = api.read(move |conn, ctx| log_streams::get(conn, ctx, id)).await?;
    Ok(HttpResponse::Ok().json(log_streams::to_api(&stream)))
}

/// Changes a log stream's name, URL, filter or `disabled` (needs `audit:write@*`). A disabled
/// stream keeps its cursor; enabled again, it resumes there.
#[utoipa::path(
    patch,
    path = "/api/v1/log-streams/{id}",
    tag = "audit",
    operation_id = "update_log_stream",
    params(("id" = Uuid, Path, description = "The stream's id")),
    request_body = LogStreamPatch,
    responses((status = 200, body = LogStream), (status = 404, body = Problem))
)]
pub async fn update(api: Api, path: Path<Uuid>, body: Json<LogStreamPatch>) -> Result<HttpResponse> {
    let (id, patch) = (path.into_inner(), body.value);
    let stream = api.write(move |conn, ctx| log_streams::update(conn, ctx, id, patch)).await?;
    Ok(HttpResponse::Ok().json(log_streams::to_api(&stream)))
}

/// Deletes a log stream (needs `audit:write@*`); deliveries stop.
#[utoipa::path(
    delete,
    path = "/api/v1/log-streams/{id}",
    tag = "audit",
    operation_id = "delete_log_stream",
    params(("id" = Uuid, Path, description = "The stream's id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem))
)]
pub async fn delete(api: Api, path: Path<Uuid>) -> Result<HttpResponse> {
    let id = path.into_inner();
    api.write(move |conn, ctx| log_streams::delete(conn, ctx, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
