//! The one error type of the server. It knows nothing of HTTP: `shell::problem` maps it to
//! `application/problem+json` in one place, and the storage layer maps database errors into it.

use gatehouse_api_types::FieldError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a check answers when it may refuse in its own words: `Ok(Ok(value))` it passed;
/// `Ok(Err(refusal))` it refused, and the caller answers the refusal as its protocol says (an
/// OAuth error, a `WWW-Authenticate` challenge, a lock-out, a page) and puts it on record;
/// `Err(error)` something failed (the database, a bug), answered as a problem. Keeping the
/// refusal apart lets the caller commit what the refusal changed (a revoked family, a counted
/// attempt) and audit it, instead of rolling back as on an error.
pub type Refusable<T, R> = Result<std::result::Result<T, R>>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or fails validation; `errors` names the fields.
    #[error("{detail}")]
    Invalid { detail: String, errors: Vec<FieldError> },
    /// No valid credentials. The reason goes to the audit log, never to the caller.
    #[error("authentication required")]
    Unauthenticated { reason: &'static str, bearer: bool },
    /// Authenticated, but a grant is missing (`missing` names it) or the action is not allowed.
    #[error("{detail}")]
    Forbidden { detail: String, missing: Option<String> },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("this method is not allowed on this resource; see /api/v1/openapi.json")]
    MethodNotAllowed,
    #[error("the resource has changed since it was read (If-Match does not match its ETag)")]
    PreconditionFailed,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed but cannot be processed, e.g. an Idempotency-Key reused with another body.
    #[error("{0}")]
    Unprocessable(String),
    #[error("too many requests; retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    /// The database (or another dependency) cannot be reached right now.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected fault; the message is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Error::Invalid {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError { field: field.to_owned(), message }],
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Error::Invalid { detail: detail.into(), errors: Vec::new() }
    }

    pub fn missing_grant(grant: String) -> Self {
        Error::Forbidden { detail: format!("you lack {grant}"), missing: Some(grant) }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Error::Forbidden { detail: detail.into(), missing: None }
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        Error::Internal(what.to_string())
    }

    /// Whether the request (or one part of it) was refused for what it asked, rather than
    /// failed because the server or its database could not go on.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Error::Unavailable(_) | Error::Internal(_))
    }
}

impl From<validator::ValidationErrors> for Error {
    fn from(errors: validator::ValidationErrors) -> Self {
        let fields = gatehouse_api_types::field_errors::collect_field_errors(&errors);
        let detail = match fields.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", fields.len()),
        };
        Error::Invalid { detail, errors: fields }
    }
}
