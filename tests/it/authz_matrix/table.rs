//! The expectation table: what each operation of the Management API needs of its caller.

use super::*;

/// What an operation needs of its caller.
#[derive(Clone, Copy, Debug)]
pub(super) enum Access {
    /// Any authenticated caller (what it sees is filtered by its grants).
    Authenticated,
    /// An account acting for itself (its own access token or console session); never a client.
    OwnAccount,
    /// All of these grants.
    Grants(&'static [&'static str]),
}

#[derive(Debug)]
pub(super) struct Operation {
    pub(super) key: &'static str,
    pub(super) access: Access,
    pub(super) success: u16,
    /// Path parameters: placeholder → fixture.
    pub(super) at: &'static [(&'static str, &'static str)],
    pub(super) body: Option<&'static str>,
    /// A caller lacking this grant does not see the target at all (404, not 403).
    pub(super) hidden_without: Option<&'static str>,
    /// The needed grant for any namespace will do (a list filtered by namespace).
    pub(super) any_namespace: bool,
}

pub(super) fn op(key: &'static str, access: Access, success: u16) -> Operation {
    Operation { key, access, success, at: &[], body: None, hidden_without: None, any_namespace: false }
}

impl Operation {
    pub(super) fn at(mut self, at: &'static [(&'static str, &'static str)]) -> Operation {
        self.at = at;
        self
    }
    pub(super) fn body(mut self, body: &'static str) -> Operation {
        self.body = Some(body);
        self
    }
    pub(super) fn hidden_without(mut self, grant: &'static str) -> Operation {
        self.hidden_without = Some(grant);
        self
    }
    pub(super) fn any_namespace(mut self) -> Operation {
        self.any_namespace = true;
        self
    }
    pub(super) fn method(&self) -> Method {
        Method::from_bytes(self.key.split(' ').next().unwrap().as_bytes()).unwrap()
    }
    pub(super) fn template(&self) -> &'static str {
        self.key.split(' ').nth(1).unwrap()
    }
    pub(super) fn is_change(&self) -> bool {
        self.method() != Method::GET
    }
}

pub(super) const ALPHA: &[(&str, &str)] = &[("ns", "alpha")];
pub(super) const USER: &[(&str, &str)] = &[("ns", "alpha"), ("id", "user")];
pub(super) const CLIENT: &[(&str, &str)] = &[("id", "client")];
pub(super) const FACTOR: &[(&str, &str)] = &[("factor_id", "factor")];
pub(super) const STREAM: &[(&str, &str)] = &[("id", "stream")];
pub(super) const GROUP: &[(&str, &str)] = &[("ns", "alpha"), ("id", "group")];
pub(super) const GROUP_ADD: &[(&str, &str)] = &[("ns", "alpha"), ("id", "group"), ("account_id", "user")];
pub(super) const GROUP_REMOVE: &[(&str, &str)] = &[("ns", "alpha"), ("id", "group"), ("account_id", "member")];
/// Membership needs `users:read` over the member's namespace: without it the member is missing.
pub(super) const MEMBER_READ: &str = "users:read@alpha";
pub(super) const CLIENT_READ: &str = "clients:read@alpha";
pub(super) const CLIENT_MANAGE: &[&str] = &["clients:read@alpha", "clients:write@alpha"];

/// The expectation table: one entry per operation of the OpenAPI document, keyed "METHOD path".
pub(super) fn operations() -> Vec<Operation> {
    use Access::*;
    vec![
        op("GET /api/v1/me", Authenticated, 200),
        op("PATCH /api/v1/me", OwnAccount, 200).body(r#"{"name": "Changed by the matrix"}"#),
        op("PUT /api/v1/me/password", OwnAccount, 204)
            .body(r#"{"current_password": "<own password>", "new_password": "a new long password 1"}"#),
        op("GET /api/v1/me/consents", OwnAccount, 200),
        op("DELETE /api/v1/me/consents/{client_id}", OwnAccount, 204).at(&[("client_id", "app")]),
        // The callers of the matrix have no second factor: past authorization, these answer
        // that the factor does not exist (404) or that there is none to go with (409). Their
        // successes are tested in tests/it/mfa.rs.
        op("GET /api/v1/me/factors", OwnAccount, 200),
        op("PATCH /api/v1/me/factors/{factor_id}", OwnAccount, 404).at(FACTOR).body(r#"{"name": "Phone"}"#),
        op("DELETE /api/v1/me/factors/{factor_id}", OwnAccount, 404).at(FACTOR),
        op("POST /api/v1/me/recovery-codes", OwnAccount, 409),
        // The matrix's server has an IP address for issuer, so passkeys are off (409); adding
        // them is tested in Chromium (tests/it/passkeys_browser.rs).
        op("POST /api/v1/me/passkey-registrations", OwnAccount, 409),
        op("POST /api/v1/me/passkeys", OwnAccount, 409)
            .body(r#"{"registration_id": "none", "name": "Laptop", "credential": {}}"#),
        op("POST /api/v1/me/totp-enrolments", OwnAccount, 201),
        op("POST /api/v1/me/totp", OwnAccount, 400)
            .body(r#"{"enrolment_id": "none", "name": "Phone", "code": "123456"}"#),
        op("GET /api/v1/keys", Grants(&["keys:read@*"]), 200),
        op("POST /api/v1/keys:rotate", Grants(&["keys:write@*"]), 200),
        op("GET /api/v1/namespaces", Grants(&["namespaces:read@*"]), 200).any_namespace(),
        op("POST /api/v1/namespaces", Grants(&["namespaces:write@created-ns"]), 201)
            .body(r#"{"slug": "created-ns", "display_name": "Created"}"#),
        op("GET /api/v1/namespaces/{ns}", Grants(&["namespaces:read@alpha"]), 200).at(ALPHA),
        op("PATCH /api/v1/namespaces/{ns}", Grants(&["namespaces:write@alpha"]), 200)
            .at(ALPHA)
            .body(r#"{"display_name": "Alpha, renamed"}"#),
        op("DELETE /api/v1/namespaces/{ns}", Grants(&["namespaces:write@doomed"]), 204).at(&[("ns", "doomed")]),
        op("GET /api/v1/namespaces/{ns}/users", Grants(&["users:read@alpha"]), 200).at(ALPHA),
        op("POST /api/v1/namespaces/{ns}/users", Grants(&["users:write@alpha"]), 201)
            .at(ALPHA)
            .body(r#"{"username": "created-user"}"#),
        op("POST /api/v1/namespaces/{ns}/users:import", Grants(&["users:write@alpha"]), 200)
            .at(ALPHA)
            .body(r#"[{"username": "imported-user"}]"#),
        op("GET /api/v1/namespaces/{ns}/users/{id}", Grants(&["users:read@alpha"]), 200).at(USER),
        op("PATCH /api/v1/namespaces/{ns}/users/{id}", Grants(&["users:write@alpha"]), 200)
            .at(USER)
            .body(r#"{"name": "Renamed"}"#),
        op("DELETE /api/v1/namespaces/{ns}/users/{id}", Grants(&["users:write@alpha"]), 204)
            .at(&[("ns", "alpha"), ("id", "victim")]),
        op("PUT /api/v1/namespaces/{ns}/users/{id}/password", Grants(&["users:write@alpha"]), 204)
            .at(USER)
            .body(r#"{"password": "a brand new password 1"}"#),
        op("GET /api/v1/namespaces/{ns}/users/{id}/permissions", Grants(&["permissions:read@alpha"]), 200).at(USER),
        op("GET /api/v1/namespaces/{ns}/users/{id}/factors", Grants(&["users:read@alpha"]), 200).at(USER),
        op("DELETE /api/v1/namespaces/{ns}/users/{id}/factors/{factor_id}", Grants(&["users:write@alpha"]), 404).at(&[
            ("ns", "alpha"),
            ("id", "user"),
            ("factor_id", "factor"),
        ]),
        op("PUT /api/v1/namespaces/{ns}/users/{id}/permissions", Grants(&["permissions:write@alpha"]), 200)
            .at(USER)
            .body(r#"{"permissions": []}"#),
        op("GET /api/v1/namespaces/{ns}/users/{id}/groups", Grants(&["users:read@alpha"]), 200).at(USER),
        op("GET /api/v1/namespaces/{ns}/groups", Grants(&["users:read@alpha"]), 200).at(ALPHA),
        op("POST /api/v1/namespaces/{ns}/groups", Grants(&["users:write@alpha"]), 201)
            .at(ALPHA)
            .body(r#"{"name": "created by the matrix"}"#),
        op("GET /api/v1/namespaces/{ns}/groups/{id}", Grants(&["users:read@alpha"]), 200).at(GROUP),
        op("PATCH /api/v1/namespaces/{ns}/groups/{id}", Grants(&["users:write@alpha"]), 200)
            .at(GROUP)
            .body(r#"{"description": "renamed by the matrix"}"#),
        op(
            "DELETE /api/v1/namespaces/{ns}/groups/{id}",
            Grants(&["users:write@alpha", "permissions:write@alpha"]),
            204,
        )
        .at(&[("ns", "alpha"), ("id", "doomed-group")]),
        op("GET /api/v1/namespaces/{ns}/groups/{id}/permissions", Grants(&["permissions:read@alpha"]), 200).at(GROUP),
        op("PUT /api/v1/namespaces/{ns}/groups/{id}/permissions", Grants(&["permissions:write@alpha"]), 200)
            .at(GROUP)
            .body(r#"{"permissions": []}"#),
        op("GET /api/v1/namespaces/{ns}/groups/{id}/members", Grants(&["users:read@alpha"]), 200).at(GROUP),
        op(
            "PUT /api/v1/namespaces/{ns}/groups/{id}/members/{account_id}",
            Grants(&["permissions:write@alpha", MEMBER_READ]),
            204,
        )
        .at(GROUP_ADD)
        .hidden_without(MEMBER_READ),
        op(
            "DELETE /api/v1/namespaces/{ns}/groups/{id}/members/{account_id}",
            Grants(&["permissions:write@alpha", MEMBER_READ]),
            204,
        )
        .at(GROUP_REMOVE)
        .hidden_without(MEMBER_READ),
        op("GET /api/v1/clients", Grants(&["clients:read@*"]), 200),
        op("POST /api/v1/clients", Grants(&["clients:write@*"]), 201)
            .body(r#"{"name": "created by the matrix", "permissions": []}"#),
        op("GET /api/v1/clients/{id}", Grants(&[CLIENT_READ]), 200).at(CLIENT).hidden_without(CLIENT_READ),
        op("PATCH /api/v1/clients/{id}", Grants(CLIENT_MANAGE), 200).at(CLIENT).hidden_without(CLIENT_READ).body(
            r#"{"name": "renamed by the matrix", "require_pushed_authorization_requests": true,
                    "require_signed_request_object": true}"#,
        ),
        op("DELETE /api/v1/clients/{id}", Grants(CLIENT_MANAGE), 204)
            .at(&[("id", "doomed-client")])
            .hidden_without(CLIENT_READ),
        op("POST /api/v1/clients/{id}/secrets", Grants(CLIENT_MANAGE), 201)
            .at(CLIENT)
            .hidden_without(CLIENT_READ)
            .body(r#"{"previous_secret_expires_in": 0}"#),
        op("GET /api/v1/clients/{id}/effective-permissions", Grants(&[CLIENT_READ]), 200)
            .at(CLIENT)
            .hidden_without(CLIENT_READ),
        op("GET /api/v1/audit-events", Authenticated, 200),
        op("GET /api/v1/audit-events:verify", Grants(&["audit:read@*"]), 200),
        op("GET /api/v1/audit-keys", Grants(&["audit:read@*"]), 200),
        op("GET /api/v1/audit-events:export", Authenticated, 200),
        op("GET /api/v1/log-streams", Grants(&["audit:read@*"]), 200),
        op("POST /api/v1/log-streams", Grants(&["audit:write@*", "audit:read@*"]), 201)
            .body(r#"{"name": "created by the matrix", "url": "https://siem.example.com/in"}"#),
        op("GET /api/v1/log-streams/{id}", Grants(&["audit:read@*"]), 200).at(STREAM),
        op("PATCH /api/v1/log-streams/{id}", Grants(&["audit:write@*"]), 200)
            .at(STREAM)
            .body(r#"{"name": "renamed by the matrix"}"#),
        op("DELETE /api/v1/log-streams/{id}", Grants(&["audit:write@*"]), 204).at(&[("id", "doomed-stream")]),
    ]
}
