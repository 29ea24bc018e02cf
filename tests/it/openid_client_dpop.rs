//! DPoP (RFC 9449) driven by **openid-client 6** (see `openid_client.rs`): the library makes the
//! key pair (`randomDPoPKeyPair`), signs every proof, follows the server's `use_dpop_nonce`
//! itself and presents bound tokens as `Authorization: DPoP`. These tests drive it, look at
//! what it sent (`exchanges`: the nonce round) and send one of its proofs twice by hand.

use serde_json::{json, Value};

use crate::oauth::{claims_of, provider, ALICE_PASSWORD, REDIRECT};
use crate::openid_client::Rp;
use crate::support::browser::{location, Browser};

/// The token endpoint requests the library made, with their answers.
fn token_requests(rp: &mut Rp) -> Vec<Value> {
    let seen = rp.ok(json!({ "op": "exchanges" }));
    seen["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["url"].as_str().unwrap().ends_with("/oauth/token"))
        .cloned()
        .collect()
}

fn proof_claims(exchange: &Value) -> Value {
    claims_of(exchange["headers"]["dpop"].as_str().expect("a DPoP proof"))
}

fn is_dpop(tokens: &Value) -> bool {
    tokens["token_type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("dpop"))
}

#[test]
fn client_credentials_with_dpop_a_nonce_round_the_management_api_and_a_replayed_proof() {
    let p = provider(&[]);
    let (_, api) = p.app.owner_with_client("api-owner", &["users:read@customers"], &["users:read@customers"]);
    let mut rp = Rp::discover(&p.app, &api.client_id, Some(&api.secret), "client_secret_basic");
    let jkt = rp.ok(json!({ "op": "dpop_key" }))["jkt"].as_str().unwrap().to_owned();

    let tokens = rp.ok(json!({ "op": "client_credentials", "scope": "users:read@customers", "dpop": true }));
    assert!(is_dpop(&tokens), "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&access)["cnf"]["jkt"], json!(jkt));

    // The nonce round: the first proof had no nonce and was answered use_dpop_nonce with one;
    // the library retried with it, and that was accepted.
    let requests = token_requests(&mut rp);
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!((requests[0]["status"].clone(), requests[0]["error"].clone()), (json!(400), json!("use_dpop_nonce")));
    assert!(proof_claims(&requests[0]).get("nonce").is_none());
    let nonce = requests[0]["dpop_nonce"].as_str().expect("a DPoP-Nonce header").to_owned();
    assert_eq!(requests[1]["status"], json!(200));
    assert_eq!(proof_claims(&requests[1])["nonce"], json!(nonce));

    // The Management API takes the token the library's way (DPoP scheme, proof with ath)…
    let me = format!("{}/api/v1/namespaces/customers/users", p.app.base);
    let listed = rp.ok(json!({ "op": "resource", "url": me, "access_token": access, "dpop": true }));
    assert_eq!(listed["status"], json!(200), "{listed}");
    // …but not as a Bearer token: the library sees the DPoP challenge.
    let stolen = rp.call(json!({ "op": "resource", "url": me, "access_token": access })).unwrap_err();
    assert_eq!(stolen["status"], json!(401), "{stolen}");
    assert_eq!(stolen["code"], json!("OAUTH_WWW_AUTHENTICATE_CHALLENGE"), "{stolen}");

    // The accepted token request sent again by hand, its proof and all: a replay.
    rp.ok(json!({ "op": "client_credentials", "scope": "users:read@customers", "dpop": true }));
    let replayed = rp.ok(json!({ "op": "replay_last", "path": "/oauth/token" }));
    assert_eq!(replayed["status"], json!(400), "{replayed}");
    assert_eq!(replayed["body"]["error"], json!("invalid_dpop_proof"), "{replayed}");
}

#[test]
fn code_with_pkce_and_dpop_then_userinfo_and_refresh_with_the_same_key() {
    let p = provider(&[]);
    let mut rp = Rp::discover(&p.app, &p.web.client_id, Some(&p.web.secret), "client_secret_basic");
    let jkt = rp.ok(json!({ "op": "dpop_key", "alg": "EdDSA" }))["jkt"].as_str().unwrap().to_owned();
    let browser = Browser::new(&p.app.base);

    // The authorization request names the key (dpop_jkt): the code is bound to it.
    let url = rp.ok(json!({
        "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid profile offline_access", "dpop_jkt": true
    }));
    assert!(url["url"].as_str().unwrap().contains(&format!("dpop_jkt={jkt}")));
    let answer = browser.sign_in(url["url"].as_str().unwrap(), "alice", ALICE_PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.text);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": location(&answer), "dpop": true }));
    assert!(is_dpop(&tokens), "{tokens}");
    assert_eq!(tokens["claims"]["sub"], json!(p.alice));
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&access)["cnf"]["jkt"], json!(jkt));

    let info = rp.ok(json!({ "op": "userinfo", "access_token": access, "subject": p.alice, "dpop": true }));
    assert_eq!(info["userinfo"]["name"], json!("Alice Liddell"));
    // Without the proof (as Bearer) the library is refused.
    let refused = rp.call(json!({ "op": "userinfo", "access_token": access, "subject": p.alice })).unwrap_err();
    assert_eq!(refused["status"], json!(401), "{refused}");

    let refresh = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
    let renewed = rp.ok(json!({ "op": "refresh", "refresh_token": refresh, "dpop": true }));
    assert!(is_dpop(&renewed), "{renewed}");
    assert_eq!(claims_of(renewed["access_token"].as_str().unwrap())["cnf"]["jkt"], json!(jkt));
    // Refreshing the bound token without a proof fails.
    let next = renewed["refresh_token"].as_str().unwrap();
    let unbound = rp.call(json!({ "op": "refresh", "refresh_token": next })).unwrap_err();
    assert_eq!(unbound["error"], json!("invalid_grant"), "{unbound}");
}

#[test]
fn a_public_client_pushes_its_request_with_a_proof_and_gets_bound_tokens() {
    let p = provider(&[]);
    let public = p.app.admin().post(
        "/api/v1/clients",
        &json!({
            "name": "Native app", "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": [REDIRECT],
            "user_namespace": "customers", "token_endpoint_auth_method": "none", "skip_consent": true,
            "dpop_bound_access_tokens": true
        }),
    );
    assert_eq!(public.status, 201, "{}", public.text);
    let client_id = public.json["client_id"].as_str().unwrap();
    let mut rp = Rp::discover(&p.app, client_id, None, "none");
    let jkt = rp.ok(json!({ "op": "dpop_key" }))["jkt"].as_str().unwrap().to_owned();
    let browser = Browser::new(&p.app.base);
    let url = rp.ok(json!({
        "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid offline_access", "par": true, "dpop": true
    }));
    let answer = browser.sign_in(url["url"].as_str().unwrap(), "alice", ALICE_PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.text);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": location(&answer), "dpop": true }));
    assert!(is_dpop(&tokens), "{tokens}");
    assert_eq!(claims_of(tokens["access_token"].as_str().unwrap())["cnf"]["jkt"], json!(jkt));
    // A refresh with another key (a thief's copy of the refresh token) fails.
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    rp.ok(json!({ "op": "dpop_key" }));
    let other = rp.call(json!({ "op": "refresh", "refresh_token": refresh, "dpop": true })).unwrap_err();
    assert_eq!(other["error"], json!("invalid_grant"), "{other}");
}
