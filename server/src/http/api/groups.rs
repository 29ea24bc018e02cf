use actix_web::HttpResponse;
use gatehouse_api_types::{
    Group, GroupCreate, GroupMember, GroupMembership, GroupPatch, Page, PageParams, Permissions, Problem,
};
use uuid::Uuid;

use super::params::{IdempotencyKey, IfMatch};
use crate::domain::{grant_strings, groups, parse_request_grants, Context, PageRequest};
use crate::error::Result;
use crate::http::auth::Api;
use crate::http::extract::{Json, Path, Query};
use crate::http::{created, ok_with_etag};

/// Groups of a namespace in creation order (needs `users:read@<ns>`). Keyset paging.
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}/groups",
    tag = "groups",
    operation_id = "list_groups",
    params(("ns" = String, Path, description = "A namespace slug"), PageParams),
    responses((status = 200, body = Page<Group>), (status = 404, body = Problem))
)]
pub async fn list(api: Api, path: Path<String>, query: Query<PageParams>) -> Result<HttpResponse> {
    let (ns, q) = (path.into_inner(), query.0);
    let page = PageRequest::new(q.page_size, q.page_token.as_deref())?;
    let (items, next_page_token) = api.read(move |conn, ctx| groups::list(conn, ctx, &ns, None, &page)).await?;
    Ok(HttpResponse::Ok().json(Page { items: items.iter().map(|g| g.to_api()).collect(), next_page_token }))
}

/// Creates a group without grants or members (needs `users:write@<ns>`).
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{ns}/groups",
    tag = "groups",
    operation_id = "create_group",
    params(("ns" = String, Path, description = "A namespace slug"), IdempotencyKey),
    request_body = GroupCreate,
    responses(
        (
            status = 201,
            body = Group,
            headers(
                ("Location" = String, description = "The created resource"),
                ("ETag" = String, description = "The version of the resource, for If-Match")
            )
        ),
        (status = 404, body = Problem),
        (
            status = 409,
            description = "The name is taken in the namespace, or a retry with this Idempotency-Key is still running",
            body = Problem
        ),
        (status = 422, description = "The Idempotency-Key was used with another request", body = Problem)
    )
)]
pub async fn create(api: Api, path: Path<String>, body: Json<GroupCreate>) -> Result<HttpResponse> {
    let ns = path.into_inner();
    let input = body.value;
    let authorize = {
        let ns = ns.clone();
        move |_: &mut _, ctx: &Context| ctx.caller.authorize("users", "write", &ns)
    };
    api.create(body.digest, authorize, move |conn, ctx| {
        let group = groups::create(conn, ctx, &ns, input.clone())?;
        created(format!("/api/v1/namespaces/{ns}/groups/{}", group.id), Some(group.etag()), &group.to_api())
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}/groups/{id}",
    tag = "groups",
    operation_id = "get_group",
    params(("ns" = String, Path, description = "A namespace slug"), ("id" = Uuid, Path, description = "The group id")),
    responses(
        (
            status = 200,
            body = Group,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem)
    )
)]
pub async fn get(api: Api, path: Path<(String, Uuid)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let group = api.read(move |conn, ctx| groups::get(conn, ctx, &ns, id)).await?;
    Ok(ok_with_etag(group.etag(), &group.to_api()))
}

/// JSON merge patch of the group's name and description (needs `users:write@<ns>`). Honours
/// `If-Match`.
#[utoipa::path(
    patch,
    path = "/api/v1/namespaces/{ns}/groups/{id}",
    tag = "groups",
    operation_id = "update_group",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The group id"),
        IfMatch
    ),
    request_body = GroupPatch,
    responses(
        (
            status = 200,
            body = Group,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem),
        (status = 409, description = "The name is taken in the namespace", body = Problem),
        (status = 412, body = Problem)
    )
)]
pub async fn update(api: Api, path: Path<(String, Uuid)>, body: Json<GroupPatch>) -> Result<HttpResponse> {
    let ((ns, id), patch, condition) = (path.into_inner(), body.value, api.if_match().await?);
    let group = api.write(move |conn, ctx| groups::update(conn, ctx, &ns, id, patch, condition.as_ref())).await?;
    Ok(ok_with_etag(group.etag(), &group.to_api()))
}

/// Deletes the group; its members no longer hold its grants (needs `users:write@<ns>`,
/// `permissions:write@<ns>` and every grant of the group). Honours `If-Match`.
#[utoipa::path(
    delete,
    path = "/api/v1/namespaces/{ns}/groups/{id}",
    tag = "groups",
    operation_id = "delete_group",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The group id"),
        IfMatch
    ),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem), (status = 412, body = Problem))
)]
pub async fn delete(api: Api, path: Path<(String, Uuid)>) -> Result<HttpResponse> {
    let ((ns, id), condition) = (path.into_inner(), api.if_match().await?);
    api.write(move |conn, ctx| groups::delete(conn, ctx, &ns, id, condition.as_ref())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The grants every member of the group holds (needs `permissions:read@<ns>`).
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}/groups/{id}/permissions",
    tag = "groups",
    operation_id = "get_group_permissions",
    params(("ns" = String, Path, description = "A namespace slug"), ("id" = Uuid, Path, description = "The group id")),
    responses(
        (
            status = 200,
            body = Permissions,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem)
    )
)]
pub async fn permissions(api: Api, path: Path<(String, Uuid)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let group = api.read(move |conn, ctx| groups::permissions(conn, ctx, &ns, id)).await?;
    Ok(ok_with_etag(group.etag(), &Permissions { permissions: grant_strings(&group.permissions) }))
}

/// Replaces the group's grants (needs `permissions:write@<ns>`, and every grant added or removed
/// must be held by the caller). Members hold the new grants from their next request. Honours
/// `If-Match`.
#[utoipa::path(
    put,
    path = "/api/v1/namespaces/{ns}/groups/{id}/permissions",
    tag = "groups",
    operation_id = "set_group_permissions",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The group id"),
        IfMatch
    ),
    request_body = Permissions,
    responses(
        (
            status = 200,
            body = Permissions,
            headers(("ETag" = String, description = "The version of the resource, for If-Match"))
        ),
        (status = 404, body = Problem),
        (status = 412, body = Problem)
    )
)]
pub async fn set_permissions(api: Api, path: Path<(String, Uuid)>, body: Json<Permissions>) -> Result<HttpResponse> {
    let ((ns, id), condition) = (path.into_inner(), api.if_match().await?);
    let grants = parse_request_grants("permissions", &body.value.permissions)?;
    let group =
        api.write(move |conn, ctx| groups::set_permissions(conn, ctx, &ns, id, grants, condition.as_ref())).await?;
    Ok(ok_with_etag(group.etag(), &Permissions { permissions: grant_strings(&group.permissions) }))
}

/// Members of the group, of any namespace, in account id order (needs `users:read@<ns>`; a
/// member's username shows only with `users:read` over its namespace). Keyset paging.
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}/groups/{id}/members",
    tag = "groups",
    operation_id = "list_group_members",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The group id"),
        PageParams
    ),
    responses((status = 200, body = Page<GroupMember>), (status = 404, body = Problem))
)]
pub async fn members(api: Api, path: Path<(String, Uuid)>, query: Query<PageParams>) -> Result<HttpResponse> {
    let ((ns, id), q) = (path.into_inner(), query.0);
    let page = PageRequest::new(q.page_size, q.page_token.as_deref())?;
    let (items, next_page_token) = api.read(move |conn, ctx| groups::members(conn, ctx, &ns, id, &page)).await?;
    Ok(HttpResponse::Ok().json(Page { items, next_page_token }))
}

/// Makes an account of any namespace a member (needs `permissions:write@<ns>`, `users:read` over
/// the account's namespace, and every grant of the group: the member gains them). Adding a
/// member again changes nothing.
#[utoipa::path(
    put,
    path = "/api/v1/namespaces/{ns}/groups/{id}/members/{account_id}",
    tag = "groups",
    operation_id = "add_group_member",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The group id"),
        ("account_id" = Uuid, Path, description = "The account id (of any namespace)")
    ),
    responses(
        (status = 204, description = "The account is a member"),
        (status = 404, description = "No such group, or no account the caller may read", body = Problem)
    )
)]
pub async fn add_member(api: Api, path: Path<(String, Uuid, Uuid)>) -> Result<HttpResponse> {
    let (ns, id, account_id) = path.into_inner();
    api.write(move |conn, ctx| groups::add_member(conn, ctx, &ns, id, account_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a member (needs what adding it needs: the member loses the group's grants).
#[utoipa::path(
    delete,
    path = "/api/v1/namespaces/{ns}/groups/{id}/members/{account_id}",
    tag = "groups",
    operation_id = "remove_group_member",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The group id"),
        ("account_id" = Uuid, Path, description = "The account id (of any namespace)")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such group or member, or no account the caller may read", body = Problem)
    )
)]
pub async fn remove_member(api: Api, path: Path<(String, Uuid, Uuid)>) -> Result<HttpResponse> {
    let (ns, id, account_id) = path.into_inner();
    api.write(move |conn, ctx| groups::remove_member(conn, ctx, &ns, id, account_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The groups an account is a member of, of any namespace (needs `users:read@<ns>`; a group's
/// name shows only with `users:read` over its namespace). Keyset paging.
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{ns}/users/{id}/groups",
    tag = "groups",
    operation_id = "list_user_groups",
    params(
        ("ns" = String, Path, description = "A namespace slug"),
        ("id" = Uuid, Path, description = "The account id"),
        PageParams
    ),
    responses((status = 200, body = Page<GroupMembership>), (status = 404, body = Problem))
)]
pub async fn of_user(api: Api, path: Path<(String, Uuid)>, query: Query<PageParams>) -> Result<HttpResponse> {
    let ((ns, id), q) = (path.into_inner(), query.0);
    let page = PageRequest::new(q.page_size, q.page_token.as_deref())?;
    let (items, next_page_token) = api.read(move |conn, ctx| groups::of_account(conn, ctx, &ns, id, &page)).await?;
    Ok(HttpResponse::Ok().json(Page { items, next_page_token }))
}
