//! Request bodies, read whole: the right content type and a size limit, or a problem+json
//! 415/413. What a body means (JSON, a form) is for the adapter that reads it.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use crate::error::{Error, Result};

/// The body limit of ordinary requests (the Management API's, the token service's forms).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A body of one of `accepted` media types, at most `limit` bytes.
pub async fn read_body(req: &HttpRequest, payload: Payload, limit: usize, accepted: &[&str]) -> Result<web::Bytes> {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let ok = match media.as_deref() {
        Some(m) => {
            accepted.contains(&m)
                || (accepted.contains(&"application/json") && m.starts_with("application/") && m.ends_with("+json"))
        }
        None => false,
    };
    if !ok {
        return Err(Error::UnsupportedMediaType(format!(
            "the body must be sent as Content-Type: {}",
            accepted.join(" or ")
        )));
    }
    read_bytes(req, payload, limit).await
}

/// A body of any media type (or none), at most `limit` bytes.
pub async fn read_bytes(req: &HttpRequest, mut payload: Payload, limit: usize) -> Result<web::Bytes> {
    let too_large = || Error::PayloadTooLarge(format!("the body must be at most {} KiB", limit / 1024));
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::bad_request(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
