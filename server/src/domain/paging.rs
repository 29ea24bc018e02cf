//! Keyset paging and optimistic concurrency, as the domain sees them.

use base64::Engine;
use gatehouse_api_types::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use crate::error::{Error, Result};

const TOKEN_PREFIX: &str = "k1:";

/// One page: at most `size` items strictly after the key `after` (an id or a sequence number).
/// The token is opaque to callers; it only encodes the last key of the previous page, so pages
/// stay stable when rows are inserted concurrently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn new(page_size: Option<u32>, page_token: Option<&str>) -> Result<PageRequest> {
        let size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(Error::invalid("page_size", "must be between 1 and 200"));
        }
        let after = page_token.map(decode_token).transpose()?;
        Ok(PageRequest { size: size as usize, after })
    }

    /// Query one more row than the page holds, to know whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.size as i64 + 1
    }

    /// Cuts `rows` (fetched with [`Self::fetch_limit`]) to a page and its next token.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
        if rows.len() > self.size {
            rows.truncate(self.size);
            let next = rows.last().map(|last| encode_token(&key(last)));
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

fn encode_token(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{key}"))
}

fn decode_token(token: &str) -> Result<String> {
    let invalid = || Error::invalid("page_token", "is not a page token from this list");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(TOKEN_PREFIX).map(str::to_owned).filter(|k| !k.is_empty() && k.len() <= 64).ok_or_else(invalid)
}

/// An `If-Match` precondition: the resource's current ETag must be one of `etags`, or `any`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Precondition {
    pub any: bool,
    pub etags: Vec<String>,
}

impl Precondition {
    /// The ETag of a resource at `version`.
    pub fn etag(version: i64) -> String {
        format!("\"{version}\"")
    }

    pub fn check(condition: Option<&Precondition>, version: i64) -> Result<()> {
        match condition {
            None => Ok(()),
            Some(c) if c.any || c.etags.iter().any(|e| e == &Self::etag(version)) => Ok(()),
            Some(_) => Err(Error::PreconditionFailed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        let page = PageRequest::new(Some(2), None).unwrap();
        let (items, next) = page.finish(vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(items, vec!["a", "b"]);
        let next = PageRequest::new(Some(2), next.as_deref()).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        assert!(PageRequest::new(None, Some("garbage!")).is_err());
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(201), None).is_err());
    }

    #[test]
    fn preconditions_compare_etags() {
        let c = Precondition { any: false, etags: vec![Precondition::etag(3)] };
        assert!(Precondition::check(Some(&c), 3).is_ok());
        assert!(matches!(Precondition::check(Some(&c), 4), Err(Error::PreconditionFailed)));
        assert!(Precondition::check(Some(&Precondition { any: true, etags: vec![] }), 9).is_ok());
        assert!(Precondition::check(None, 9).is_ok());
    }
}
