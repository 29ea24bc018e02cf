//! The `Authorization` header: the Management API's Basic/Bearer parsing, and the token
//! endpoint's `client_secret_basic` (whose id and secret are form-urlencoded, RFC 6749 2.3.1).
//! Whatever the header, no panic; what is accepted is within the limits; credentials that a
//! client may send come back out exactly.
#![no_main]

use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use actix_web::test::TestRequest;
use base64::Engine;
use gatehouse::http::auth::{authorization, Credentials};
use gatehouse::oauth::form::Form;
use gatehouse::oauth::token_endpoint::{presented, Presented};
use libfuzzer_sys::fuzz_target;

fn check(text: &str) {
    match authorization(text) {
        Ok(Credentials::Basic { client_id, secret }) => {
            assert!(!client_id.is_empty() && client_id.len() <= 128, "client id {client_id:?}");
            assert!(!secret.is_empty() && secret.len() <= 512);
            assert!(!client_id.contains(':'), "the id ends at the first colon");
        }
        Ok(Credentials::Bearer(token)) => {
            assert!(!token.is_empty() && token.len() <= 8192);
            assert_eq!(token, token.trim());
        }
        Ok(Credentials::DPoP { token, proof }) => {
            assert!(!token.is_empty() && token.len() <= 8192);
            assert_eq!(token, token.trim());
            assert!(proof.is_none(), "the proof is read from its own header, never from Authorization");
        }
        Ok(Credentials::Console { .. }) => panic!("a header never stands for a console session"),
        Err((reason, _)) => assert!(!reason.is_empty()),
    }
}

fn token_endpoint(value: HeaderValue) {
    // A header that is not visible ASCII is not read there at all (the body may still authenticate).
    let readable = value.to_str().is_ok();
    let req = TestRequest::default().insert_header((AUTHORIZATION, value)).to_http_request();
    for body in [&b""[..], b"client_id=abc", b"client_secret=s3cret", b"client_id=abc&client_secret=s3cret"] {
        let form = Form::parse(body).expect("a valid form");
        if let Ok(Presented::Secret { client_id, basic, .. }) = presented(&req, &form) {
            assert!(basic || !readable, "with a header, only Basic");
            assert!(!client_id.is_empty());
            assert!(!basic || form.get("client_secret").is_none(), "one method, not two");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    // What actix hands over: a header value (no CR, LF or NUL), then its visible-ASCII text.
    if let Ok(value) = HeaderValue::from_bytes(data) {
        if let Ok(text) = value.to_str() {
            check(text);
        }
        token_endpoint(value);
    }

    // Credentials a client may send come back out exactly, on both parsers.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some((id, secret)) = text.split_once('\u{0}') else { return };
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    if !id.is_empty() && id.len() <= 128 && !id.contains(':') && !secret.is_empty() && secret.len() <= 512 {
        match authorization(&format!("Basic {}", b64(format!("{id}:{secret}")))) {
            Ok(Credentials::Basic { client_id, secret: s }) => assert!(client_id == id && s == secret),
            _ => panic!("valid Basic credentials refused"),
        }
    }
    if !id.is_empty() {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let value =
            HeaderValue::from_str(&format!("Basic {}", b64(format!("{}:{}", encode(id), encode(secret))))).unwrap();
        let req = TestRequest::default().insert_header((AUTHORIZATION, value)).to_http_request();
        match presented(&req, &Form::default()) {
            Ok(Presented::Secret { client_id, secret: s, basic: true }) => assert!(client_id == id && s == secret),
            _ => panic!("valid client_secret_basic refused"),
        }
    }
});
