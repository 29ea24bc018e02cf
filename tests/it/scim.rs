//! SCIM 2.0 provisioning (issue 17, ADR 0018): scim2-tester and scim2-client (independent
//! implementations, PyPI) against a running server, the requests Entra ID and Okta send, and
//! what no directory may do: create without `users:write`, give a member grants it does not
//! hold through a group, or reach another namespace through the path.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Api, ClientCreds, Reply, TestApp};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A client_credentials access token of `creds`.
fn token(app: &TestApp, creds: &ClientCreds) -> String {
    let api = app.anonymous();
    let reply = api.send(
        api.request(Method::POST, "/oauth/token")
            .basic_auth(&creds.client_id, Some(&creds.secret))
            .form(&[("grant_type", "client_credentials")]),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["access_token"].as_str().unwrap().to_owned()
}

fn scim(api: &Api, method: Method, path: &str, body: Option<&Value>) -> Reply {
    let mut request = api.request(method, path);
    if let Some(body) = body {
        request = request.header("content-type", "application/scim+json").body(body.to_string());
    }
    api.send(request)
}

fn assert_scim_error(reply: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/scim+json"), "{}", reply.text);
    assert_eq!(reply.json["schemas"], json!([ERROR]), "{}", reply.text);
    assert_eq!(reply.json["status"], status.to_string(), "{}", reply.text);
    if let Some(scim_type) = scim_type {
        assert_eq!(reply.json["scimType"], scim_type, "{}", reply.text);
    }
}

fn python(script: &str, args: &[&str]) -> (bool, String) {
    let path = format!("{}/../tests/it/support/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3").arg(path).args(args).output().expect("python3 runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let events = app.admin().get(&format!("/api/v1/audit-events?{query}"));
    assert_eq!(events.status, 200, "{}", events.text);
    events.json["items"].as_array().unwrap().clone()
}

#[test]
fn scim2_tester_finds_no_failure_with_a_client_credentials_token() {
    let app = TestApp::start();
    app.create_namespace("hr");
    let bearer = token(&app, &app.admin_client);
    let base = format!("{}/scim/v2/hr", app.base);
    let (ok, output) = python("scim_check.py", &[&base, &bearer]);
    println!("{output}");
    assert!(ok, "scim2-tester reported failures:\n{output}");
    let summary = output.lines().find(|l| l.starts_with("scim2-tester:")).expect("a summary line");
    assert!(summary.contains("SUCCESS=") && !summary.contains("ERROR=") && !summary.contains("CRITICAL="), "{summary}");
}

#[test]
fn scim2_client_provisions_finds_deactivates_and_removes_a_member() {
    let app = TestApp::start();
    app.create_namespace("hr");
    let bearer = token(&app, &app.admin_client);
    let base = format!("{}/scim/v2/hr", app.base);
    let (ok, output) = python("scim_client.py", &[&base, &bearer, "ada", "ext-ada-1"]);
    assert!(ok, "scim2-client failed:\n{output}");
    let seen: Value = serde_json::from_str(output.lines().last().unwrap()).unwrap();
    assert_eq!(seen["department"], "Engines");
    assert_eq!(seen["active_after_patch"], false);
    assert_eq!(seen["members_after_patch"], json!([]));
    // The Management API sees the same account: disabled, its attribute, no group.
    let id = seen["user_id"].as_str().unwrap();
    let account = app.admin().get(&format!("/api/v1/namespaces/hr/users/{id}"));
    assert_eq!(account.status, 200, "{}", account.text);
    assert_eq!((account.json["username"].as_str(), account.json["disabled"].as_bool()), (Some("ada"), Some(true)));
    assert_eq!(account.json["attributes"]["department"], "Engines");
    assert_eq!(account.json["email"], "ada@example.com");
    let groups = app.admin().get(&format!("/api/v1/namespaces/hr/users/{id}/groups"));
    assert_eq!(groups.json["items"], json!([]), "{}", groups.text);
}

#[test]
fn entra_and_okta_requests_provision_find_disable_and_manage_membership() {
    let app = TestApp::start();
    app.create_namespace("hr");
    let api = app.admin().with_bearer(&token(&app, &app.admin_client));

    // Entra ID: create with externalId and the user principal name as userName.
    let created = scim(
        &api,
        Method::POST,
        "/scim/v2/hr/Users",
        Some(&json!({
            "schemas": [USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee@contoso.com",
            "active": true,
            "displayName": "Test User",
            "emails": [{ "primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com" }],
            "name": { "formatted": "Test User", "familyName": "User", "givenName": "Test" },
            "title": "Engineer",
            ENTERPRISE: { "department": "R&D", "employeeNumber": "42", "manager": { "value": "m-7" } }
        })),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("content-type"), Some("application/scim+json"));
    let id = created.json["id"].as_str().unwrap().to_owned();
    let location = format!("{}/scim/v2/hr/Users/{id}", app.base);
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.json["meta"]["location"], location.as_str());
    assert_eq!(created.json["meta"]["resourceType"], "User");
    assert_eq!(created.json["meta"]["version"], "W/\"1\"");
    assert_eq!(created.header("etag"), Some("W/\"1\""));
    assert_eq!(created.json["userName"], "Test_User_ab6490ee@contoso.com");
    assert_eq!(created.json["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    assert_eq!(created.json["emails"][0]["value"], "Test_User_fd0ea19b@contoso.com");
    assert_eq!(created.json[ENTERPRISE]["manager"], json!({ "value": "m-7" }));
    assert_eq!(created.json["title"], "Engineer");

    // The same userName again is a uniqueness conflict.
    let again = scim(
        &api,
        Method::POST,
        "/scim/v2/hr/Users",
        Some(&json!({ "schemas": [USER], "userName": "test_user_ab6490ee@contoso.com" })),
    );
    assert_scim_error(&again, 409, Some("uniqueness"));

    // Entra's and Okta's lookups.
    let filter = "/scim/v2/hr/Users?filter=userName%20eq%20%22Test_User_ab6490ee%40contoso.com%22";
    let found = scim(&api, Method::GET, filter, None);
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.json["totalResults"], 1, "{}", found.text);
    assert_eq!(found.json["Resources"][0]["id"], id.as_str());
    let okta =
        scim(&api, Method::GET, "/scim/v2/hr/Users?filter=userName%20eq%20%22nobody%22&startIndex=1&count=100", None);
    assert_eq!(
        (okta.json["totalResults"].as_u64(), okta.json["Resources"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    let by_external = scim(
        &api,
        Method::GET,
        "/scim/v2/hr/Users?filter=externalId%20eq%20%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22%20and%20emails%5Btype%20eq%20%22work%22%5D&attributes=userName",
        None,
    );
    assert_eq!(
        by_external.json["Resources"],
        json!([{ "id": id, "schemas": [USER, ENTERPRISE], "userName": "Test_User_ab6490ee@contoso.com" }])
    );
    let bad = scim(&api, Method::GET, "/scim/v2/hr/Users?filter=userName%20eq", None);
    assert_scim_error(&bad, 400, Some("invalidFilter"));

    // Entra's PATCH: Replace, a string boolean, a value filter path, the extension by URN.
    let user_path = format!("/scim/v2/hr/Users/{id}");
    let patched = scim(
        &api,
        Method::PATCH,
        &user_path,
        Some(&json!({
            "schemas": [PATCH_OP],
            "Operations": [
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updated@contoso.com" },
                { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales" },
                { "op": "Replace", "path": "active", "value": "False" }
            ]
        })),
    );
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["active"], false);
    assert_eq!(patched.json["emails"][0]["value"], "updated@contoso.com");
    assert_eq!(patched.json[ENTERPRISE]["department"], "Sales");
    assert_eq!(patched.json["meta"]["version"], "W/\"2\"");
    // Disabled through SCIM as through the Management API: one user.update event, signed out.
    let events = audit(&app, &format!("target={id}&action=user.update"));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["changes"]["after"]["disabled"], true);
    assert!(events[0]["changes"]["signed_out"].is_object(), "{}", events[0]);
    assert_eq!(events[0]["actor"]["type"], "client");
    let created_events = audit(&app, &format!("target={id}&action=user.create"));
    assert_eq!(created_events[0]["changes"]["after"]["external_id"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");

    // If-Match: a stale version is 412 and changes nothing.
    let stale = api.send(
        api.request(Method::PATCH, &user_path)
            .header("if-match", "W/\"1\"")
            .header("content-type", "application/scim+json")
            .body(json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "displayName", "value": "x" }] }).to_string()),
    );
    assert_scim_error(&stale, 412, None);
    assert_eq!(scim(&api, Method::GET, &user_path, None).json["displayName"], "Test User");

    // Okta: a second user, then group membership by PATCH with a members[value eq] path.
    let second = scim(
        &api,
        Method::POST,
        "/scim/v2/hr/Users",
        Some(&json!({ "schemas": [USER], "userName": "okta.user", "active": true })),
    );
    assert_eq!(second.status, 201, "{}", second.text);
    let second_id = second.json["id"].as_str().unwrap().to_owned();
    let group = scim(
        &api,
        Method::POST,
        "/scim/v2/hr/Groups",
        Some(
            &json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "externalId": "g-1", "members": [] }),
        ),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let group_id = group.json["id"].as_str().unwrap().to_owned();
    let group_path = format!("/scim/v2/hr/Groups/{group_id}");
    let added = scim(
        &api,
        Method::PATCH,
        &group_path,
        Some(
            &json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": id }, { "value": second_id }] }] }),
        ),
    );
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.json["members"].as_array().unwrap().len(), 2, "{}", added.text);
    let removed = scim(
        &api,
        Method::PATCH,
        &group_path,
        Some(
            &json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "remove", "path": format!("members[value eq \"{id}\"]") }] }),
        ),
    );
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(
        removed.json["members"],
        json!([{ "value": second_id, "type": "User", "$ref": format!("{}/scim/v2/hr/Users/{second_id}", app.base) }])
    );
    // Entra removes with a value list; renames with a path-less replace.
    let entra = scim(
        &api,
        Method::PATCH,
        &group_path,
        Some(&json!({ "schemas": [PATCH_OP], "Operations": [
            { "op": "Remove", "path": "members", "value": [{ "value": second_id }] },
            { "op": "Replace", "value": { "displayName": "Engineering EU" } }
        ] })),
    );
    assert_eq!(entra.status, 200, "{}", entra.text);
    assert!(entra.json.get("members").is_none(), "{}", entra.text);
    assert_eq!(entra.json["displayName"], "Engineering EU");
    let adds = audit(&app, &format!("target={group_id}&action=group.member.add"));
    let removes = audit(&app, &format!("target={group_id}&action=group.member.remove"));
    assert_eq!((adds.len(), removes.len()), (2, 2), "every membership change is the domain's audit event");

    // DELETE, then the account is gone for SCIM and the Management API alike.
    let deleted = scim(&api, Method::DELETE, &user_path, None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_scim_error(&scim(&api, Method::GET, &user_path, None), 404, None);
    assert_eq!(app.admin().get(&format!("/api/v1/namespaces/hr/users/{id}")).status, 404);
    assert_eq!(audit(&app, &format!("target={id}&action=user.delete")).len(), 1);
}

#[test]
fn no_directory_does_more_than_its_owner_holds_or_leaves_its_namespace() {
    let app = TestApp::start();
    app.create_namespace("hr");
    app.create_namespace("other");
    let stranger = app.create_account("other", "stranger", &[]);
    let colleague = app.create_account("hr", "colleague", &[]);

    // Unauthenticated: 401 with a challenge, as a SCIM error.
    let anonymous = scim(&app.anonymous(), Method::GET, "/scim/v2/hr/Users", None);
    assert_scim_error(&anonymous, 401, None);
    assert!(anonymous.header("www-authenticate").is_some());

    // A client whose owner only reads cannot create, whatever the client itself holds.
    let (_, reader) = app.owner_with_client("reader", &["users:read@hr"], &["users:*@hr"]);
    let api = app.as_client(&reader);
    assert_eq!(scim(&api, Method::GET, "/scim/v2/hr/Users", None).status, 200);
    let refused =
        scim(&api, Method::POST, "/scim/v2/hr/Users", Some(&json!({ "schemas": [USER], "userName": "intruder" })));
    assert_scim_error(&refused, 403, None);
    assert!(refused.json["detail"].as_str().unwrap().contains("users:write@hr"), "{}", refused.text);
    let none = scim(&app.admin(), Method::GET, "/scim/v2/hr/Users?filter=userName%20eq%20%22intruder%22", None);
    assert_eq!(none.json["totalResults"], 0, "a refused create creates nothing");
    let denied = audit(&app, "action=user.create&outcome=denied");
    assert_eq!(denied.len(), 1, "the refusal is on record: {denied:?}");
    // The same with a Bearer token of that client.
    let bearer = app.anonymous().with_bearer(&token(&app, &reader));
    let refused =
        scim(&bearer, Method::POST, "/scim/v2/hr/Users", Some(&json!({ "schemas": [USER], "userName": "intruder" })));
    assert_scim_error(&refused, 403, None);

    // The path's namespace is checked like any other: no reach into `other`.
    let writer_grants = ["users:*@hr", "permissions:write@hr"];
    let (_, writer) = app.owner_with_client("writer", &writer_grants, &writer_grants);
    let api = app.as_client(&writer);
    assert_scim_error(&scim(&api, Method::GET, "/scim/v2/other/Users", None), 403, None);
    assert_scim_error(&scim(&api, Method::GET, &format!("/scim/v2/other/Users/{stranger}"), None), 403, None);
    assert_scim_error(&scim(&api, Method::GET, &format!("/scim/v2/hr/Users/{stranger}"), None), 404, None);
    assert_scim_error(&scim(&api, Method::DELETE, &format!("/scim/v2/hr/Users/{stranger}"), None), 404, None);
    assert_scim_error(&scim(&api, Method::GET, "/scim/v2/other/ServiceProviderConfig", None), 403, None);
    assert_scim_error(&scim(&api, Method::GET, "/scim/v2/hr/Users/..%2Fother", None), 404, None);

    // A group carrying a grant the writer does not hold: no member gets it through SCIM.
    let powerful = app.create_group("hr", "auditors", &["audit:read@*"]);
    let path = format!("/scim/v2/hr/Groups/{powerful}");
    let add = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": colleague }] }] });
    assert_scim_error(&scim(&api, Method::PATCH, &path, Some(&add)), 403, None);
    let put = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "auditors", "members": [{ "value": colleague }] });
    assert_scim_error(&scim(&api, Method::PUT, &path, Some(&put)), 403, None);
    let members = app.admin().get(&format!("/api/v1/namespaces/hr/groups/{powerful}/members"));
    assert_eq!(members.json["items"], json!([]), "{}", members.text);
    // A group it creates may hold what it holds, and no account of a namespace it cannot read.
    let own = scim(
        &api,
        Method::POST,
        "/scim/v2/hr/Groups",
        Some(
            &json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "mine", "members": [{ "value": stranger }] }),
        ),
    );
    assert_scim_error(&own, 400, Some("invalidValue"));
    let groups = app.admin().get("/api/v1/namespaces/hr/groups");
    assert_eq!(groups.json["items"].as_array().unwrap().len(), 1, "a refused create rolls back: {}", groups.text);
    // Disabling an account that holds more than the writer is refused too (the domain's rule).
    let admin_like = app.create_account("hr", "boss", &["audit:read@*"]);
    let disable =
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "active", "value": false }] });
    assert_scim_error(
        &scim(&api, Method::PATCH, &format!("/scim/v2/hr/Users/{admin_like}"), Some(&disable)),
        403,
        None,
    );
}

#[test]
fn each_scim_endpoint_needs_its_grant() {
    let app = TestApp::start();
    app.create_namespace("hr");
    let member = app.create_account("hr", "member", &[]);
    let group = app.create_group("hr", "team", &[]);
    let user_body = json!({ "schemas": [USER], "userName": "someone" });
    let group_body = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "team2" });
    let patch =
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "displayName", "value": "x" }] });
    let members = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": member }] }] });
    let user = format!("/scim/v2/hr/Users/{member}");
    let grp = format!("/scim/v2/hr/Groups/{group}");
    // (method, path, body, the grant it needs beyond the others)
    let cases: Vec<(Method, String, Option<Value>, &str)> = vec![
        (Method::GET, "/scim/v2/hr/ServiceProviderConfig".into(), None, "users:read@hr"),
        (Method::GET, "/scim/v2/hr/Schemas".into(), None, "users:read@hr"),
        (Method::GET, "/scim/v2/hr/ResourceTypes".into(), None, "users:read@hr"),
        (Method::GET, "/scim/v2/hr/Users".into(), None, "users:read@hr"),
        (
            Method::POST,
            "/scim/v2/hr/Users/.search".into(),
            Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"] })),
            "users:read@hr",
        ),
        (Method::GET, user.clone(), None, "users:read@hr"),
        (Method::POST, "/scim/v2/hr/Users".into(), Some(user_body), "users:write@hr"),
        (Method::PATCH, user.clone(), Some(patch.clone()), "users:write@hr"),
        (Method::GET, "/scim/v2/hr/Groups".into(), None, "users:read@hr"),
        (Method::GET, grp.clone(), None, "users:read@hr"),
        (Method::POST, "/scim/v2/hr/Groups".into(), Some(group_body), "users:write@hr"),
        (Method::PATCH, grp.clone(), Some(patch), "users:write@hr"),
        (Method::PATCH, grp.clone(), Some(members), "permissions:write@hr"),
    ];
    let all = ["users:read@hr", "users:write@hr", "permissions:write@hr"];
    for (method, path, body, needed) in cases {
        let without: Vec<&str> = all
            .iter()
            .copied()
            .filter(|g| *g != needed && !(needed == "users:read@hr" && *g == "users:write@hr"))
            .collect();
        let (_, lacking) = app.owner_with_client(&format!("lacks-{}", uuid::Uuid::new_v4().simple()), &without, &all);
        let refused = scim(&app.as_client(&lacking), method.clone(), &path, body.as_ref());
        assert_scim_error(&refused, 403, None);
        let (_, holding) = app.owner_with_client(&format!("holds-{}", uuid::Uuid::new_v4().simple()), &all, &all);
        let allowed = scim(&app.as_client(&holding), method.clone(), &path, body.as_ref());
        assert!(allowed.status < 300, "{method} {path} with every grant: {} {}", allowed.status, allowed.text);
    }
}

#[test]
fn bulk_resolves_bulk_ids_and_stops_after_fail_on_errors() {
    let app = TestApp::start();
    app.create_namespace("hr");
    let api = app.admin().with_bearer(&token(&app, &app.admin_client));
    let config = scim(&api, Method::GET, "/scim/v2/hr/ServiceProviderConfig", None);
    assert_eq!(config.json["bulk"]["supported"], true, "{}", config.text);
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [
            { "method": "POST", "path": "/Users", "bulkId": "u1", "data": { "schemas": [USER], "userName": "bulk.one" } },
            { "method": "POST", "path": "/Groups", "bulkId": "g1", "data": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "bulk team",
                "members": [{ "value": "bulkId:u1" }] } },
            { "method": "PATCH", "path": "/Users/bulkId:u1", "data": {
                "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "active", "value": false }] } },
            { "method": "POST", "path": "/Users", "bulkId": "dup", "data": { "schemas": [USER], "userName": "BULK.ONE" } },
            { "method": "POST", "path": "/Users", "bulkId": "never", "data": { "schemas": [USER], "userName": "never" } }
        ]
    });
    let reply = scim(&api, Method::POST, "/scim/v2/hr/Bulk", Some(&bulk));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let ops = reply.json["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "200", "409"], "stops after the first error: {}", reply.text);
    assert_eq!(ops[3]["response"]["scimType"], "uniqueness");
    let user = scim(&api, Method::GET, ops[0]["location"].as_str().unwrap().trim_start_matches(&app.base), None);
    assert_eq!(user.json["active"], false, "{}", user.text);
    let group = scim(&api, Method::GET, ops[1]["location"].as_str().unwrap().trim_start_matches(&app.base), None);
    assert_eq!(group.json["members"][0]["value"], user.json["id"], "bulkId:u1 was the created user");
    let never = scim(&api, Method::GET, "/scim/v2/hr/Users?filter=userName%20eq%20%22never%22", None);
    assert_eq!(never.json["totalResults"], 0);
    // Each operation is bound like its own request: a reader's bulk creates nothing.
    let (_, reader) = app.owner_with_client("bulk-reader", &["users:read@hr"], &["users:*@hr"]);
    let refused = scim(
        &app.as_client(&reader),
        Method::POST,
        "/scim/v2/hr/Bulk",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{ "method": "POST", "path": "/Users", "bulkId": "x", "data": { "schemas": [USER], "userName": "sneaky" } }]
        })),
    );
    assert_eq!(refused.status, 200, "{}", refused.text);
    assert_eq!(refused.json["Operations"][0]["status"], "403", "{}", refused.text);
    assert_eq!(
        scim(&api, Method::GET, "/scim/v2/hr/Users?filter=userName%20eq%20%22sneaky%22", None).json["totalResults"],
        0
    );
}

#[test]
fn a_users_groups_are_read_only_filterable_and_shown_as_the_caller_may_read_them() {
    let app = TestApp::start();
    app.create_namespace("hr");
    app.create_namespace("eng");
    let admin = app.admin();
    let create = |user_name: &str, external_id: &str| {
        let body = json!({ "schemas": [USER], "userName": user_name, "externalId": external_id });
        let created = scim(&admin, Method::POST, "/scim/v2/hr/Users", Some(&body));
        assert_eq!(created.status, 201, "{}", created.text);
        created.json["id"].as_str().unwrap().to_owned()
    };
    let alice = create("alice", "ext-alice");
    let bob = create("bob", "ext-bob");
    let ops = app.create_group("hr", "ops", &[]);
    let platform = app.create_group("eng", "platform", &[]);
    app.add_member("hr", &ops, &alice);
    app.add_member("eng", &platform, &alice);

    // The administrator reads both groups, each with its namespace's `$ref` and its name.
    let read = scim(&admin, Method::GET, &format!("/scim/v2/hr/Users/{alice}"), None);
    assert_eq!(read.status, 200, "{}", read.text);
    let mut groups = read.json["groups"].as_array().unwrap().clone();
    groups.sort_by_key(|g| g["display"].as_str().unwrap().to_owned());
    assert_eq!(
        groups,
        [
            json!({ "value": ops, "$ref": format!("{}/scim/v2/hr/Groups/{ops}", app.base), "display": "ops", "type": "direct" }),
            json!({ "value": platform, "$ref": format!("{}/scim/v2/eng/Groups/{platform}", app.base), "display": "platform", "type": "direct" }),
        ]
    );
    let version = read.json["meta"]["version"].clone();
    assert!(scim(&admin, Method::GET, &format!("/scim/v2/hr/Users/{bob}"), None).json.get("groups").is_none());

    // A directory that reads only `hr` sees that alice is in a group of `eng`, not its name.
    let (_, reader) = app.owner_with_client("hr-reader", &["users:read@hr"], &["users:read@hr"]);
    let seen = scim(&app.as_client(&reader), Method::GET, &format!("/scim/v2/hr/Users/{alice}"), None);
    let seen_groups = seen.json["groups"].as_array().unwrap();
    let other = seen_groups.iter().find(|g| g["value"] == platform.as_str()).unwrap();
    assert!(other.get("display").is_none(), "{other}");
    assert!(seen_groups.iter().any(|g| g["display"] == "ops"), "{}", seen.text);

    // Filterable and projected like any attribute.
    let ids = |reply: &Reply| -> Vec<String> {
        assert_eq!(reply.status, 200, "{}", reply.text);
        let mut ids: Vec<String> =
            reply.json["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    };
    let mut both = vec![alice.clone(), bob.clone()];
    both.sort();
    let by_group =
        scim(&admin, Method::GET, &format!("/scim/v2/hr/Users?filter=groups.value%20eq%20%22{ops}%22"), None);
    assert_eq!(ids(&by_group), [alice.as_str()]);
    let by_name = scim(&admin, Method::GET, "/scim/v2/hr/Users?filter=groups%5Bdisplay%20eq%20%22PLATFORM%22%5D", None);
    assert_eq!(ids(&by_name), [alice.as_str()]);
    let without = scim(&admin, Method::GET, "/scim/v2/hr/Users?filter=not%20(groups%20pr)", None);
    assert!(ids(&without).contains(&bob) && !ids(&without).contains(&alice), "{}", without.text);
    let projected = scim(&admin, Method::GET, &format!("/scim/v2/hr/Users/{alice}?excludedAttributes=groups"), None);
    assert!(projected.json.get("groups").is_none() && projected.json.get("userName").is_some(), "{}", projected.text);

    // Read-only: a PATCH that names it is refused and changes nothing; a PUT's copy is ignored.
    let user_path = format!("/scim/v2/hr/Users/{alice}");
    for operation in [
        json!({ "op": "add", "path": "groups", "value": [{ "value": bob }] }),
        json!({ "op": "remove", "path": format!("groups[value eq \"{ops}\"]") }),
        json!({ "op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:groups", "value": [] }),
        json!({ "op": "replace", "value": { "displayName": "Alice", "groups": [] } }),
    ] {
        let body = json!({ "schemas": [PATCH_OP], "Operations": [operation] });
        assert_scim_error(&scim(&admin, Method::PATCH, &user_path, Some(&body)), 400, Some("mutability"));
    }
    let after = scim(&admin, Method::GET, &user_path, None);
    assert_eq!(after.json["meta"]["version"], version, "a refused PATCH changes nothing");
    assert!(after.json.get("displayName").is_none());
    let put = json!({ "schemas": [USER], "userName": "alice", "externalId": "ext-alice", "groups": [] });
    let replaced = scim(&admin, Method::PUT, &user_path, Some(&put));
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.json["groups"].as_array().map(Vec::len), Some(2), "{}", replaced.text);
    let members = admin.get(&format!("/api/v1/namespaces/hr/groups/{ops}/members"));
    assert_eq!(members.json["items"].as_array().unwrap().len(), 1, "{}", members.text);

    // Lists read through indexes where the filter allows, with the same answers.
    let by_external = scim(&admin, Method::GET, "/scim/v2/hr/Users?filter=externalId%20eq%20%22ext-bob%22", None);
    assert_eq!(ids(&by_external), [bob.as_str()]);
    let case = scim(&admin, Method::GET, "/scim/v2/hr/Users?filter=externalId%20eq%20%22EXT-BOB%22", None);
    assert_eq!(ids(&case), Vec::<String>::new(), "externalId is compared exactly");
    let either = scim(
        &admin,
        Method::GET,
        "/scim/v2/hr/Users?filter=externalId%20eq%20%22ext-alice%22%20or%20userName%20eq%20%22BOB%22",
        None,
    );
    assert_eq!(ids(&either), both);
    let by_id = scim(&admin, Method::GET, &format!("/scim/v2/hr/Users?filter=id%20eq%20%22{bob}%22"), None);
    assert_eq!(ids(&by_id), [bob.as_str()]);
    let elsewhere = scim(&admin, Method::GET, &format!("/scim/v2/eng/Users?filter=id%20eq%20%22{bob}%22"), None);
    assert_eq!(ids(&elsewhere), Vec::<String>::new(), "an id of another namespace");
    let not_an_id = scim(&admin, Method::GET, "/scim/v2/hr/Users?filter=id%20eq%20%22x%22", None);
    assert_eq!(ids(&not_an_id), Vec::<String>::new());
    let narrowed_and_filtered = scim(
        &admin,
        Method::GET,
        "/scim/v2/hr/Users?filter=externalId%20eq%20%22ext-bob%22%20and%20userName%20eq%20%22alice%22",
        None,
    );
    assert_eq!(ids(&narrowed_and_filtered), Vec::<String>::new(), "the filter still decides");
    // A reader of another namespace is refused even when the filter names nothing.
    let (_, outsider) = app.owner_with_client("eng-reader", &["users:read@eng"], &["users:read@eng"]);
    let outsider = app.as_client(&outsider);
    for filter in ["id%20eq%20%22x%22", "externalId%20eq%20%22ext-bob%22", "userName%20eq%20%22bob%22"] {
        assert_scim_error(
            &scim(&outsider, Method::GET, &format!("/scim/v2/hr/Users?filter={filter}"), None),
            403,
            None,
        );
        assert_scim_error(
            &scim(&outsider, Method::GET, &format!("/scim/v2/hr/Groups?filter={filter}"), None),
            403,
            None,
        );
    }

    // Groups: by externalId and id through indexes; members read only when the answer needs them.
    let group = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "sales", "externalId": "g-sales", "members": [{ "value": bob }] });
    let sales = scim(&admin, Method::POST, "/scim/v2/hr/Groups", Some(&group));
    assert_eq!(sales.status, 201, "{}", sales.text);
    let sales = sales.json["id"].as_str().unwrap().to_owned();
    let found = scim(&admin, Method::GET, "/scim/v2/hr/Groups?filter=externalId%20eq%20%22g-sales%22", None);
    assert_eq!(ids(&found), [sales.as_str()]);
    assert_eq!(found.json["Resources"][0]["members"][0]["value"], bob.as_str());
    let lean = scim(
        &admin,
        Method::GET,
        "/scim/v2/hr/Groups?filter=displayName%20eq%20%22Sales%22&excludedAttributes=members",
        None,
    );
    assert_eq!(ids(&lean), [sales.as_str()]);
    assert!(lean.json["Resources"][0].get("members").is_none(), "{}", lean.text);
    let by_member = scim(
        &admin,
        Method::GET,
        &format!("/scim/v2/hr/Groups?filter=members%5Bvalue%20eq%20%22{bob}%22%5D&attributes=displayName"),
        None,
    );
    assert_eq!(ids(&by_member), [sales.as_str()], "a filter on members reads them");
    let by_id = scim(&admin, Method::GET, &format!("/scim/v2/hr/Groups?filter=id%20eq%20%22{ops}%22"), None);
    assert_eq!(ids(&by_id), [ops.as_str()]);
    let user_name = scim(&admin, Method::GET, "/scim/v2/hr/Groups?filter=userName%20eq%20%22bob%22", None);
    assert_eq!(ids(&user_name), Vec::<String>::new(), "no group has a userName");
}

#[test]
fn bulk_commits_operations_in_groups_undoing_and_recording_only_the_ones_that_fail() {
    let app = TestApp::start();
    app.create_namespace("hr");
    let api = app.admin();
    // 250 operations: three transactions of up to 100. Every 50th is a duplicate userName (409),
    // one PATCHes a user created in an earlier transaction by its bulkId, one names a group the
    // caller cannot fill (a grant it does not hold), which the administrator can.
    let mut operations = Vec::new();
    for i in 0..250 {
        let operation = match i {
            i if i % 50 == 49 => json!({ "method": "POST", "path": "/Users", "bulkId": format!("dup{i}"),
                "data": { "schemas": [USER], "userName": format!("USER{}", i - 1) } }),
            180 => json!({ "method": "PATCH", "path": "/Users/bulkId:u3", "data": {
                "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "displayName", "value": "Three" }] } }),
            i => json!({ "method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                "data": { "schemas": [USER], "userName": format!("user{i}"), "externalId": format!("e{i}") } }),
        };
        operations.push(operation);
    }
    let bulk = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations });
    let reply = scim(&api, Method::POST, "/scim/v2/hr/Bulk", Some(&bulk));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let answers = reply.json["Operations"].as_array().unwrap();
    assert_eq!(answers.len(), 250);
    for (i, answer) in answers.iter().enumerate() {
        let expected = match i {
            i if i % 50 == 49 => "409",
            180 => "200",
            _ => "201",
        };
        assert_eq!(answers[i]["status"], expected, "operation {i}: {answer}");
    }
    let listed = scim(&api, Method::GET, "/scim/v2/hr/Users?count=1000&attributes=userName", None);
    assert_eq!(listed.json["totalResults"], 244, "every operation that answered 201 made its user");
    let three = scim(&api, Method::GET, answers[3]["location"].as_str().unwrap().trim_start_matches(&app.base), None);
    assert_eq!(three.json["displayName"], "Three", "{}", three.text);
    let mut created = 0;
    let mut query = "action=user.create&outcome=success&namespace=hr&page_size=200".to_owned();
    loop {
        let page = app.admin().get(&format!("/api/v1/audit-events?{query}"));
        created += page.json["items"].as_array().unwrap().len();
        match page.json["next_page_token"].as_str() {
            Some(token) => {
                query = format!("action=user.create&outcome=success&namespace=hr&page_size=200&page_token={token}")
            }
            None => break,
        }
    }
    assert_eq!(created, 244, "one user.create per user made");
    let failed = audit(&app, "action=user.create&outcome=failure");
    assert_eq!(failed.len(), 5, "each refused operation is on record: {failed:?}");
    assert!(failed.iter().all(|e| e["changes"]["status"] == 409), "{failed:?}");

    // A refusal by grant: the operation is denied and on record with the missing grant; the
    // operations around it are made.
    let auditors = app.create_group("hr", "auditors", &["audit:read@*"]);
    let grants = ["users:*@hr", "permissions:write@hr"];
    let (_, writer) = app.owner_with_client("bulk-writer", &grants, &grants);
    let member = answers[0]["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let bulk = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        { "method": "POST", "path": "/Users", "data": { "schemas": [USER], "userName": "before" } },
        { "method": "PATCH", "path": format!("/Groups/{auditors}"), "data": { "schemas": [PATCH_OP],
            "Operations": [{ "op": "add", "path": "members", "value": [{ "value": member }] }] } },
        { "method": "POST", "path": "/Users", "data": { "schemas": [USER], "userName": "after" } }
    ] });
    let reply = scim(&app.as_client(&writer), Method::POST, "/scim/v2/hr/Bulk", Some(&bulk));
    let statuses: Vec<&str> =
        reply.json["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "403", "201"], "{}", reply.text);
    let denied = audit(&app, "action=group.update&outcome=denied");
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["target"]["id"], auditors.as_str(), "{denied:?}");
    assert!(denied[0]["changes"]["missing_grant"].is_string(), "{denied:?}");
    let members = app.admin().get(&format!("/api/v1/namespaces/hr/groups/{auditors}/members"));
    assert_eq!(members.json["items"], json!([]), "{}", members.text);
    let chain = crate::support::gatehouse(&app.db, &["audit", "verify"], None);
    assert_eq!(chain.code, 0, "savepoints leave the chain whole: {}{}", chain.stdout, chain.stderr);
}
