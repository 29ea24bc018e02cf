//! [`FromJson`] for every answer the console reads, member by member as the API types
//! declare them (`api-types/src`).

use gatehouse_api_types::Page;
use gatehouse_api_types::{
    Account, AuditActor, AuditEvent, AuditTarget, AuditVerification, CallerKind, Client, ClientCreated, Consent,
    ConsoleSession, Direct, DroppedGrant, EffectivePermissions, Factor, FieldError, GrantSource, GrantType, GrantVia,
    Group, GroupMember, GroupMembership, KeyState, LogStream, LogStreamFilter, LogStreamStatus, Me, MfaPolicy,
    Namespace, Owner, PasskeyChallenge, Permissions, Problem, RecoveryCodes, SecretRotated, SigningAlg, SigningKey,
    TokenEndpointAuthMethod, TotpEnrolment,
};
use serde_json::Value;

use super::{parse, unexpected, FromJson, Obj};
use crate::api::ApiError;

/// `impl FromJson` for protocol value sets, through their `FromStr`.
macro_rules! from_str {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(value: Value) -> Result<Self, ApiError> {
                parse(value)
            }
        }
    )*};
}

from_str!(GrantType, TokenEndpointAuthMethod, SigningAlg, KeyState);

impl FromJson for MfaPolicy {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        match String::from_json(value)?.as_str() {
            "optional" => Ok(MfaPolicy::Optional),
            "required" => Ok(MfaPolicy::Required),
            _ => Err(unexpected("unknown value")),
        }
    }
}

impl FromJson for CallerKind {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        match String::from_json(value)?.as_str() {
            "client" => Ok(CallerKind::Client),
            "account" => Ok(CallerKind::Account),
            _ => Err(unexpected("unknown value")),
        }
    }
}

impl<T: FromJson> FromJson for Page<T> {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Page { items: o.get("items")?, next_page_token: o.get("next_page_token")? })
    }
}

impl FromJson for Problem {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Problem {
            problem_type: o.get("type")?,
            title: o.get("title")?,
            status: o.get("status")?,
            detail: o.get("detail")?,
            errors: o.get("errors")?,
            missing_grant: o.get("missing_grant")?,
            request_id: o.get("request_id")?,
        })
    }
}

impl FromJson for FieldError {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(FieldError { field: o.get("field")?, message: o.get("message")? })
    }
}

impl FromJson for ConsoleSession {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(ConsoleSession { csrf_token: o.get("csrf_token")?, me: o.get("me")?, expires_at: o.get("expires_at")? })
    }
}

impl FromJson for Me {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Me {
            kind: o.get("kind")?,
            id: o.get("id")?,
            client_id: o.get("client_id")?,
            namespace: o.get("namespace")?,
            username: o.get("username")?,
            owner: o.get("owner")?,
            permissions: o.get("permissions")?,
            effective_permissions: o.get("effective_permissions")?,
        })
    }
}

impl FromJson for Owner {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Owner { account_id: o.get("account_id")?, namespace: o.get("namespace")?, username: o.get("username")? })
    }
}

impl FromJson for Client {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Client {
            id: o.get("id")?,
            client_id: o.get("client_id")?,
            name: o.get("name")?,
            owner: o.get("owner")?,
            permissions: o.get("permissions")?,
            effective_permissions: o.get("effective_permissions")?,
            grant_types: o.get("grant_types")?,
            redirect_uris: o.get("redirect_uris")?,
            password_grant_enabled: o.get("password_grant_enabled")?,
            user_namespace: o.get("user_namespace")?,
            token_endpoint_auth_method: o.get("token_endpoint_auth_method")?,
            jwks: o.get("jwks")?,
            jwks_uri: o.get("jwks_uri")?,
            access_token_ttl: o.get("access_token_ttl")?,
            access_token_alg: o.get("access_token_alg")?,
            post_logout_redirect_uris: o.get("post_logout_redirect_uris")?,
            attribute_claims: o.get("attribute_claims")?,
            require_pkce: o.get("require_pkce")?,
            skip_consent: o.get("skip_consent")?,
            registration_enabled: o.get("registration_enabled")?,
            hybrid_enabled: o.get("hybrid_enabled")?,
            require_pushed_authorization_requests: o.get("require_pushed_authorization_requests")?,
            dpop_bound_access_tokens: o.get_or_default("dpop_bound_access_tokens")?,
            require_signed_request_object: o.get_or_default("require_signed_request_object")?,
            backchannel_logout_uri: o.get("backchannel_logout_uri")?,
            backchannel_logout_session_required: o.get_or_default("backchannel_logout_session_required")?,
            disabled: o.get("disabled")?,
            created_at: o.get("created_at")?,
            updated_at: o.get("updated_at")?,
            last_used_at: o.get("last_used_at")?,
        })
    }
}

/// `POST /clients`: the client's members (flattened) and, once, its secret.
impl FromJson for ClientCreated {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        let client_secret = o.get("client_secret")?;
        Ok(ClientCreated { client: Client::from_json(o.rest())?, client_secret })
    }
}

impl FromJson for SecretRotated {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(SecretRotated {
            client_id: o.get("client_id")?,
            client_secret: o.get("client_secret")?,
            previous_secret_expires_at: o.get("previous_secret_expires_at")?,
        })
    }
}

impl FromJson for EffectivePermissions {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(EffectivePermissions {
            granted: o.get("granted")?,
            owner: o.get("owner")?,
            owner_sources: o.get_or_default("owner_sources")?,
            effective: o.get("effective")?,
            dropped: o.get("dropped")?,
        })
    }
}

impl FromJson for DroppedGrant {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(DroppedGrant { grant: o.get("grant")?, reason: o.get("reason")? })
    }
}

impl FromJson for GrantSource {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(GrantSource { grant: o.get("grant")?, via: o.get("via")? })
    }
}

/// `"direct"`, or `{"group": <uuid>, "name": …}` (serde: untagged).
impl FromJson for GrantVia {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        match value {
            Value::String(s) if s == "direct" => Ok(GrantVia::Direct(Direct::Direct)),
            value @ Value::Object(_) => {
                let mut o = Obj::new(value)?;
                Ok(GrantVia::Group { group: o.get("group")?, name: o.get("name")? })
            }
            _ => Err(unexpected("unknown value")),
        }
    }
}

impl FromJson for Account {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Account {
            id: o.get("id")?,
            namespace: o.get("namespace")?,
            username: o.get("username")?,
            email: o.get("email")?,
            email_verified: o.get("email_verified")?,
            phone_number: o.get("phone_number")?,
            phone_number_verified: o.get("phone_number_verified")?,
            name: o.get("name")?,
            given_name: o.get("given_name")?,
            family_name: o.get("family_name")?,
            attributes: o.get("attributes")?,
            disabled: o.get("disabled")?,
            has_password: o.get("has_password")?,
            created_at: o.get("created_at")?,
            updated_at: o.get("updated_at")?,
        })
    }
}

impl FromJson for Permissions {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        Ok(Permissions { permissions: Obj::new(value)?.get("permissions")? })
    }
}

impl FromJson for Namespace {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Namespace {
            slug: o.get("slug")?,
            display_name: o.get("display_name")?,
            mfa: o.get_or_default("mfa")?,
            created_at: o.get("created_at")?,
            updated_at: o.get("updated_at")?,
        })
    }
}

impl FromJson for Group {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Group {
            id: o.get("id")?,
            namespace: o.get("namespace")?,
            name: o.get("name")?,
            description: o.get("description")?,
            created_at: o.get("created_at")?,
            updated_at: o.get("updated_at")?,
        })
    }
}

impl FromJson for GroupMember {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(GroupMember {
            account_id: o.get("account_id")?,
            namespace: o.get("namespace")?,
            username: o.get("username")?,
            added_at: o.get("added_at")?,
        })
    }
}

impl FromJson for GroupMembership {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(GroupMembership { group_id: o.get("group_id")?, namespace: o.get("namespace")?, name: o.get("name")? })
    }
}

impl FromJson for AuditEvent {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(AuditEvent {
            id: o.get("id")?,
            seq: o.get("seq")?,
            time: o.get("time")?,
            actor: o.get("actor")?,
            action: o.get("action")?,
            target: o.get("target")?,
            namespace: o.get("namespace")?,
            outcome: o.get("outcome")?,
            request_id: o.get("request_id")?,
            ip: o.get("ip")?,
            changes: o.get("changes")?,
            hash: o.get("hash")?,
        })
    }
}

impl FromJson for AuditActor {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(AuditActor { actor_type: o.get("type")?, id: o.get("id")?, owner_account_id: o.get("owner_account_id")? })
    }
}

impl FromJson for AuditTarget {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(AuditTarget { target_type: o.get("type")?, id: o.get("id")? })
    }
}

impl FromJson for AuditVerification {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(AuditVerification {
            intact: o.get("intact")?,
            events_verified: o.get("events_verified")?,
            first_broken_link: o.get("first_broken_link")?,
        })
    }
}

impl FromJson for SigningKey {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(SigningKey {
            kid: o.get("kid")?,
            alg: o.get("alg")?,
            state: o.get("state")?,
            created_at: o.get("created_at")?,
            activated_at: o.get("activated_at")?,
        })
    }
}

impl FromJson for LogStream {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(LogStream {
            id: o.get("id")?,
            name: o.get("name")?,
            owner_account_id: o.get("owner_account_id")?,
            url: o.get("url")?,
            filter: o.get("filter")?,
            disabled: o.get("disabled")?,
            created_at: o.get("created_at")?,
            updated_at: o.get("updated_at")?,
            status: o.get("status")?,
        })
    }
}

impl FromJson for LogStreamFilter {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(LogStreamFilter {
            actor: o.get("actor")?,
            target: o.get("target")?,
            action: o.get("action")?,
            namespace: o.get("namespace")?,
            outcome: o.get("outcome")?,
        })
    }
}

impl FromJson for LogStreamStatus {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(LogStreamStatus {
            last_delivered_seq: o.get("last_delivered_seq")?,
            last_attempt_at: o.get("last_attempt_at")?,
            last_success_at: o.get("last_success_at")?,
            last_error: o.get("last_error")?,
            failing_since: o.get("failing_since")?,
            attempts: o.get("attempts")?,
            next_attempt_at: o.get("next_attempt_at")?,
        })
    }
}

impl FromJson for Consent {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Consent {
            client_id: o.get("client_id")?,
            client_name: o.get("client_name")?,
            scope: o.get("scope")?,
            granted_at: o.get("granted_at")?,
        })
    }
}

impl FromJson for Factor {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(Factor {
            id: o.get("id")?,
            kind: o.get("kind")?,
            name: o.get("name")?,
            created_at: o.get("created_at")?,
            last_used_at: o.get("last_used_at")?,
        })
    }
}

impl FromJson for PasskeyChallenge {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(PasskeyChallenge { id: o.get("id")?, options: o.get("options")?, expires_at: o.get("expires_at")? })
    }
}

impl FromJson for TotpEnrolment {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        let mut o = Obj::new(value)?;
        Ok(TotpEnrolment {
            id: o.get("id")?,
            secret: o.get("secret")?,
            otpauth_uri: o.get("otpauth_uri")?,
            qr_svg: o.get("qr_svg")?,
            expires_at: o.get("expires_at")?,
        })
    }
}

impl FromJson for RecoveryCodes {
    fn from_json(value: Value) -> Result<Self, ApiError> {
        Ok(RecoveryCodes { codes: Obj::new(value)?.get("codes")? })
    }
}
