use actix_web::HttpResponse;
use gatehouse_api_types::{Namespace, NamespaceCreate, NamespacePatch, Page, PageParams, Problem};

use super::params::{IdempotencyKey, IfMatch};
use crate::domain::{namespaces, Context, PageRequest};
use crate::error::Result;
use crate::http::auth::Api;
use crate::http::extract::{Json, Path, Query};
use crate::http::{created, ok_with_etag};

/// Namespaces the caller may read, by slug.
#[utoipa::path(
    get,
    path = "/api/v1/namespaces",
    tag = "namespaces",
    operation_id = "list_namespaces",
    params(PageParams),
    responses((status = 200, body = Page<Namespace>))
)]
pub async fn list(api: Api, query: Query<PageParams>) -> Result<HttpResponse> {
    let page = PageRequest::new(query.0.page_size, query.0.page_token.as_deref())?;
    let (items, next_page_token) = api.read(move |conn, ctx| namespaces::list(conn, ctx, &page)).await?;
    Ok(HttpResponse::Ok().json(Page { items: items.iter().map(|n| n.to_api()).collect(), next_page_token }))
}

/// Creates a namespace (needs `namespaces:write@<slug>`).
#[utoipa::path(
    post,
    path = "/api/v1/namespaces",
    tag = "namespaces",
    operation_id = "create_namespace",
    request_body = NamespaceCreate,
    params(IdempotencyKey),
    responses(
        (
            status = 201,
            body = Namespace,
            headers(
                ("Location" = String, description = "The created resource"),
                ("ETag" = String, description = "The version of the resource, for If-Match")
            )
        ),
        (
            status = 409,
            description = "The slug is taken, or a retry with this Idempotency-Key is still running",
            body = Problem
        ),
        (status = 422, description = "The Idempotency-Key was used with another request", body = Problem)
    )
)]
pub async fn create(api: Api, body: Json<NamespaceCreate>) -> Result<HttpResponse> {
    let input = body.value;
    let slug = input.slug.clone();
    let authorize = move |_: &mut _, ctx: &Context| ctx.caller.authorize("namespaces", "write", &slug);
    api.create(body.digest, authorize, move |conn, ctx| {
        let namespace = namespaces::create(conn, ctx, input.clone())?;
        let etag = crate::domain::Precondition::etag(namespace.version);
        created(format!("/api/v1/namespaces/{}", namespace.slug), Some(etag), &namespace.to_api())
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}",
    tag = "namespaces",
    operation_id = "get_namespace",
    params(("ns" = String, Path, description = "A namespace slug")),
    responses(
        (
            status = 200,
            body = Namespace,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem)
    )
)]
pub async fn get(api: Api, path: Path<String>) -> Result<HttpResponse> {
    let slug = path.into_inner();
    let namespace = api.read(move |conn, ctx| namespaces::get(conn, ctx, &slug)).await?;
    Ok(ok_with_etag(crate::domain::Precondition::etag(namespace.version), &namespace.to_api()))
}

/// Renames a namespace (its slug never changes) or sets its multi-factor policy (`mfa`:
/// `required` makes every account of it sign in with a second factor). Honours `If-Match`.
#[utoipa::path(
    patch,
    path = "/api/v1/namespaces/{ns}",
    tag = "namespaces",
    operation_id = "update_namespace",
    params(("ns" = String, Path, description = "A namespace slug"), IfMatch),
    request_body = NamespacePatch,
    responses(
        (
            status = 200,
            body = Namespace,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem),
        (status = 412, body = Problem)
    )
)]
pub async fn update(api: Api, path: Path<String>, body: Json<NamespacePatch>) -> Result<HttpResponse> {
    let (slug, patch, condition) = (path.into_inner(), body.value, api.if_match().await?);
    let namespace = api.write(move |conn, ctx| namespaces::update(conn, ctx, &slug, patch, condition.as_ref())).await?;
    Ok(ok_with_etag(crate::domain::Precondition::etag(namespace.version), &namespace.to_api()))
}

/// Deletes a namespace that holds no accounts. Honours `If-Match`.
#[utoipa::path(
    delete,
    path = "/api/v1/namespaces/{ns}",
    tag = "namespaces",
    operation_id = "delete_namespace",
    params(("ns" = String, Path, description = "A namespace slug"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem),
        (status = 409, description = "The namespace still holds accounts", body = Problem),
        (status = 412, body = Problem)
    )
)]
pub async fn delete(api: Api, path: Path<String>) -> Result<HttpResponse> {
    let (slug, condition) = (path.into_inner(), api.if_match().await?);
    api.write(move |conn, ctx| namespaces::delete(conn, ctx, &slug, condition.as_ref())).await?;
    Ok(HttpResponse::NoContent().finish())
}
