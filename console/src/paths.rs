//! Every URL the console fetches, in one place: the Management API under `/api/v1` and the
//! console's own session endpoints. Segments taken from data are percent-encoded here.

use crate::api::encode;

pub const SESSION: &str = "/console/session";
pub const LOGOUT: &str = "/console/logout";

pub const NAMESPACES: &str = "/api/v1/namespaces";
pub const CLIENTS: &str = "/api/v1/clients";
pub const KEYS: &str = "/api/v1/keys";
pub const KEYS_ROTATE: &str = "/api/v1/keys:rotate";
pub const AUDIT_EVENTS: &str = "/api/v1/audit-events";
pub const AUDIT_VERIFY: &str = "/api/v1/audit-events:verify";
pub const MY_CONSENTS: &str = "/api/v1/me/consents";
pub const MY_FACTORS: &str = "/api/v1/me/factors";
pub const MY_PASSKEY_REGISTRATIONS: &str = "/api/v1/me/passkey-registrations";
pub const MY_PASSKEYS: &str = "/api/v1/me/passkeys";
pub const MY_RECOVERY_CODES: &str = "/api/v1/me/recovery-codes";
pub const MY_TOTP_ENROLMENTS: &str = "/api/v1/me/totp-enrolments";
pub const MY_TOTP: &str = "/api/v1/me/totp";
pub const LOG_STREAMS: &str = "/api/v1/log-streams";
/// Every log stream, the largest page at a time.
pub const LOG_STREAM_LIST: &str = "/api/v1/log-streams?page_size=200";

/// Every namespace, the largest page at a time.
pub const NAMESPACE_LIST: &str = "/api/v1/namespaces?page_size=200";
/// Every client the caller may see, the largest page at a time.
pub const CLIENT_LIST: &str = "/api/v1/clients?page_size=200";
/// The caller's own clients, the largest page at a time.
pub const MY_CLIENT_LIST: &str = "/api/v1/clients?owner=me&page_size=200";

pub fn namespace(slug: &str) -> String {
    format!("{NAMESPACES}/{}", encode(slug))
}

/// The accounts of a namespace (to list with a query, or to create one in).
pub fn users(namespace_slug: &str) -> String {
    format!("{}/users", namespace(namespace_slug))
}

pub fn user(namespace_slug: &str, id: &str) -> String {
    format!("{}/{}", users(namespace_slug), encode(id))
}

pub fn user_permissions(user_path: &str) -> String {
    format!("{user_path}/permissions")
}

/// The groups an account is a member of.
pub fn user_groups(user_path: &str) -> String {
    format!("{user_path}/groups?page_size=200")
}

/// The groups of a namespace (to list, or to create one in).
pub fn groups(namespace_slug: &str) -> String {
    format!("{}/groups", namespace(namespace_slug))
}

pub fn group(namespace_slug: &str, id: &str) -> String {
    format!("{}/{}", groups(namespace_slug), encode(id))
}

pub fn group_permissions(group_path: &str) -> String {
    format!("{group_path}/permissions")
}

pub fn group_members(group_path: &str) -> String {
    format!("{group_path}/members")
}

pub fn group_member(group_path: &str, account_id: &str) -> String {
    format!("{group_path}/members/{}", encode(account_id))
}

pub fn user_password(user_path: &str) -> String {
    format!("{user_path}/password")
}

pub fn client(id: &str) -> String {
    format!("{CLIENTS}/{}", encode(id))
}

pub fn client_effective_permissions(client_path: &str) -> String {
    format!("{client_path}/effective-permissions")
}

pub fn client_secrets(client_path: &str) -> String {
    format!("{client_path}/secrets")
}

/// Audit events with the query of a filter (see `logic::audit`).
pub fn audit_events(query_string: &str) -> String {
    format!("{AUDIT_EVENTS}{query_string}")
}

pub fn my_consent(client_id: &str) -> String {
    format!("{MY_CONSENTS}/{}", encode(client_id))
}

pub fn log_stream(id: &str) -> String {
    format!("{LOG_STREAMS}/{}", encode(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_ones_the_api_serves() {
        assert_eq!(user("a b", "1"), "/api/v1/namespaces/a%20b/users/1");
        assert_eq!(user_permissions(&user("ns", "1")), "/api/v1/namespaces/ns/users/1/permissions");
        assert_eq!(client_secrets(&client("x")), "/api/v1/clients/x/secrets");
        assert_eq!(my_consent("c/1"), "/api/v1/me/consents/c%2F1");
        assert_eq!(group_member(&group("ns", "g"), "a"), "/api/v1/namespaces/ns/groups/g/members/a");
        assert_eq!(user_groups(&user("ns", "1")), "/api/v1/namespaces/ns/users/1/groups?page_size=200");
    }
}
