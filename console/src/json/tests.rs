//! Each hand-written decoder against serde's derived `Deserialize` on the same answers: the
//! same value where serde accepts, a refusal where serde refuses.

use std::fmt::Debug;

use gatehouse_api_types::*;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::FromJson;

const ID: &str = "0b7e3a34-5d55-4c3c-9a53-3f0e7c1c8a11";
const T: &str = "2025-01-02T03:04:05Z";

fn same<T: FromJson + DeserializeOwned + PartialEq + Debug>(value: Value) -> T {
    let derived: T = serde_json::from_value(value.clone()).expect("serde decodes the sample");
    let decoded = T::from_json(value).expect("the hand-written decoder decodes the sample");
    assert_eq!(decoded, derived);
    decoded
}

fn both_refuse<T: FromJson + DeserializeOwned + Debug>(value: Value) {
    assert!(serde_json::from_value::<T>(value.clone()).is_err(), "serde refuses {value}");
    assert!(T::from_json(value.clone()).is_err(), "the decoder refuses {value}");
}

/// `value` without `key`.
fn without(mut value: Value, key: &str) -> Value {
    value.as_object_mut().unwrap().remove(key);
    value
}

fn client() -> Value {
    json!({
        "id": ID, "client_id": "gh_abc", "name": "ci",
        "owner": {"account_id": ID, "namespace": "staff", "username": "alice"},
        "permissions": ["users:read@a"], "effective_permissions": ["users:read@a"],
        "grant_types": ["client_credentials", "authorization_code", "refresh_token"],
        "redirect_uris": ["https://app.example/cb"], "password_grant_enabled": false,
        "user_namespace": "customers", "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [{"kty": "EC"}]}, "jwks_uri": null, "access_token_ttl": 600,
        "access_token_alg": "ES256", "post_logout_redirect_uris": ["https://app.example/bye"],
        "attribute_claims": {"department": "dept"}, "require_pkce": true, "skip_consent": false,
        "registration_enabled": false, "hybrid_enabled": true, "require_pushed_authorization_requests": false,
        "dpop_bound_access_tokens": true, "require_signed_request_object": true,
        "backchannel_logout_uri": "https://app.example/logout",
        "backchannel_logout_session_required": true, "disabled": false, "created_at": T, "updated_at": "2025-01-02T03:04:05.123456+02:00", "last_used_at": null
    })
}

#[test]
fn clients() {
    same::<Client>(client());
    same::<Client>(without(without(without(client(), "owner"), "jwks"), "last_used_at"));
    let older = without(without(client(), "dpop_bound_access_tokens"), "backchannel_logout_session_required");
    let older = without(older, "require_signed_request_object");
    same::<Client>(without(older, "backchannel_logout_uri"));
    both_refuse::<Client>(without(client(), "grant_types"));
    let mut bad = client();
    bad["grant_types"] = json!(["telepathy"]);
    both_refuse::<Client>(bad);
    let mut bad = client();
    bad["created_at"] = json!("yesterday");
    both_refuse::<Client>(bad);

    let mut created = client();
    created["client_secret"] = json!("s3cret");
    assert_eq!(same::<ClientCreated>(created).client_secret.as_deref(), Some("s3cret"));
    same::<ClientCreated>(client());
    same::<SecretRotated>(json!({"client_id": "gh_abc", "client_secret": "s", "previous_secret_expires_at": T}));
    same::<Page<Client>>(json!({"items": [client(), client()], "next_page_token": "n"}));
    same::<Page<Client>>(json!({"items": [], "next_page_token": null}));
}

#[test]
fn effective_permissions() {
    let value = json!({
        "granted": ["users:read@a", "users:write@a"],
        "owner": ["users:read@a"],
        "owner_sources": [
            {"grant": "users:read@a", "via": "direct"},
            {"grant": "users:read@a", "via": {"group": ID, "name": "ops"}}
        ],
        "effective": ["users:read@a"],
        "dropped": [{"grant": "users:write@a", "reason": "the owner does not hold it"}]
    });
    same::<EffectivePermissions>(value.clone());
    same::<EffectivePermissions>(without(value.clone(), "owner_sources"));
    both_refuse::<EffectivePermissions>(without(value.clone(), "dropped"));
    let mut bad = value;
    bad["owner_sources"][0]["via"] = json!("indirect");
    both_refuse::<EffectivePermissions>(bad);
}

fn account() -> Value {
    json!({
        "id": ID, "namespace": "customers", "username": "bob", "email": "bob@example.com",
        "email_verified": true, "phone_number": null, "phone_number_verified": false, "name": "Bob",
        "given_name": null, "family_name": "B", "attributes": {"tier": "gold", "n": 3},
        "disabled": false, "has_password": true, "created_at": T, "updated_at": T
    })
}

#[test]
fn accounts_and_groups() {
    same::<Account>(account());
    same::<Account>(without(account(), "username"));
    both_refuse::<Account>(without(account(), "attributes"));
    same::<Page<Account>>(json!({"items": [account()], "next_page_token": null}));
    same::<Permissions>(json!({"permissions": ["users:read@customers"]}));
    both_refuse::<Permissions>(json!({"permissions": "users:read@customers"}));
    same::<Namespace>(
        json!({"slug": "customers", "display_name": "Customers", "mfa": "required", "created_at": T, "updated_at": T}),
    );
    same::<Namespace>(json!({"slug": "customers", "display_name": "Customers", "created_at": T, "updated_at": T}));
    both_refuse::<Namespace>(
        json!({"slug": "c", "display_name": "C", "mfa": "sometimes", "created_at": T, "updated_at": T}),
    );
    same::<Group>(
        json!({"id": ID, "namespace": "staff", "name": "ops", "description": null, "created_at": T, "updated_at": T}),
    );
    same::<GroupMember>(json!({"account_id": ID, "namespace": "staff", "username": "alice", "added_at": T}));
    same::<GroupMembership>(json!({"group_id": ID, "namespace": "staff", "name": "ops"}));
    both_refuse::<GroupMembership>(json!({"group_id": "not-a-uuid", "namespace": "staff", "name": "ops"}));
}

#[test]
fn session_and_problems() {
    let me = json!({
        "kind": "account", "id": ID, "client_id": null, "namespace": "staff", "username": "alice",
        "owner": null, "permissions": ["namespaces:read@*"], "effective_permissions": ["namespaces:read@*"]
    });
    same::<ConsoleSession>(json!({"csrf_token": "c", "me": me, "expires_at": T}));
    let mut client_me = me;
    client_me["kind"] = json!("client");
    same::<Me>(client_me.clone());
    client_me["kind"] = json!("robot");
    both_refuse::<Me>(client_me);
    same::<Problem>(json!({
        "type": "https://gatehouse.dev/problems/invalid", "title": "Bad Request", "status": 400,
        "detail": "2 fields are invalid", "errors": [{"field": "slug", "message": "must match"}],
        "missing_grant": null, "request_id": "r1"
    }));
    same::<Problem>(
        json!({"type": "t", "title": "Forbidden", "status": 403, "detail": "d", "missing_grant": "keys:write@*"}),
    );
    both_refuse::<Problem>(json!({"type": "t", "title": "x", "status": 70000, "detail": "d"}));
}

#[test]
fn audit_keys_streams_factors() {
    let event = json!({
        "id": ID, "seq": 42, "time": T,
        "actor": {"type": "client", "id": "gh_abc", "owner_account_id": ID},
        "action": "user.create", "target": {"type": "account", "id": ID}, "namespace": "customers",
        "outcome": "success", "request_id": "r1", "ip": "127.0.0.1",
        "changes": {"before": null, "after": {"username": "bob"}}, "hash": "ab12"
    });
    same::<AuditEvent>(event.clone());
    same::<AuditEvent>(without(without(event, "target"), "changes"));
    same::<AuditVerification>(json!({"intact": false, "events_verified": 7, "first_broken_link": "seq 8"}));
    both_refuse::<AuditVerification>(json!({"intact": true, "events_verified": -1}));
    same::<Vec<SigningKey>>(json!([
        {"kid": "k1", "alg": "RS256", "state": "current", "created_at": T, "activated_at": T},
        {"kid": "k2", "alg": "EdDSA", "state": "next", "created_at": T, "activated_at": null}
    ]));
    let stream = json!({
        "id": ID, "name": "siem", "owner_account_id": null, "url": "https://siem.example/in",
        "filter": {"action": "client."}, "disabled": false, "created_at": T, "updated_at": T,
        "status": {"last_delivered_seq": 12, "last_attempt_at": T, "last_success_at": null,
            "last_error": "HTTP 500", "failing_since": T, "attempts": 3, "next_attempt_at": T}
    });
    same::<LogStream>(stream.clone());
    let mut bad = stream;
    bad["status"]["attempts"] = json!(1.5);
    both_refuse::<LogStream>(bad);
    same::<Page<Consent>>(
        json!({"items": [{"client_id": "gh_abc", "client_name": "App", "scope": ["openid"], "granted_at": T}], "next_page_token": null}),
    );
    same::<Page<Factor>>(
        json!({"items": [{"id": ID, "kind": "webauthn", "name": "Key", "created_at": T, "last_used_at": null}], "next_page_token": null}),
    );
    same::<PasskeyChallenge>(json!({"id": "r1", "options": {"publicKey": {"challenge": "abc"}}, "expires_at": T}));
    same::<TotpEnrolment>(
        json!({"id": "e1", "secret": "JBSW", "otpauth_uri": "otpauth://totp/x", "qr_svg": "<svg/>", "expires_at": T}),
    );
    same::<RecoveryCodes>(json!({"codes": ["a-b", "c-d"]}));
}
