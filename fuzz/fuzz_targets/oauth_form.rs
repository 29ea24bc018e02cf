//! `application/x-www-form-urlencoded` bodies of `/oauth/token`, `/oauth/authorize`,
//! `/oauth/revoke`, `/oauth/introspect`, `/oauth/par` and `/oauth/logout` (`oauth::form::Form`),
//! then what the endpoints read from them without a database: client authentication in the
//! body, `scope`, `resource`, the PKCE verifier, `response_type`, the `claims` parameter
//! (`oauth::claims::ClaimsRequest`), and the redirect a code or an error goes back on.
//! Properties: no panic; a parameter given twice is refused; an empty value is absent; the
//! pairs re-encoded (also as a pushed request is stored, `Form::encode`) parse to the same
//! form; a claims request survives its stored form; refusals render as RFC 6749 error responses.
#![no_main]

use actix_web::test::TestRequest;
use actix_web::ResponseError;
use base64::Engine;
use gatehouse::domain::client_assertion::ASSERTION_TYPE;
use gatehouse::oauth::authorize::redirect_with;
use gatehouse::oauth::claims::ClaimsRequest;
use gatehouse::oauth::form::Form;
use gatehouse::oauth::issuance::pkce_matches;
use gatehouse::oauth::scope::Scopes;
use gatehouse::oauth::token_endpoint::{presented, Presented};
use gatehouse_api_types::ResponseType;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(data).map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
    let form = match Form::parse(data) {
        Ok(form) => form,
        Err(e) => {
            assert_eq!(e.error, "invalid_request");
            let names: std::collections::HashSet<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
            assert!(names.len() < pairs.len(), "refused without a repeated parameter: {e}");
            assert_eq!(e.error_response().status(), 400);
            return;
        }
    };
    for (name, value) in &pairs {
        assert_eq!(form.get(name), (!value.is_empty()).then_some(value.as_str()));
        assert_eq!(form.require(name).is_ok(), !value.is_empty());
    }
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    let again = Form::parse(encoded.as_bytes()).expect("re-encoded form parses");
    for (name, _) in &pairs {
        assert_eq!(again.get(name), form.get(name));
    }
    let stored = Form::parse(form.encode().as_bytes()).expect("a pushed request parses back");
    for (name, _) in &pairs {
        assert_eq!(stored.get(name), form.get(name));
    }
    if let Some(text) = form.get("claims") {
        if let Ok(claims) = ClaimsRequest::parse(text) {
            // Names and essential flags survive (values are JSON numbers too: compared loosely).
            let back = ClaimsRequest::from_stored(claims.stored().as_deref());
            let shape = |c: &ClaimsRequest| {
                let member = |m: &std::collections::BTreeMap<String, gatehouse::oauth::claims::Ask>| {
                    m.iter().map(|(n, a)| (n.clone(), a.essential)).collect::<Vec<_>>()
                };
                (member(&c.userinfo), member(&c.id_token), c.asks_for_mfa())
            };
            assert_eq!(shape(&back), shape(&claims));
        }
    }
    if let Some(Some(t)) = form.get("response_type").map(ResponseType::parse_parameter) {
        assert_eq!(ResponseType::parse_parameter(t.as_str()), Some(t));
    }

    // Client authentication in the body (no Authorization header).
    let req = TestRequest::default().to_http_request();
    match presented(&req, &form) {
        Ok(Presented::Secret { client_id, secret, basic }) => {
            assert!(
                !basic
                    && Some(client_id.as_str()) == form.get("client_id")
                    && Some(secret.as_str()) == form.get("client_secret")
            );
        }
        Ok(Presented::Public { client_id }) => {
            assert!(Some(client_id.as_str()) == form.get("client_id") && form.get("client_secret").is_none())
        }
        Ok(Presented::Assertion { client_id, assertion }) => {
            assert_eq!(form.get("client_assertion_type"), Some(ASSERTION_TYPE));
            assert_eq!(form.get("client_assertion"), Some(assertion.as_str()));
            assert!(form.get("client_secret").is_none());
            assert!(form.get("client_id").is_none_or(|id| id == client_id));
        }
        Err(e) => {
            // No client_id, or a client assertion that is malformed or beside a secret.
            assert!(form.get("client_id").is_none() || form.get("client_assertion_type").is_some());
            let _ = e.error_response();
        }
    }

    if let Ok(scope) = Scopes::parse(form.get("scope").unwrap_or_default()) {
        assert_eq!(Scopes::parse(&scope.to_string()).as_ref(), Ok(&scope));
    }
    if let Some(resource) = form.get("resource") {
        let _ = url::Url::parse(resource).map(|u| u.fragment().is_some());
    }
    if let Some(verifier) = form.get("code_verifier") {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let valid = (43..=128).contains(&verifier.len())
            && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        assert_eq!(pkce_matches(&challenge, verifier), valid);
        assert!(
            !pkce_matches(form.get("code_challenge").unwrap_or("x"), verifier)
                || form.get("code_challenge") == Some(&challenge)
        );
    }
    if let Some(uri) = form.get("redirect_uri") {
        let state = form.get("state");
        let location =
            redirect_with(uri, &[("code", Some("c0de")), ("state", state), ("iss", Some("https://id.example.test"))]);
        if let Ok(url) = url::Url::parse(uri) {
            let back = url::Url::parse(&location).expect("the redirect is a URL");
            let got: Vec<(String, String)> = back.query_pairs().into_owned().collect();
            assert!(got.contains(&("code".into(), "c0de".into())), "{location}");
            if let Some(state) = state {
                assert!(got.contains(&("state".into(), state.into())), "state lost in {location}");
            }
            assert_eq!(back.fragment(), url.fragment());
        }
    }
});
