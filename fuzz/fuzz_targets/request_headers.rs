//! Request headers read outside authentication: `If-Match` (ETag lists), `Idempotency-Key`,
//! `X-Forwarded-For` (behind a trusted proxy), and the SSO, authorization-request and console
//! cookies. The input is split on NUL into header values. No panic; an accepted key is 1 to 255
//! visible ASCII characters; a forwarded address is an IP address.
#![no_main]

use actix_web::http::header::{HeaderValue, COOKIE, IF_MATCH};
use actix_web::test::TestRequest;
use gatehouse::domain::Precondition;
use gatehouse::http::extract::{idempotency_key, if_match};
use gatehouse::oauth::session;
use gatehouse::shell::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0);
    let mut next = || parts.next().and_then(|p| HeaderValue::from_bytes(p).ok());
    let mut req = TestRequest::default().peer_addr("192.0.2.1:4000".parse().unwrap());
    let values = [next(), next(), next(), next()];
    if let Some(v) = &values[0] {
        req = req.insert_header((IF_MATCH, v.clone()));
    }
    if let Some(v) = &values[1] {
        req = req.insert_header(("idempotency-key", v.clone()));
    }
    if let Some(v) = &values[2] {
        req = req.insert_header(("x-forwarded-for", v.clone()));
    }
    if let Some(v) = &values[3] {
        req = req.insert_header((COOKIE, v.clone()));
    }
    let req = req.to_http_request();

    if let Ok(Some(condition)) = if_match(&req) {
        assert!(condition.etags.iter().all(|t| !t.is_empty() && t.as_str() == t.trim() && !t.contains(',')));
        let _ = Precondition::check(Some(&condition), 7);
        if condition.etags.contains(&Precondition::etag(7)) {
            assert!(Precondition::check(Some(&condition), 7).is_ok());
        }
    }
    if let Ok(Some(key)) = idempotency_key(&req) {
        assert!((1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()));
    }
    for trusted in [false, true] {
        if let Some(ip) = gatehouse::shell::client_ip(&req, trusted) {
            assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{ip:?}");
        }
    }
    for issuer in ["http://127.0.0.1:8080", "https://id.example.test"] {
        let settings = Settings::new(issuer.into());
        let _ = session::sso_cookie_value(&req, &settings);
        let _ = session::authz_cookie_value(&req, &settings);
        let _ = gatehouse::console::session_cookie(&req, &settings);
    }
});
