use actix_web::HttpResponse;
use gatehouse_api_types::{Me, Problem};

use crate::error::Result;
use crate::http::auth::Api;

/// The caller: kind, ids, owner, grants and effective permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn get(api: Api) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(api.context().await?.caller.to_me()))
}
