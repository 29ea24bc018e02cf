//! Request bodies and query strings, read strictly: the right content type, a size limit,
//! JSON errors named by field, then `validator` rules. Every failure is a problem+json 4xx,
//! given only once the caller's credentials were found good (a Management API request with
//! bad credentials is a 401 whatever its body: see [`authenticate_first`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use validator::Validate;

use super::auth::authenticate_first;
use crate::error::{Error, Result};
use crate::shell::{read_body, read_bytes, BODY_LIMIT};

/// The body limit of bulk imports.
pub const IMPORT_LIMIT: usize = 16 * 1024 * 1024;

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T>>>>;

/// A validated JSON body, with a digest of the request (method, path, body) for idempotency.
pub struct Json<T> {
    pub value: T,
    pub digest: [u8; 32],
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Json<T> {
    type Error = Error;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let read = async {
                let body = read_body(&req, payload, BODY_LIMIT, &["application/json"]).await?;
                let value: T = parse_json(&body)?;
                value.validate()?;
                Ok::<_, Error>(Json { value, digest: request_digest(&req, &body) })
            };
            match read.await {
                Ok(json) => Ok(json),
                Err(refusal) => Err(authenticate_first(&req, refusal).await),
            }
        })
    }
}

/// A JSON body that may be left out entirely (then `T::default()`).
pub struct OptionalJson<T> {
    pub value: T,
    pub digest: [u8; 32],
}

impl<T: DeserializeOwned + Validate + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = Error;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let read = async {
                let absent = !req.headers().contains_key(header::CONTENT_TYPE);
                let body = if absent {
                    read_bytes(&req, payload, BODY_LIMIT).await?
                } else {
                    read_body(&req, payload, BODY_LIMIT, &["application/json"]).await?
                };
                let value: T = if body.iter().all(u8::is_ascii_whitespace) {
                    T::default()
                } else if absent {
                    return Err(Error::UnsupportedMediaType("send the body as Content-Type: application/json".into()));
                } else {
                    parse_json(&body)?
                };
                value.validate()?;
                Ok::<_, Error>(OptionalJson { value, digest: request_digest(&req, &body) })
            };
            match read.await {
                Ok(json) => Ok(json),
                Err(refusal) => Err(authenticate_first(&req, refusal).await),
            }
        })
    }
}

/// Parses JSON, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        json_error(if path == "." || path == "?" { None } else { Some(path) }, e.into_inner())
    })?;
    deserializer.end().map_err(|e| json_error(None, e))?;
    Ok(value)
}

fn json_error(path: Option<String>, e: serde_json::Error) -> Error {
    use serde_json::error::Category;
    let message = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => format!("is not valid JSON ({e})"),
        Category::Data => strip_position(&e.to_string()),
    };
    match path {
        Some(field) => Error::invalid(&field, message),
        None => Error::invalid("body", message),
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// SHA-256 over method, path and body: what makes two requests "the same" for idempotency.
pub fn request_digest(req: &HttpRequest, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update([0]);
    h.update(req.path().as_bytes());
    h.update([0]);
    h.update(body);
    h.finalize().into()
}

/// Query parameters, parsed strictly and validated.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Query<T> {
    type Error = Error;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = serde_urlencoded::from_str::<T>(req.query_string())
            .map_err(|e| Error::invalid("query", strip_position(&e.to_string())))
            .and_then(|value| {
                value.validate()?;
                Ok(Query(value))
            });
        let req = req.clone();
        Box::pin(async move {
            match parsed {
                Ok(query) => Ok(query),
                Err(refusal) => Err(authenticate_first(&req, refusal).await),
            }
        })
    }
}

/// Path parameters. One that does not parse (an id that is not a UUID, say) is a 400 naming
/// the path, given once the caller's credentials were found good, as for bodies and queries.
pub struct Path<T>(pub T);

impl<T> Path<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Path<T> {
    type Error = Error;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = req.match_info().load::<T>().map_err(|e| Error::invalid("path", strip_position(&e.to_string())));
        let req = req.clone();
        Box::pin(async move {
            match parsed {
                Ok(value) => Ok(Path(value)),
                Err(refusal) => Err(authenticate_first(&req, refusal).await),
            }
        })
    }
}

/// Path errors of extractors other than [`Path`] are 400s naming the path too.
pub fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    Error::invalid("path", strip_position(&err.to_string())).into()
}

/// An `If-Match` header, if any.
pub fn if_match(req: &HttpRequest) -> Result<Option<crate::domain::Precondition>> {
    let Some(value) = req.headers().get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().map_err(|_| Error::invalid("If-Match", "is not a list of ETags"))?;
    let mut condition = crate::domain::Precondition::default();
    for tag in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if tag == "*" {
            condition.any = true;
        } else {
            condition.etags.push(tag.to_owned());
        }
    }
    Ok(Some(condition))
}

/// An `Idempotency-Key` header, if any: 1 to 255 visible ASCII characters.
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<String>> {
    let Some(value) = req.headers().get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().ok().map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
    }
    Ok(Some(key.to_owned()))
}
