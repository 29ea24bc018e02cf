//! Clients never do more than their owner may do right now; nobody grants what they do not
//! hold; nobody reaches across namespaces or owners.

use serde_json::json;

use crate::support::TestApp;

#[test]
fn client_loses_grant_on_the_next_request_when_owner_is_demoted() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let (owner, client) = app.owner_with_client("bob", &["users:*@customers"], &["users:*@customers"]);
    let bob_client = app.as_client(&client);

    let created = bob_client.post("/api/v1/namespaces/customers/users", &json!({ "username": "carol" }));
    assert_eq!(created.status, 201, "{}", created.text);

    app.set_grants("system", &owner, &["users:read@customers"]);

    let refused = bob_client.post("/api/v1/namespaces/customers/users", &json!({ "username": "dave" }));
    refused.assert_problem(403);
    assert_eq!(refused.json["missing_grant"], "users:write@customers");
    assert!(refused.json["detail"].as_str().unwrap().contains("users:write@customers"));
    assert_eq!(bob_client.get("/api/v1/namespaces/customers/users").status, 200, "reads are still allowed");

    let me = bob_client.get("/api/v1/me");
    assert_eq!(me.json["permissions"], json!(["users:*@customers"]));
    assert_eq!(me.json["effective_permissions"], json!(["users:read@customers"]));

    let effective = app.admin().get(&format!("/api/v1/clients/{}/effective-permissions", client.id));
    assert_eq!(effective.status, 200);
    assert_eq!(effective.json["effective"], json!(["users:read@customers"]));
    assert_eq!(effective.json["owner"], json!(["users:read@customers"]));
    assert_eq!(effective.json["dropped"][0]["grant"], "users:*@customers");
    assert!(effective.json["dropped"][0]["reason"].as_str().unwrap().contains("narrowed"), "{}", effective.text);
}

#[test]
fn client_of_a_disabled_or_deleted_owner_is_refused() {
    let app = TestApp::start();
    let (owner, client) = app.owner_with_client("bob", &["namespaces:read@*"], &["namespaces:read@*"]);
    let bob_client = app.as_client(&client);
    assert_eq!(bob_client.get("/api/v1/me").status, 200);

    let disabled = app.admin().patch(&format!("/api/v1/namespaces/system/users/{owner}"), &json!({ "disabled": true }));
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    bob_client.get("/api/v1/me").assert_problem(401);
    let view = app.admin().get(&format!("/api/v1/clients/{}/effective-permissions", client.id));
    assert_eq!(view.json["effective"], json!([]));
    assert_eq!(view.json["dropped"][0]["reason"], "the owner account is disabled");

    app.admin().patch(&format!("/api/v1/namespaces/system/users/{owner}"), &json!({ "disabled": false }));
    assert_eq!(bob_client.get("/api/v1/me").status, 200, "re-enabling the owner restores the client");

    assert_eq!(app.admin().delete(&format!("/api/v1/namespaces/system/users/{owner}")).status, 204);
    bob_client.get("/api/v1/me").assert_problem(401);
    let orphan = app.admin().get(&format!("/api/v1/clients/{}", client.id));
    assert_eq!(orphan.json["owner"], json!(null));
    assert_eq!(orphan.json["effective_permissions"], json!([]));
}

#[test]
fn nobody_grants_what_they_do_not_hold_through_any_endpoint() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let (_, client) = app.owner_with_client(
        "bob",
        &["permissions:write@customers", "clients:write@*", "users:read@customers"],
        &["permissions:write@customers", "clients:write@*", "users:read@customers"],
    );
    let bob = app.as_client(&client);
    let carol = app.create_account("customers", "carol", &[]);

    // Account grants: only what the caller holds.
    let escalate = bob.put(
        &format!("/api/v1/namespaces/customers/users/{carol}/permissions"),
        &json!({ "permissions": ["users:write@customers"] }),
    );
    escalate.assert_problem(403);
    assert_eq!(escalate.json["missing_grant"], "users:write@customers");
    let wildcard = bob
        .put(&format!("/api/v1/namespaces/customers/users/{carol}/permissions"), &json!({ "permissions": ["*:*@*"] }));
    wildcard.assert_problem(403);
    let allowed = bob.put(
        &format!("/api/v1/namespaces/customers/users/{carol}/permissions"),
        &json!({ "permissions": ["users:read@customers"] }),
    );
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    assert_eq!(allowed.json["permissions"], json!(["users:read@customers"]));

    // Client grants on create: only what the creator holds.
    let wide = bob.post("/api/v1/clients", &json!({ "name": "wide", "permissions": ["users:write@customers"] }));
    wide.assert_problem(403);
    let narrow = bob.post("/api/v1/clients", &json!({ "name": "narrow", "permissions": ["users:read@customers"] }));
    assert_eq!(narrow.status, 201, "{}", narrow.text);
    let narrow_id = narrow.json["id"].as_str().unwrap();

    // Client grants on update: only what the caller holds.
    let widen = bob.patch(&format!("/api/v1/clients/{narrow_id}"), &json!({ "permissions": ["users:*@customers"] }));
    widen.assert_problem(403);
    let unchanged = app.admin().get(&format!("/api/v1/clients/{narrow_id}"));
    assert_eq!(unchanged.json["permissions"], json!(["users:read@customers"]), "a refused change changes nothing");

    // Nor can a caller strip a grant it does not hold from someone else.
    let admin_account = app.admin_account_id.clone();
    bob.put(&format!("/api/v1/namespaces/system/users/{admin_account}/permissions"), &json!({ "permissions": [] }))
        .assert_problem(403);
}

#[test]
fn cross_namespace_and_cross_owner_access_is_denied() {
    let app = TestApp::start();
    app.create_namespace("shop-a");
    app.create_namespace("shop-b");
    let (_, a_client) =
        app.owner_with_client("alice", &["users:*@shop-a", "clients:write@*"], &["users:*@shop-a", "clients:write@*"]);
    let (_, b_client) = app.owner_with_client("bruno", &["users:*@shop-b"], &["users:*@shop-b"]);
    let a = app.as_client(&a_client);
    let victim = app.create_account("shop-b", "victim", &[]);

    // Another namespace: refused by grant, before anything is looked up.
    let r = a.get(&format!("/api/v1/namespaces/shop-b/users/{victim}"));
    r.assert_problem(403);
    assert_eq!(r.json["missing_grant"], "users:read@shop-b");
    a.patch(&format!("/api/v1/namespaces/shop-b/users/{victim}"), &json!({ "name": "pwned" })).assert_problem(403);
    a.delete(&format!("/api/v1/namespaces/shop-b/users/{victim}")).assert_problem(403);
    a.put(&format!("/api/v1/namespaces/shop-b/users/{victim}/password"), &json!({ "password": "new password 123" }))
        .assert_problem(403);
    // The victim's id under a namespace the caller may read is simply not there.
    a.get(&format!("/api/v1/namespaces/shop-a/users/{victim}")).assert_problem(404);
    a.patch(&format!("/api/v1/namespaces/shop-a/users/{victim}"), &json!({ "name": "pwned" })).assert_problem(404);

    // Another owner's client: invisible, not rotatable, not deletable.
    for reply in [
        a.get(&format!("/api/v1/clients/{}", b_client.id)),
        a.post(&format!("/api/v1/clients/{}/secrets", b_client.id), &json!({})),
        a.delete(&format!("/api/v1/clients/{}", b_client.id)),
        a.patch(&format!("/api/v1/clients/{}", b_client.id), &json!({ "disabled": true })),
        a.get(&format!("/api/v1/clients/{}/effective-permissions", b_client.id)),
    ] {
        reply.assert_problem(404);
    }
    a.get("/api/v1/clients").assert_problem(403);
    let victim_view = app.admin().get(&format!("/api/v1/namespaces/shop-b/users/{victim}"));
    assert_eq!(victim_view.json["name"], json!(null), "nothing changed");
    assert_eq!(app.as_client(&b_client).get("/api/v1/me").status, 200, "b's secret was not rotated");
}

#[test]
fn owners_manage_their_own_clients() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let (bob, client) = app.owner_with_client(
        "bob",
        &["users:read@customers", "clients:write@*"],
        &["users:read@customers", "clients:write@*"],
    );
    let bob_api = app.as_client(&client);
    let other =
        bob_api.post("/api/v1/clients", &json!({ "name": "reporting", "permissions": ["users:read@customers"] }));
    assert_eq!(other.status, 201, "{}", other.text);
    assert_eq!(other.json["owner"]["account_id"], bob, "a client's creation is owned by its owner");
    let other_id = other.json["id"].as_str().unwrap().to_owned();

    let mine = bob_api.get("/api/v1/clients?owner=me");
    assert_eq!(mine.status, 200, "{}", mine.text);
    let ids: Vec<&str> = mine.json["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&other_id.as_str()) && ids.contains(&client.id.as_str()));
    assert!(mine.json["items"].as_array().unwrap().iter().all(|c| c.get("client_secret").is_none()));

    assert_eq!(bob_api.get(&format!("/api/v1/clients/{other_id}")).status, 200);
    let rotated =
        bob_api.post(&format!("/api/v1/clients/{other_id}/secrets"), &json!({ "previous_secret_expires_in": 0 }));
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let disabled = bob_api.patch(&format!("/api/v1/clients/{other_id}"), &json!({ "disabled": true }));
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.json["disabled"], true);
    assert_eq!(bob_api.delete(&format!("/api/v1/clients/{other_id}")).status, 204);
    bob_api.get(&format!("/api/v1/clients/{other_id}")).assert_problem(404);

    let events = bob_api.get(&format!("/api/v1/audit-events?target={other_id}"));
    assert_eq!(events.status, 200);
    let actions: Vec<&str> =
        events.json["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["client.create", "client.secret.rotate", "client.disable", "client.delete"] {
        assert!(actions.contains(&expected), "owner sees {expected} in {actions:?}");
    }
}

#[test]
fn a_client_cannot_mint_a_credential_for_a_wider_sibling() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let bob = app.create_account("system", "bob", &["users:*@customers", "clients:write@*"]);
    let narrow = app.create_client(&bob, &["users:read@customers"]);
    let wide = app.create_client(&bob, &["users:*@customers"]);
    let r = app.as_client(&narrow).post(&format!("/api/v1/clients/{}/secrets", wide.id), &json!({}));
    r.assert_problem(403);
    assert_eq!(r.json["missing_grant"], "users:write@customers");
    assert_eq!(app.as_client(&wide).get("/api/v1/me").status, 200, "the wide client's secret is unchanged");
}

#[test]
fn ownership_transfer_needs_both_grants_and_rebinds_the_client() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let (_, client) = app.owner_with_client("bob", &["users:*@customers"], &["users:*@customers"]);
    let carol = app.create_account("system", "carol", &["users:read@customers"]);

    // Managing all clients is not enough: the new owner's namespace needs permissions:write.
    let (_, helper) = app.owner_with_client("helper", &["clients:*@*"], &["clients:*@*"]);
    let refused =
        app.as_client(&helper).patch(&format!("/api/v1/clients/{}", client.id), &json!({ "owner_account_id": carol }));
    refused.assert_problem(403);
    assert_eq!(refused.json["missing_grant"], "permissions:write@system");

    let moved = app.admin().patch(&format!("/api/v1/clients/{}", client.id), &json!({ "owner_account_id": carol }));
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.json["owner"]["account_id"], carol);
    assert_eq!(moved.json["effective_permissions"], json!(["users:read@customers"]));
    let write = app.as_client(&client).post("/api/v1/namespaces/customers/users", &json!({ "username": "x1" }));
    write.assert_problem(403);

    let events = app.admin().get(&format!("/api/v1/audit-events?target={}&action=client.owner.transfer", client.id));
    assert_eq!(events.json["items"].as_array().unwrap().len(), 1, "{}", events.text);
}

#[test]
fn creating_a_client_for_another_owner_needs_permissions_write_there() {
    let app = TestApp::start();
    app.create_namespace("staff");
    let staff_member = app.create_account("staff", "sam", &["users:read@staff"]);
    let (_, creator) = app.owner_with_client(
        "bob",
        &["clients:write@*", "users:read@staff"],
        &["clients:write@*", "users:read@staff"],
    );
    let r = app.as_client(&creator).post(
        "/api/v1/clients",
        &json!({ "name": "for sam", "permissions": ["users:read@staff"], "owner_account_id": staff_member }),
    );
    r.assert_problem(403);
    assert_eq!(r.json["missing_grant"], "permissions:write@staff");
}
