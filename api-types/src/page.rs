//! Lists a page at a time: the page, and the query parameters that ask for one.

use serde::{Deserialize, Serialize};
use validator::Validate;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// One page of a list. `next_page_token` is opaque; pass it as `page_token` for the next page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1 to 200, default 50.
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, nullable = false))]
    pub page_size: Option<u32>,
    /// The `next_page_token` of the previous page.
    #[validate(length(max = 200, message = "is not a page token"))]
    #[cfg_attr(feature = "openapi", param(max_length = 200, nullable = false))]
    pub page_token: Option<String>,
}
