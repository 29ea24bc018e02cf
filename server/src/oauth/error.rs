//! OAuth endpoints answer errors in RFC 6749's shape: `{"error", "error_description"}`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::Error;

#[derive(Debug, Clone)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
    pub status: StatusCode,
    /// Set for `invalid_client` when the client tried HTTP Basic (RFC 6749 5.2).
    pub basic_challenge: bool,
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            error,
            description: description.into(),
            status: StatusCode::BAD_REQUEST,
            basic_challenge: false,
            retry_after: None,
        }
    }
    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        Self::new("invalid_request", description)
    }
    pub fn invalid_grant(description: impl Into<String>) -> OAuthError {
        Self::new("invalid_grant", description)
    }
    pub fn invalid_scope(description: impl Into<String>) -> OAuthError {
        Self::new("invalid_scope", description)
    }
    pub fn unauthorized_client(description: impl Into<String>) -> OAuthError {
        Self::new("unauthorized_client", description)
    }
    pub fn invalid_client(basic: bool) -> OAuthError {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            basic_challenge: basic,
            ..Self::new("invalid_client", "client authentication failed")
        }
    }
    /// A DPoP proof refused (RFC 9449 §5, §7.1).
    pub fn invalid_dpop_proof(description: impl Into<String>) -> OAuthError {
        Self::new("invalid_dpop_proof", description)
    }
    /// A proof refused for its nonce (`use_dpop_nonce`), or for another reason.
    pub fn from_dpop(refusal: crate::domain::dpop::Refusal) -> OAuthError {
        match refusal {
            crate::domain::dpop::Refusal::UseNonce => Self::new("use_dpop_nonce", refusal.reason()),
            crate::domain::dpop::Refusal::Invalid(reason) => Self::invalid_dpop_proof(reason),
        }
    }
    /// A resource's refusal of a token or its DPoP proof (401; the reason says which).
    pub fn resource_refusal(reason: impl Into<String>) -> OAuthError {
        let reason = reason.into();
        let error = if crate::domain::dpop::is_proof_refusal(&reason) { "invalid_dpop_proof" } else { "invalid_token" };
        OAuthError { status: StatusCode::UNAUTHORIZED, ..Self::new(error, reason) }
    }
    pub fn invalid_token(description: impl Into<String>) -> OAuthError {
        OAuthError { status: StatusCode::UNAUTHORIZED, ..Self::new("invalid_token", description) }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        match e {
            Error::TooManyRequests { retry_after } => OAuthError {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after: Some(retry_after),
                ..OAuthError::new("slow_down", "too many failed attempts; retry later")
            },
            Error::Unavailable(_) => OAuthError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                retry_after: Some(1),
                ..OAuthError::new("temporarily_unavailable", "the service is temporarily unavailable; retry shortly")
            },
            Error::Invalid { detail, .. } => OAuthError::invalid_request(detail),
            Error::Internal(message) => {
                log::error!("token service: {message}");
                OAuthError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    ..OAuthError::new("server_error", "an internal error occurred")
                }
            }
            other => OAuthError::invalid_request(other.to_string()),
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        response.insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
        if self.basic_challenge {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"gatehouse\"")));
        }
        let about_dpop = self.error == "invalid_dpop_proof" || crate::domain::dpop::is_dpop_refusal(&self.description);
        if self.status == StatusCode::UNAUTHORIZED && about_dpop {
            let value = crate::domain::dpop::challenge(self.error, &self.description);
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.insert_header((header::WWW_AUTHENTICATE, value));
            }
        } else if self.status == StatusCode::UNAUTHORIZED && self.error == "invalid_token" {
            let value =
                format!("Bearer error=\"invalid_token\", error_description=\"{}\"", self.description.replace('"', "'"));
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.insert_header((header::WWW_AUTHENTICATE, value));
            }
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(Body { error: self.error, error_description: &self.description })
    }
}
