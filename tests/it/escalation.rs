//! The three confirmed escalations of issue 11, each replayed as an attacker would, the paths
//! groups opened (issue 17), and the bounds that close them: no request leaves its caller controlling more power than it holds
//! (docs/security.md). The model-based search for other paths is `invariant_model`.

use openidconnect::PkceCodeChallenge;
use reqwest::Method;
use serde_json::{json, Value};

use crate::console::console_sign_in;
use crate::support::browser::{location, query_param};
use crate::support::{Api, ClientCreds, Reply, TestApp, ADMIN_PASSWORD};

/// Where the attacker receives codes.
const EVIL: &str = "http://127.0.0.1:9/evil";

/// An authorization URL for `client`, with a fresh PKCE challenge; and its verifier.
fn authorize_url(client: &ClientCreds, scope: &str, prompt: Option<&str>) -> (String, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut url = url::Url::parse("http://x/oauth/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", EVIL)
        .append_pair("scope", scope)
        .append_pair("state", "s1")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    if let Some(prompt) = prompt {
        url.query_pairs_mut().append_pair("prompt", prompt);
    }
    (format!("/oauth/authorize?{}", url.query().unwrap()), verifier.secret().to_owned())
}

/// Redeems a code at the token endpoint with the client's secret.
fn redeem(app: &TestApp, client: &ClientCreds, code: &str, verifier: &str) -> Reply {
    let api = app.anonymous();
    api.send(api.request(Method::POST, "/oauth/token").basic_auth(&client.client_id, Some(&client.secret)).form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", EVIL),
        ("code_verifier", verifier),
    ]))
}

fn effective(me: &Reply) -> Value {
    me.json["effective_permissions"].clone()
}

/// Finding 1: an account without grants owns a client an administrator made for it. It may not
/// re-route the client; and even when the client is set up to sign in administrators, the
/// tokens it obtains for a signed-in administrator carry no more than the client may do.
#[test]
fn an_owner_without_grants_cannot_turn_its_client_into_an_administrators_token() {
    let app = TestApp::start();
    let bob = app.create_account("system", "bob", &[]);
    let client = app.create_client(&bob, &["*:*@*"]);
    let bobs = app.as_client(&client);
    let path = format!("/api/v1/clients/{}", client.id);

    // The owner may not point the client at administrators and at its own redirect URI.
    let reroute = bobs.patch(
        &path,
        &json!({ "user_namespace": "system", "grant_types": ["authorization_code"], "redirect_uris": [EVIL] }),
    );
    reroute.assert_problem(403);
    assert_eq!(reroute.json["missing_grant"], "clients:write@system");
    for field in [
        json!({ "name": "Gatehouse console" }),
        json!({ "skip_consent": true }),
        json!({ "redirect_uris": [EVIL] }),
        json!({ "hybrid_enabled": true }),
        json!({ "token_endpoint_auth_method": "client_secret_post" }),
        json!({ "require_pushed_authorization_requests": true }),
    ] {
        bobs.patch(&path, &field).assert_problem(403);
    }
    let unchanged = app.admin().get(&path);
    assert_eq!(unchanged.json["grant_types"], json!(["client_credentials"]), "a refused change changes nothing");
    // What owners may still do: disable and re-enable.
    assert_eq!(bobs.patch(&path, &json!({ "disabled": true })).status, 200);
    assert_eq!(app.admin().patch(&path, &json!({ "disabled": false })).status, 200);

    // Suppose an administrator sets it up to sign in administrators (a first-party app).
    let setup = app.admin().patch(
        &path,
        &json!({ "user_namespace": "system", "grant_types": ["authorization_code"], "redirect_uris": [EVIL], "skip_consent": true }),
    );
    assert_eq!(setup.status, 200, "{}", setup.text);

    // The administrator, signed in (here: to the console), is lured to it with prompt=none.
    let (admin_browser, _) = console_sign_in(&app, "admin", ADMIN_PASSWORD);
    let (url, verifier) = authorize_url(&client, "openid *:*@* account", Some("none"));
    let lured = admin_browser.get(&url);
    assert_eq!(lured.status, 303, "{}", lured.text);
    let code = query_param(&location(&lured), "code").expect("a code, silently (prompt=none, first-party)");
    let tokens = redeem(&app, &client, &code, &verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    // The management scope is cut down to what the client may do: nothing (bob holds nothing).
    assert_eq!(tokens.json["scope"], "openid account", "{}", tokens.text);
    let access = tokens.json["access_token"].as_str().unwrap();
    let me = Api::new(&app.base, None).with_bearer(access).get("/api/v1/me");
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(effective(&me), json!([]), "the lured token may do nothing: {}", me.text);
    // And what the token could do as `account` (its self-service) is not the administrator's
    // power either: no grant is reachable through it.
    let api = Api::new(&app.base, None).with_bearer(access);
    api.get("/api/v1/namespaces").assert_problem(403);
    api.put(
        &format!("/api/v1/namespaces/system/users/{}/password", app.admin_account_id),
        &json!({ "password": "pwned pwned pwned" }),
    )
    .assert_problem(403);

    // Once bob may do something, so may the client's tokens, and no more.
    app.set_grants("system", &bob, &["users:read@system"]);
    let (url, verifier) = authorize_url(&client, "openid *:*@*", Some("none"));
    let code = query_param(&location(&admin_browser.get(&url)), "code").unwrap();
    let tokens = redeem(&app, &client, &code, &verifier);
    assert_eq!(tokens.json["scope"], "openid users:read@system", "what the client may do bounds what it is given");
    let me = Api::new(&app.base, None).with_bearer(tokens.json["access_token"].as_str().unwrap()).get("/api/v1/me");
    assert_eq!(effective(&me), json!(["users:read@system"]), "{}", me.text);
}

/// Without a management scope (or `account`), a user's token is for its application alone: its
/// audience is the client, and the Management API refuses it.
#[test]
fn a_users_token_reaches_the_management_api_only_with_a_scope_for_it() {
    let app = TestApp::start();
    app.create_namespace("shop");
    let carol = app
        .admin()
        .post("/api/v1/namespaces/shop/users", &json!({ "username": "carol", "password": "carol's long password" }));
    assert_eq!(carol.status, 201, "{}", carol.text);
    app.set_grants("shop", carol.json["id"].as_str().unwrap(), &["users:read@shop"]);
    let web = app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "shop", "password_grant_enabled": true, "user_namespace": "shop", "permissions": ["users:read@shop"] }),
    );
    let web = crate::support::creds_of(&web.json);
    let grant = |scope: &str| {
        let api = app.anonymous();
        let r =
            api.send(api.request(Method::POST, "/oauth/token").basic_auth(&web.client_id, Some(&web.secret)).form(&[
                ("grant_type", "password"),
                ("username", "carol"),
                ("password", "carol's long password"),
                ("scope", scope),
            ]));
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["access_token"].as_str().unwrap().to_owned()
    };
    let claims = |token: &str| -> Value {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap(),
        )
        .unwrap()
    };
    let plain = grant("openid profile");
    assert_eq!(claims(&plain)["aud"], web.client_id.as_str());
    Api::new(&app.base, None).with_bearer(&plain).get("/api/v1/me").assert_problem(401);
    let userinfo = Api::new(&app.base, None).with_bearer(&plain).get("/oauth/userinfo");
    assert_eq!(userinfo.status, 200, "UserInfo takes it: {}", userinfo.text);

    let own = grant("openid account");
    assert_eq!(claims(&own)["aud"], format!("{}/api/v1", app.base));
    let me = Api::new(&app.base, None).with_bearer(&own);
    assert_eq!(me.get("/api/v1/me").status, 200);
    assert_eq!(me.patch("/api/v1/me", &json!({ "name": "Carol" })).status, 200);
    assert_eq!(me.get("/api/v1/me/consents").status, 200);
    // A token for the Management API without `account` does not manage the account.
    let scoped = grant("users:read@shop");
    Api::new(&app.base, None).with_bearer(&scoped).patch("/api/v1/me", &json!({ "name": "x" })).assert_problem(403);
}

/// Finding 2: holding `clients:*@*` and `permissions:write@system` is not enough to take the
/// bootstrap client (`*:*@*`) over by transferring it, rotating its secret, and giving it back.
#[test]
fn a_transfer_round_trip_cannot_mint_a_credential_for_a_wider_client() {
    let app = TestApp::start();
    let (mallory, mallorys_client) = app.owner_with_client(
        "mallory",
        &["clients:*@*", "permissions:write@system"],
        &["clients:*@*", "permissions:write@system"],
    );
    let m = app.as_client(&mallorys_client);
    let bootstrap = format!("/api/v1/clients/{}", app.admin_client.id);

    let take = m.patch(&bootstrap, &json!({ "owner_account_id": mallory }));
    take.assert_problem(403);
    assert!(take.json["detail"].as_str().unwrap().contains("transfer a client"), "{}", take.text);
    m.post(&format!("{bootstrap}/secrets"), &json!({ "previous_secret_expires_in": 2_592_000 })).assert_problem(403);
    let still = app.admin().get(&bootstrap);
    assert_eq!(still.json["owner"]["account_id"], app.admin_account_id, "nothing changed");
    assert_eq!(app.admin().get("/api/v1/me").json["effective_permissions"], json!(["*:*@*"]));

    // Her own client, granted more than she holds, cannot be given to the administrator either:
    // she holds its secret and it would then do everything.
    let wide = app.create_client(&mallory, &["*:*@*"]);
    assert_eq!(
        app.as_client(&wide).get("/api/v1/me").json["effective_permissions"],
        json!(["clients:*@*", "permissions:write@system"])
    );
    let give = m.patch(&format!("/api/v1/clients/{}", wide.id), &json!({ "owner_account_id": app.admin_account_id }));
    give.assert_problem(403);
    assert_eq!(app.as_client(&wide).get("/api/v1/me").json["owner"]["account_id"], mallory);

    // A client whose power she holds before and after moves freely.
    let narrow = app.create_client(&mallory, &["clients:read@*"]);
    let moved =
        m.patch(&format!("/api/v1/clients/{}", narrow.id), &json!({ "owner_account_id": app.admin_account_id }));
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.json["effective_permissions"], json!(["clients:read@*"]));
}

/// Finding 3: `users:write` over a namespace does not take over an account that holds more
/// than the caller: not its password, not its sign-in names, not its state, not its existence.
#[test]
fn users_write_cannot_take_over_a_more_powerful_account() {
    let app = TestApp::start();
    let (_, helpdesk) = app.owner_with_client("helpdesk", &["users:*@system"], &["users:*@system"]);
    let h = app.as_client(&helpdesk);
    let admin = format!("/api/v1/namespaces/system/users/{}", app.admin_account_id);

    let refusals = [
        h.put(&format!("{admin}/password"), &json!({ "password": "a password of mine" })),
        h.patch(&admin, &json!({ "email": "helpdesk@evil.example", "email_verified": true })),
        h.patch(&admin, &json!({ "username": "former-admin" })),
        h.patch(&admin, &json!({ "disabled": true })),
        h.delete(&admin),
    ];
    for r in &refusals {
        r.assert_problem(403);
        assert!(r.json["missing_grant"].is_string(), "{}", r.text);
    }
    let after = app.admin().get(&admin);
    assert_eq!(
        (after.json["username"].as_str(), after.json["email"].as_str(), after.json["disabled"].as_bool()),
        (Some("admin"), None, Some(false))
    );
    console_sign_in(&app, "admin", ADMIN_PASSWORD);
    // The profile is not control: the helpdesk may still correct a name.
    assert_eq!(h.patch(&admin, &json!({ "name": "The Administrator" })).status, 200);

    // An account whose grants the helpdesk holds is its to manage.
    let clerk = app.create_account("system", "clerk", &["users:read@system"]);
    let clerk_path = format!("/api/v1/namespaces/system/users/{clerk}");
    assert_eq!(h.put(&format!("{clerk_path}/password"), &json!({ "password": "a new clerk password" })).status, 204);
    assert_eq!(h.patch(&clerk_path, &json!({ "email": "clerk@example.com" })).status, 200);
    assert_eq!(h.patch(&clerk_path, &json!({ "disabled": true })).status, 200);
    assert_eq!(h.delete(&clerk_path).status, 204);
}

/// How a client authenticates is a credential: a client administrator of the namespace cannot
/// switch a wider client to keys of its own (it would then sign in as that client), and a
/// switch to keys ends the client's secrets at once (no second, weaker way in).
#[test]
fn switching_a_client_to_keys_needs_power_over_it_and_ends_its_secrets() {
    let app = TestApp::start();
    let grants = ["clients:write@system", "clients:read@system"];
    let (_, mallory) = app.owner_with_client("mallory", &grants, &grants);
    let root = app.create_account("system", "root-owner", &["*:*@*"]);
    let wide = app.create_client(&root, &["*:*@*"]);
    let path = format!("/api/v1/clients/{}", wide.id);
    let takeover =
        json!({ "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://mallory.example/jwks.json" });
    app.as_client(&mallory).patch(&path, &takeover).assert_problem(403);
    assert_eq!(app.as_client(&wide).get("/api/v1/me").status, 200, "a refused switch changes nothing");
    // A client cannot stop being confidential through a patch.
    let public = app.admin().patch(&path, &json!({ "token_endpoint_auth_method": "none" }));
    assert_eq!(public.status, 400, "{}", public.text);
    // The administrator may; the secret stops working at once.
    let switched = app.admin().patch(
        &path,
        &json!({ "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://rp.example/jwks.json" }),
    );
    assert_eq!(switched.status, 200, "{}", switched.text);
    assert_eq!(app.as_client(&wide).get("/api/v1/me").status, 401, "the secret ended with the switch");
    // Back to a secret: none until one is rotated in.
    let back =
        app.admin().patch(&path, &json!({ "token_endpoint_auth_method": "client_secret_basic", "jwks_uri": null }));
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(app.as_client(&wide).get("/api/v1/me").status, 401, "the old secret does not come back");
    let rotated = app.admin().post(&format!("{path}/secrets"), &json!({}));
    assert_eq!(rotated.status, 201, "{}", rotated.text);
}

/// Groups (issue 17): joining a group, adding someone to it, widening or narrowing its grants
/// and deleting it each need every grant at stake; an account whose power comes from a group is
/// as far beyond a helpdesk as one holding it directly.
#[test]
fn nobody_empowers_a_group_or_its_members_beyond_what_it_holds() {
    let app = TestApp::start();
    app.create_namespace("shop");
    // A manager of the shop's permissions that reads the shop's users.
    let (manager, creds) = app.owner_with_client(
        "manager",
        &["permissions:*@shop", "users:*@shop", "users:read@system"],
        &["permissions:*@shop", "users:*@shop", "users:read@system"],
    );
    let m = app.as_client(&creds);
    let admins = app.create_group("shop", "admins", &["*:*@*"]);
    let mine = app.create_group("shop", "mine", &["users:read@shop"]);
    let g = |id: &str| format!("/api/v1/namespaces/shop/groups/{id}");

    // It cannot join, or add anyone to, a group holding more than it does.
    let r = crate::groups::put_member(&m, "shop", &admins, &manager);
    r.assert_problem(403);
    assert!(r.json["missing_grant"].is_string(), "{}", r.text);
    assert!(r.json["detail"].as_str().unwrap().contains("members of a group"), "{}", r.text);
    // Nor grant a group more than it holds; nor take from one what it does not hold.
    m.put(&format!("{}/permissions", g(&mine)), &json!({ "permissions": ["audit:read@*"] })).assert_problem(403);
    m.put(&format!("{}/permissions", g(&admins)), &json!({ "permissions": [] })).assert_problem(403);
    // Nor delete a group whose grants it does not hold; nor remove one of its members.
    m.delete(&g(&admins)).assert_problem(403);
    let victim = app.create_account("shop", "victim", &[]);
    app.add_member("shop", &admins, &victim);
    crate::groups::delete_member(&m, "shop", &admins, &victim).assert_problem(403);
    assert_eq!(app.admin().get(&format!("{}/members", g(&admins))).json["items"].as_array().unwrap().len(), 1);

    // An account whose power comes from a group is beyond a helpdesk that does not hold it:
    // no password, no sign-in name, no disabling.
    let account = format!("/api/v1/namespaces/shop/users/{victim}");
    m.put(&format!("{account}/password"), &json!({ "password": "a password of mine" })).assert_problem(403);
    m.patch(&account, &json!({ "username": "taken-over" })).assert_problem(403);
    m.patch(&account, &json!({ "disabled": true })).assert_problem(403);
    m.delete(&account).assert_problem(403);

    // Within what it holds, it manages groups.
    assert_eq!(crate::groups::put_member(&m, "shop", &mine, &manager).status, 204);
    let set = m.put(
        &format!("{}/permissions", g(&mine)),
        &json!({ "permissions": ["users:read@shop", "permissions:read@shop"] }),
    );
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(crate::groups::delete_member(&m, "shop", &mine, &manager).status, 204);
    assert_eq!(m.delete(&g(&mine)).status, 204);
}
