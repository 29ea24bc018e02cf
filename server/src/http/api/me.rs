use actix_web::HttpResponse;
use gatehouse_api_types::{Me, Problem};

use crate::http::auth::Api;

/// The caller: kind, ids, owner, grants and effective permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn get(api: Api) -> HttpResponse {
    HttpResponse::Ok().json(api.ctx.caller.to_me())
}
