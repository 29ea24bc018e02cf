//! The one place where errors become HTTP: `application/problem+json` (RFC 9457).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use gatehouse_api_types::Problem;

use crate::domain::dpop;
use crate::error::Error;

pub const PROBLEM_JSON: &str = "application/problem+json";

impl Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid-request",
            Error::Unauthenticated { .. } => "unauthenticated",
            Error::Forbidden { .. } => "forbidden",
            Error::NotFound(_) => "not-found",
            Error::Conflict(_) => "conflict",
            Error::MethodNotAllowed => "method-not-allowed",
            Error::PreconditionFailed => "precondition-failed",
            Error::PayloadTooLarge(_) => "payload-too-large",
            Error::UnsupportedMediaType(_) => "unsupported-media-type",
            Error::Unprocessable(_) => "unprocessable",
            Error::TooManyRequests { .. } => "too-many-requests",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// What the caller is told. Internal details stay in the log.
    fn public_detail(&self) -> String {
        match self {
            Error::Unauthenticated { bearer: true, .. } => "the access token is invalid, expired or revoked".into(),
            Error::Unauthenticated { .. } => {
                "valid credentials are required (HTTP Basic with a client id and secret, or a Bearer access token)"
                    .into()
            }
            Error::Internal(_) => "an internal error occurred; the request id identifies it in the server log".into(),
            Error::Unavailable(_) => "the service is temporarily unavailable; retry shortly".into(),
            other => other.to_string(),
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let (errors, missing_grant) = match self {
            Error::Invalid { errors, .. } if !errors.is_empty() => (Some(errors.clone()), None),
            Error::Forbidden { missing, .. } => (None, missing.clone()),
            _ => (None, None),
        };
        Problem {
            problem_type: format!("https://gatehouse.dev/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.public_detail(),
            errors,
            missing_grant,
            request_id: None,
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        match self {
            // A refusal about DPoP answers with its challenge (RFC 9449 §7.1); any other refused
            // token with Bearer's, and DPoP's algorithms for clients that could use it.
            Error::Unauthenticated { bearer: true, reason } if dpop::is_dpop_refusal(reason) => {
                let error = if dpop::is_proof_refusal(reason) { "invalid_dpop_proof" } else { "invalid_token" };
                if let Ok(value) = HeaderValue::from_str(&dpop::challenge(error, reason)) {
                    response.insert_header((header::WWW_AUTHENTICATE, value));
                }
            }
            Error::Unauthenticated { bearer: true, .. } => {
                let value = format!(
                    "Bearer realm=\"gatehouse\", error=\"invalid_token\", DPoP algs=\"{}\"",
                    dpop::ALGORITHM_NAMES.join(" ")
                );
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.insert_header((header::WWW_AUTHENTICATE, value));
                }
            }
            Error::Unauthenticated { .. } => {
                let value = format!(
                    "Basic realm=\"gatehouse\", charset=\"UTF-8\", Bearer realm=\"gatehouse\", DPoP algs=\"{}\"",
                    dpop::ALGORITHM_NAMES.join(" ")
                );
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.insert_header((header::WWW_AUTHENTICATE, value));
                }
            }
            Error::TooManyRequests { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            Error::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.to_problem()).unwrap_or_default())
    }
}
