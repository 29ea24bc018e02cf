//! Redirect URIs as clients register them (`redirect_uris`, `post_logout_redirect_uris`),
//! through both registration checks (the field rule `checks::redirect_uris`, then the server's
//! `client_settings::redirect_target_ok`), and the redirect a code or an error is sent back on
//! (`authorize::redirect_with`). No panic; a URI that registration accepts is absolute, has no
//! fragment, is not a script scheme, uses plain http only to a loopback host, and the server
//! can put a code and a state on it.
#![no_main]

use gatehouse::domain::client_settings::redirect_target_ok;
use gatehouse::oauth::authorize::redirect_with;
use gatehouse_api_types::checks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(uri) = std::str::from_utf8(data) else { return };
    let location = redirect_with(
        uri,
        &[("code", Some("c0de")), ("state", Some("s t&a=te")), ("iss", Some("https://id.example.test"))],
    );
    // Registration runs the field check, then the server's own (`check_oauth_settings`).
    if checks::redirect_uris(&[uri.to_owned()]).is_err() || !redirect_target_ok(uri) {
        return;
    }
    assert!(!uri.contains('#') && uri.len() <= 2000);
    let scheme = uri.split_once(':').expect("absolute").0.to_ascii_lowercase();
    assert!(!matches!(scheme.as_str(), "javascript" | "data" | "file" | "vbscript"));
    let url = url::Url::parse(uri)
        .unwrap_or_else(|e| panic!("registered {uri:?} is no URL ({e}): a code can never reach it"));
    assert_eq!(url.scheme(), scheme);
    if scheme == "http" || scheme == "https" {
        assert!(url.host().is_some(), "{uri:?} has no host");
    }
    if scheme == "http" {
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        assert!(loopback, "plain http to a non-loopback host: {uri:?} (host {:?})", url.host());
    }
    let back = url::Url::parse(&location).expect("the redirect is a URL");
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert!(
        pairs.contains(&("code".into(), "c0de".into())) && pairs.contains(&("state".into(), "s t&a=te".into())),
        "{location}"
    );
});
