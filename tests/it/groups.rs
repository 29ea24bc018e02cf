//! Groups (issue 17): every endpoint, and what an account holds through them: a member's
//! clients, tokens and console session act with the group's grants from their next request, on
//! every replica, and lose them as soon as the membership or the grant goes. Nobody empowers a
//! group, or a member through a group, beyond what it holds itself.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Api, ClientCreds, Reply, TestApp};

pub(crate) fn put_member(api: &Api, ns: &str, group: &str, account: &str) -> Reply {
    api.send(api.request(Method::PUT, &format!("/api/v1/namespaces/{ns}/groups/{group}/members/{account}")))
}

pub(crate) fn delete_member(api: &Api, ns: &str, group: &str, account: &str) -> Reply {
    api.delete(&format!("/api/v1/namespaces/{ns}/groups/{group}/members/{account}"))
}

fn strings(value: &Value) -> Vec<String> {
    let mut v: Vec<String> = value.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
    v.sort();
    v
}

#[test]
fn groups_are_created_read_renamed_listed_and_deleted_with_etags_and_audit_events() {
    let app = TestApp::start();
    app.create_namespace("shop");
    let admin = app.admin();

    let created = admin.post("/api/v1/namespaces/shop/groups", &json!({ "name": "Support", "description": "Tier 1" }));
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/namespaces/shop/groups/{id}");
    assert_eq!(created.header("location"), Some(path.as_str()));
    assert_eq!(created.header("etag"), Some("\"1\""), "a 201 carries the new resource's ETag");
    assert_eq!(created.json["namespace"], "shop");
    assert_eq!(created.json["description"], "Tier 1");

    let got = admin.get(&path);
    assert_eq!(got.status, 200);
    assert_eq!(got.header("etag"), Some("\"1\""));
    assert_eq!(got.json, created.json);

    // The name is unique in the namespace; bad input changes nothing.
    admin.post("/api/v1/namespaces/shop/groups", &json!({ "name": "Support" })).assert_problem(409);
    let bad = admin.post("/api/v1/namespaces/shop/groups", &json!({ "name": "" }));
    bad.assert_problem(400);
    assert_eq!(bad.error_fields(), vec!["name"]);
    admin.post("/api/v1/namespaces/shop/groups", &json!({ "name": "x", "grants": [] })).assert_problem(400);
    admin.post("/api/v1/namespaces/nowhere/groups", &json!({ "name": "x" })).assert_problem(404);
    // A group is found in its own namespace only.
    app.create_namespace("other");
    admin.get(&format!("/api/v1/namespaces/other/groups/{id}")).assert_problem(404);

    // If-Match: a stale ETag is 412 and changes nothing; the current one works.
    let stale = admin.send(admin.request(Method::PATCH, &path).header("if-match", "\"7\"").json(&json!({"name": "x"})));
    stale.assert_problem(412);
    let renamed = admin.send(
        admin
            .request(Method::PATCH, &path)
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Helpdesk", "description": null})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.header("etag"), Some("\"2\""));
    assert_eq!((renamed.json["name"].as_str(), renamed.json["description"].is_null()), (Some("Helpdesk"), true));

    // Keyset paging.
    for name in ["b", "c"] {
        assert_eq!(admin.post("/api/v1/namespaces/shop/groups", &json!({ "name": name })).status, 201);
    }
    let first = admin.get("/api/v1/namespaces/shop/groups?page_size=2");
    assert_eq!(first.json["items"].as_array().unwrap().len(), 2);
    let token = first.json["next_page_token"].as_str().expect("a next page").to_owned();
    let second = admin.get(&format!("/api/v1/namespaces/shop/groups?page_size=2&page_token={token}"));
    assert_eq!(second.json["items"].as_array().unwrap().len(), 1);
    assert!(second.json["next_page_token"].is_null());
    assert_eq!(first.json["items"][0]["id"], id.as_str(), "creation order");

    // A namespace holding groups is not deleted from under them.
    admin.delete("/api/v1/namespaces/other").status.eq(&204).then_some(()).expect("an empty namespace goes");
    admin.delete("/api/v1/namespaces/shop").assert_problem(409);

    let deleted = admin.send(admin.request(Method::DELETE, &path).header("if-match", "\"2\""));
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    admin.get(&path).assert_problem(404);

    let events = admin.get(&format!("/api/v1/audit-events?target={id}"));
    assert_eq!(events.status, 200, "{}", events.text);
    let actions: Vec<&str> =
        events.json["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["group.create", "group.update", "group.delete"] {
        assert!(actions.contains(&action), "{action} is audited: {actions:?}");
    }
    let update = events.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "group.update" && e["outcome"] == "success")
        .unwrap();
    assert_eq!(update["changes"]["before"]["name"], "Support", "{update}");
    assert_eq!(update["changes"]["after"]["name"], "Helpdesk", "{update}");
}

#[test]
fn every_create_answers_with_the_new_resources_etag_also_when_replayed() {
    let app = TestApp::start();
    let admin = app.admin();
    let namespace = admin.post("/api/v1/namespaces", &json!({ "slug": "etags", "display_name": "E" }));
    assert_eq!((namespace.status, namespace.header("etag")), (201, Some("\"1\"")), "{}", namespace.text);
    let send = || {
        admin.send(
            admin
                .request(Method::POST, "/api/v1/namespaces/etags/users")
                .header("idempotency-key", "create-once")
                .json(&json!({ "username": "tagged" })),
        )
    };
    let user = send();
    assert_eq!((user.status, user.header("etag")), (201, Some("\"1\"")), "{}", user.text);
    let replay = send();
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.header("etag"), Some("\"1\""), "a replay carries the ETag too");
    let client = admin.post("/api/v1/clients", &json!({ "name": "tagged", "permissions": [] }));
    assert_eq!((client.status, client.header("etag")), (201, Some("\"1\"")), "{}", client.text);
    // The ETag is the one a GET answers, good for If-Match.
    let id = user.json["id"].as_str().unwrap();
    let path = format!("/api/v1/namespaces/etags/users/{id}");
    let patched = admin.send(
        admin
            .request(Method::PATCH, &path)
            .header("if-match", user.header("etag").unwrap())
            .json(&json!({"name": "T"})),
    );
    assert_eq!(patched.status, 200, "{}", patched.text);
}

#[test]
fn group_grants_and_members_are_set_paged_listed_and_audited() {
    let app = TestApp::start();
    app.create_namespace("shop");
    app.create_namespace("staff");
    let admin = app.admin();
    let group = app.create_group("shop", "readers", &[]);
    let path = format!("/api/v1/namespaces/shop/groups/{group}");

    let set =
        admin.put(&format!("{path}/permissions"), &json!({ "permissions": ["users:read@shop", "users:read@shop"] }));
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json["permissions"], json!(["users:read@shop"]));
    assert_eq!(set.header("etag"), Some("\"2\""));
    let got = admin.get(&format!("{path}/permissions"));
    assert_eq!((got.status, got.json["permissions"].clone()), (200, json!(["users:read@shop"])));
    let stale = admin.send(
        admin
            .request(Method::PUT, &format!("{path}/permissions"))
            .header("if-match", "\"1\"")
            .json(&json!({"permissions": []})),
    );
    stale.assert_problem(412);
    admin.put(&format!("{path}/permissions"), &json!({ "permissions": ["users:fly@shop"] })).assert_problem(400);

    // Members of any namespace; adding twice changes nothing.
    let members: Vec<String> = (0..3).map(|i| app.create_account("staff", &format!("m{i}"), &[])).collect();
    for m in &members {
        assert_eq!(put_member(&admin, "shop", &group, m).status, 204);
    }
    assert_eq!(put_member(&admin, "shop", &group, &members[0]).status, 204);
    put_member(&admin, "shop", &group, "01939a7e-0000-7000-8000-000000000000").assert_problem(404);
    let page = admin.get(&format!("{path}/members?page_size=2"));
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["items"].as_array().unwrap().len(), 2);
    assert_eq!(page.json["items"][0]["namespace"], "staff");
    assert_eq!(page.json["items"][0]["username"], "m0");
    let token = page.json["next_page_token"].as_str().unwrap();
    let rest = admin.get(&format!("{path}/members?page_size=2&page_token={token}"));
    assert_eq!(rest.json["items"].as_array().unwrap().len(), 1);
    assert!(rest.json["next_page_token"].is_null());

    // An account's groups.
    let of = admin.get(&format!("/api/v1/namespaces/staff/users/{}/groups", members[1]));
    assert_eq!(of.status, 200, "{}", of.text);
    assert_eq!(of.json["items"], json!([{ "group_id": group, "namespace": "shop", "name": "readers" }]));
    admin.get(&format!("/api/v1/namespaces/shop/users/{}/groups", members[1])).assert_problem(404);

    assert_eq!(delete_member(&admin, "shop", &group, &members[1]).status, 204);
    delete_member(&admin, "shop", &group, &members[1]).assert_problem(404);
    let of = admin.get(&format!("/api/v1/namespaces/staff/users/{}/groups", members[1]));
    assert_eq!(of.json["items"], json!([]));

    // A deleted account leaves its groups.
    assert_eq!(admin.delete(&format!("/api/v1/namespaces/staff/users/{}", members[2])).status, 204);
    let left = admin.get(&format!("{path}/members"));
    let ids: Vec<&str> =
        left.json["items"].as_array().unwrap().iter().map(|m| m["account_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![members[0].as_str()]);

    let events = admin.get(&format!("/api/v1/audit-events?target={group}"));
    let items = events.json["items"].as_array().unwrap();
    let find = |action: &str| {
        items
            .iter()
            .find(|e| e["action"] == action && e["outcome"] == "success")
            .unwrap_or_else(|| panic!("{action}: {items:?}"))
    };
    assert_eq!(find("group.permissions.set")["changes"]["after"]["permissions"], json!(["users:read@shop"]));
    let added = find("group.member.add");
    assert_eq!(added["changes"]["after"]["member"], true, "{added}");
    assert!(added["changes"]["after"]["account_id"].is_string(), "{added}");
    let removed = find("group.member.remove");
    assert_eq!(
        (removed["changes"]["before"]["member"].clone(), removed["changes"]["after"]["member"].clone()),
        (json!(true), json!(false))
    );
}

#[test]
fn a_members_clients_hold_the_groups_grants_until_the_membership_or_the_grant_goes() {
    let app = TestApp::start();
    app.create_namespace("shop");
    let (owner, creds) = app.owner_with_client("owner", &[], &["users:*@shop"]);
    let client = app.as_client(&creds);
    let users = "/api/v1/namespaces/shop/users";
    client.get(users).assert_problem(403);

    let group = app.create_group("shop", "shop readers", &["users:read@shop"]);
    app.add_member("shop", &group, &owner);
    assert_eq!(client.get(users).status, 200, "the next request holds the group's grant");
    client.post(users, &json!({ "username": "nope" })).assert_problem(403);

    // Where each of the owner's grants comes from.
    let effective = app.admin().get(&format!("/api/v1/clients/{}/effective-permissions", creds.id));
    assert_eq!(effective.status, 200, "{}", effective.text);
    assert_eq!(effective.json["owner"], json!(["users:read@shop"]));
    assert_eq!(effective.json["effective"], json!(["users:read@shop"]));
    assert_eq!(
        effective.json["owner_sources"],
        json!([{ "grant": "users:read@shop", "via": { "group": group, "name": "shop readers" } }])
    );
    assert_eq!(effective.json["dropped"][0]["grant"], "users:*@shop", "{}", effective.text);
    app.set_grants("system", &owner, &["audit:read@*"]);
    let effective = app.admin().get(&format!("/api/v1/clients/{}/effective-permissions", creds.id));
    assert_eq!(effective.json["owner_sources"][0], json!({ "grant": "audit:read@*", "via": "direct" }));
    let me = client.get("/api/v1/me");
    assert_eq!(me.json["effective_permissions"], json!(["users:read@shop"]));

    // A grant taken from the group: gone at the next request.
    let grants = format!("/api/v1/namespaces/shop/groups/{group}/permissions");
    assert_eq!(app.admin().put(&grants, &json!({ "permissions": [] })).status, 200);
    client.get(users).assert_problem(403);
    assert_eq!(app.admin().put(&grants, &json!({ "permissions": ["users:read@shop"] })).status, 200);
    assert_eq!(client.get(users).status, 200);

    // The membership removed: gone at the next request.
    assert_eq!(delete_member(&app.admin(), "shop", &group, &owner).status, 204);
    client.get(users).assert_problem(403);
    app.add_member("shop", &group, &owner);
    assert_eq!(client.get(users).status, 200);

    // The group deleted: gone too.
    assert_eq!(app.admin().delete(&format!("/api/v1/namespaces/shop/groups/{group}")).status, 204);
    client.get(users).assert_problem(403);
}

#[test]
fn a_membership_removed_on_one_replica_is_enforced_by_the_other_at_once() {
    let app = TestApp::start();
    let b = app.replica();
    app.create_namespace("shop");
    let (owner, creds) = app.owner_with_client("owner", &[], &["users:read@shop"]);
    let group = app.create_group("shop", "readers", &["users:read@shop"]);
    app.add_member("shop", &group, &owner);
    // B verifies (and remembers) the secret first.
    assert_eq!(b.as_client(&creds).get("/api/v1/namespaces/shop/users").status, 200);
    assert_eq!(delete_member(&app.admin(), "shop", &group, &owner).status, 204);
    b.as_client(&creds).get("/api/v1/namespaces/shop/users").assert_problem(403);
    app.add_member("shop", &group, &owner);
    assert_eq!(b.as_client(&creds).get("/api/v1/namespaces/shop/users").status, 200);
    let grants = format!("/api/v1/namespaces/shop/groups/{group}/permissions");
    assert_eq!(app.admin().put(&grants, &json!({ "permissions": [] })).status, 200);
    b.as_client(&creds).get("/api/v1/namespaces/shop/users").assert_problem(403);
}

#[test]
fn user_tokens_carry_group_grants_at_each_request() {
    let app = TestApp::start();
    app.create_namespace("shop");
    let user = app.create_account("system", "reader", &[]);
    let set = app.admin().put(
        &format!("/api/v1/namespaces/system/users/{user}/password"),
        &json!({ "password": "the reader's long password" }),
    );
    assert_eq!(set.status, 204, "{}", set.text);
    let group = app.create_group("shop", "readers", &["users:read@shop"]);
    let login = app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "cli", "permissions": ["users:read@shop"], "password_grant_enabled": true, "user_namespace": "system" }),
    );
    assert_eq!(login.status, 201, "{}", login.text);
    let login: ClientCreds = crate::support::creds_of(&login.json);
    let token = |scope: &str| {
        let anon = app.anonymous();
        anon.send(anon.request(Method::POST, "/oauth/token").basic_auth(&login.client_id, Some(&login.secret)).form(&[
            ("grant_type", "password"),
            ("username", "reader"),
            ("password", "the reader's long password"),
            ("scope", scope),
        ]))
    };
    // Without the group, the account may not ask for the grant.
    assert_eq!(token("users:read@shop").status, 400);
    app.add_member("shop", &group, &user);
    let issued = token("users:read@shop");
    assert_eq!(issued.status, 200, "{}", issued.text);
    let bearer = app.anonymous().with_bearer(issued.json["access_token"].as_str().unwrap());
    assert_eq!(bearer.get("/api/v1/namespaces/shop/users").status, 200);
    assert_eq!(delete_member(&app.admin(), "shop", &group, &user).status, 204);
    bearer.get("/api/v1/namespaces/shop/users").assert_problem(403);
}

#[test]
fn membership_is_no_oracle_for_accounts_of_namespaces_the_caller_may_not_read() {
    let app = TestApp::start();
    app.create_namespace("shop");
    app.create_namespace("vault");
    let hidden = app.create_account("vault", "hidden", &[]);
    let (_, creds) = app.owner_with_client(
        "manager",
        &["permissions:*@shop", "users:read@shop"],
        &["permissions:*@shop", "users:read@shop"],
    );
    let m = app.as_client(&creds);
    let group = app.create_group("shop", "open", &[]);
    let existing = put_member(&m, "shop", &group, &hidden);
    let missing = put_member(&m, "shop", &group, "01939a7e-0000-7000-8000-000000000000");
    existing.assert_problem(404);
    missing.assert_problem(404);
    let detail = |r: &Reply, id: &str| r.json["detail"].as_str().unwrap().replace(id, "<id>");
    assert_eq!(detail(&existing, &hidden), detail(&missing, "01939a7e-0000-7000-8000-000000000000"));
    delete_member(&m, "shop", &group, &hidden).assert_problem(404);

    // Listed members of namespaces the caller may not read show no username; groups of other
    // namespaces show no name.
    app.add_member("shop", &group, &hidden);
    let listed = m.get(&format!("/api/v1/namespaces/shop/groups/{group}/members"));
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["items"][0]["namespace"], "vault");
    assert!(listed.json["items"][0]["username"].is_null(), "{}", listed.text);
    let shown = strings(&json!([
        app.admin().get(&format!("/api/v1/namespaces/shop/groups/{group}/members")).json["items"][0]["username"]
    ]));
    assert_eq!(shown, vec!["hidden"]);
}
