//! Form values to request bodies, checked before sending with the request types' own rules
//! (those the server runs, from api-types) and the few a form adds (a user needs some name, a
//! client some grant type). Only the email address rule is left to the server (its regular
//! expressions would double the WASM).

use std::collections::BTreeMap;

use gatehouse_api_types::field_errors::field_errors_of;
use gatehouse_api_types::{
    Account, AccountCreate, AccountPatch, Client, ClientCreate, ClientPatch, FieldError, GrantType, GroupCreate,
    GroupPatch, NamespaceCreate, NamespacePatch, PasswordSet, Permissions, SecretRotate, SigningAlg,
    TokenEndpointAuthMethod,
};
use serde_json::{Map, Value};
use uuid::Uuid;
use validator::Validate;

use crate::api::ApiError;

/// Collects the field errors of one form.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.to_owned(), message: message.into() });
    }

    /// Runs the rules of the request body, as the server will.
    fn validate(&mut self, body: &impl Validate) {
        self.0.extend(field_errors_of(body));
    }

    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::invalid(self.0))
        }
    }
}

/// A text input's value: trimmed, `None` when blank.
pub fn opt(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The non-blank lines of a textarea, trimmed.
pub fn lines(text: &str) -> Vec<String> {
    text.lines().filter_map(opt).collect()
}

pub fn namespace_create(slug: &str, display_name: &str) -> Result<NamespaceCreate, ApiError> {
    let body = NamespaceCreate { slug: slug.trim().to_owned(), display_name: display_name.trim().to_owned() };
    let mut errors = Errors::default();
    errors.validate(&body);
    errors.finish(body)
}

pub fn namespace_rename(display_name: &str) -> Result<NamespacePatch, ApiError> {
    let body = NamespacePatch { display_name: Some(display_name.trim().to_owned()), mfa: None };
    let mut errors = Errors::default();
    errors.validate(&body);
    errors.finish(body)
}

/// A new group's name and description (blank: none).
pub fn group_create(name: &str, description: &str) -> Result<GroupCreate, ApiError> {
    let body = GroupCreate { name: name.trim().to_owned(), description: opt(description) };
    let mut errors = Errors::default();
    errors.validate(&body);
    errors.finish(body)
}

/// A group's name and description as saved from its page (blank description: cleared).
pub fn group_patch(name: &str, description: &str) -> Result<GroupPatch, ApiError> {
    let body = GroupPatch { name: Some(name.trim().to_owned()), description: Some(opt(description)) };
    let mut errors = Errors::default();
    errors.validate(&body);
    errors.finish(body)
}

/// The create-user form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewAccount {
    pub username: String,
    pub email: String,
    pub phone_number: String,
    pub name: String,
    pub password: String,
}

pub fn account_create(f: &NewAccount) -> Result<AccountCreate, ApiError> {
    let mut errors = Errors::default();
    let (username, email, phone_number) = (opt(&f.username), opt(&f.email), opt(&f.phone_number));
    if username.is_none() && email.is_none() && phone_number.is_none() {
        errors.add("username", "give a username, an email or a phone number");
    }
    // Passwords are taken as typed (spaces count).
    let password = (!f.password.is_empty()).then(|| f.password.clone());
    let body = AccountCreate { username, email, phone_number, name: opt(&f.name), password, ..Default::default() };
    errors.validate(&body);
    errors.finish(body)
}

/// The edit-user form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountForm {
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub phone_number: String,
    pub phone_number_verified: bool,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub attributes: String,
}

impl AccountForm {
    pub fn from_account(a: &Account) -> Self {
        AccountForm {
            username: a.username.clone().unwrap_or_default(),
            email: a.email.clone().unwrap_or_default(),
            email_verified: a.email_verified,
            phone_number: a.phone_number.clone().unwrap_or_default(),
            phone_number_verified: a.phone_number_verified,
            name: a.name.clone().unwrap_or_default(),
            given_name: a.given_name.clone().unwrap_or_default(),
            family_name: a.family_name.clone().unwrap_or_default(),
            attributes: serde_json::to_string_pretty(&a.attributes).unwrap_or_else(|_| "{}".to_owned()),
        }
    }
}

/// The attributes textarea: a JSON object (blank is `{}`).
pub fn parse_attributes(text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("must be a JSON object, such as {\"department\": \"sales\"}".to_owned()),
        Err(e) => Err(format!("is not valid JSON ({e})")),
    }
}

/// A merge patch with the fields that differ from `original`; a blanked field becomes null.
pub fn account_patch(original: &Account, f: &AccountForm) -> Result<AccountPatch, ApiError> {
    let mut errors = Errors::default();
    let changed = |new: Option<String>, old: &Option<String>| (new != *old).then_some(new);
    let mut patch = AccountPatch {
        username: changed(opt(&f.username), &original.username),
        email: changed(opt(&f.email), &original.email),
        phone_number: changed(opt(&f.phone_number), &original.phone_number),
        name: changed(opt(&f.name), &original.name),
        given_name: changed(opt(&f.given_name), &original.given_name),
        family_name: changed(opt(&f.family_name), &original.family_name),
        ..Default::default()
    };
    // A changed address resets its verification unless the form says otherwise, so send it then.
    if f.email_verified != original.email_verified || patch.email.is_some() {
        patch.email_verified = Some(f.email_verified);
    }
    if f.phone_number_verified != original.phone_number_verified || patch.phone_number.is_some() {
        patch.phone_number_verified = Some(f.phone_number_verified);
    }
    match parse_attributes(&f.attributes) {
        Ok(map) if map != original.attributes => patch.attributes = Some(map),
        Ok(_) => {}
        Err(message) => errors.add("attributes", message),
    }
    errors.validate(&patch);
    errors.finish(patch)
}

/// True when the patch changes nothing.
pub fn is_empty_patch(p: &AccountPatch) -> bool {
    serde_json::to_value(p).ok().and_then(|v| v.as_object().map(Map::is_empty)).unwrap_or(false)
}

pub fn password_set(password: &str) -> Result<PasswordSet, ApiError> {
    let body = PasswordSet { password: password.to_owned() };
    let mut errors = Errors::default();
    errors.validate(&body);
    errors.finish(body)
}

/// Checks a list of grants for `permissions` (their syntax and number; the server checks what
/// the caller may grant).
pub fn check_permissions(grants: &[String]) -> Result<(), ApiError> {
    let mut errors = Errors::default();
    errors.validate(&Permissions { permissions: grants.to_vec() });
    errors.finish(())
}

/// The create-client form.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClient {
    pub name: String,
    pub permissions: Vec<String>,
    /// The grant types checked; the password grant is `password_grant_enabled`.
    pub grant_types: Vec<GrantType>,
    pub password_grant_enabled: bool,
    pub redirect_uris: String,
    pub user_namespace: String,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// `private_key_jwt`: the client's public keys as JWK Set JSON, or the URL it publishes them at.
    pub jwks: String,
    pub jwks_uri: String,
    pub access_token_alg: SigningAlg,
}

impl Default for NewClient {
    fn default() -> Self {
        NewClient {
            name: String::new(),
            permissions: Vec::new(),
            grant_types: vec![GrantType::ClientCredentials],
            password_grant_enabled: false,
            redirect_uris: String::new(),
            user_namespace: String::new(),
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            jwks: String::new(),
            jwks_uri: String::new(),
            access_token_alg: SigningAlg::RS256,
        }
    }
}

/// The keys of a `private_key_jwt` client: a JWK Set (JSON) or a URL, one of them; none for
/// other methods. (What a set or URL must be is checked with the request's own rules.)
fn client_keys(
    method: TokenEndpointAuthMethod,
    jwks: &str,
    jwks_uri: &str,
    errors: &mut Errors,
) -> (Option<serde_json::Value>, Option<String>) {
    if method != TokenEndpointAuthMethod::PrivateKeyJwt {
        return (None, None);
    }
    let (set, uri) = (jwks.trim(), jwks_uri.trim());
    match (set.is_empty(), uri.is_empty()) {
        (true, true) | (false, false) => {
            errors.add("jwks", "private_key_jwt needs the client's public keys: a JWK Set or its URL, one of them");
            (None, None)
        }
        (false, true) => match serde_json::from_str::<serde_json::Value>(set) {
            Ok(value) => (Some(value), None),
            Err(e) => {
                errors.add("jwks", format!("is not JSON: {e}"));
                (None, None)
            }
        },
        (true, false) => (None, Some(uri.to_owned())),
    }
}

pub fn client_create(f: &NewClient) -> Result<ClientCreate, ApiError> {
    let mut errors = Errors::default();
    let redirect_uris = lines(&f.redirect_uris);
    let checked = |t: &GrantType| match t {
        GrantType::Password => f.password_grant_enabled,
        other => f.grant_types.contains(other),
    };
    let grant_types: Vec<GrantType> = GrantType::ALL.iter().copied().filter(checked).collect();
    if grant_types.is_empty() {
        errors.add("grant_types", "choose at least one grant type");
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        errors.add("redirect_uris", "at least one is required for the authorization_code grant");
    }
    let (jwks, jwks_uri) = client_keys(f.token_endpoint_auth_method, &f.jwks, &f.jwks_uri, &mut errors);
    let body = ClientCreate {
        name: f.name.trim().to_owned(),
        permissions: f.permissions.clone(),
        grant_types,
        redirect_uris,
        password_grant_enabled: f.password_grant_enabled,
        user_namespace: opt(&f.user_namespace),
        owner_account_id: None,
        token_endpoint_auth_method: f.token_endpoint_auth_method,
        jwks,
        jwks_uri,
        access_token_ttl: None,
        access_token_alg: f.access_token_alg,
        post_logout_redirect_uris: Vec::new(),
        attribute_claims: BTreeMap::new(),
        require_pkce: true,
        skip_consent: false,
        registration_enabled: false,
        hybrid_enabled: false,
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
        require_signed_request_object: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    };
    errors.validate(&body);
    errors.finish(body)
}

/// The client page's OAuth settings form: how the client authenticates, its keys, hybrid
/// responses, pushed requests, DPoP and back-channel logout.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSettings {
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub jwks: String,
    pub jwks_uri: String,
    pub hybrid_enabled: bool,
    pub require_pushed_authorization_requests: bool,
    pub dpop_bound_access_tokens: bool,
    pub require_signed_request_object: bool,
    pub backchannel_logout_uri: String,
    pub backchannel_logout_session_required: bool,
}

impl ClientSettings {
    pub fn from_client(c: &Client) -> Self {
        ClientSettings {
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            jwks: c.jwks.as_ref().and_then(|j| serde_json::to_string_pretty(j).ok()).unwrap_or_default(),
            jwks_uri: c.jwks_uri.clone().unwrap_or_default(),
            hybrid_enabled: c.hybrid_enabled,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            require_signed_request_object: c.require_signed_request_object,
            backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
        }
    }
}

/// A merge patch of what the settings form changed (keys are removed when the client no longer
/// signs its assertions).
pub fn client_settings_patch(original: &Client, f: &ClientSettings) -> Result<ClientPatch, ApiError> {
    let mut errors = Errors::default();
    let mut body = ClientPatch::default();
    let method = f.token_endpoint_auth_method;
    if method != original.token_endpoint_auth_method {
        body.token_endpoint_auth_method = Some(method);
    }
    let (jwks, jwks_uri) = client_keys(method, &f.jwks, &f.jwks_uri, &mut errors);
    if jwks != original.jwks {
        body.jwks = Some(jwks);
    }
    if jwks_uri != original.jwks_uri {
        body.jwks_uri = Some(jwks_uri);
    }
    if f.hybrid_enabled != original.hybrid_enabled {
        body.hybrid_enabled = Some(f.hybrid_enabled);
    }
    if f.require_pushed_authorization_requests != original.require_pushed_authorization_requests {
        body.require_pushed_authorization_requests = Some(f.require_pushed_authorization_requests);
    }
    if f.dpop_bound_access_tokens != original.dpop_bound_access_tokens {
        body.dpop_bound_access_tokens = Some(f.dpop_bound_access_tokens);
    }
    if f.require_signed_request_object != original.require_signed_request_object {
        body.require_signed_request_object = Some(f.require_signed_request_object);
    }
    let logout_uri = Some(f.backchannel_logout_uri.trim().to_owned()).filter(|u| !u.is_empty());
    if logout_uri != original.backchannel_logout_uri {
        body.backchannel_logout_uri = Some(logout_uri);
    }
    if f.backchannel_logout_session_required != original.backchannel_logout_session_required {
        body.backchannel_logout_session_required = Some(f.backchannel_logout_session_required);
    }
    errors.validate(&body);
    errors.finish(body)
}

pub fn secret_rotate(overlap_seconds: u64) -> SecretRotate {
    SecretRotate { previous_secret_expires_in: Some(overlap_seconds) }
}

/// The patch that transfers a client to the account with the typed id.
pub fn client_transfer(owner_account_id: &str) -> Result<ClientPatch, ApiError> {
    match Uuid::parse_str(owner_account_id.trim()) {
        Ok(id) => Ok(ClientPatch { owner_account_id: Some(id), ..Default::default() }),
        Err(_) => Err(ApiError::field("owner_account_id", "must be an account id (a UUID)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn account() -> Account {
        serde_json::from_value(json!({
            "id": "6f1c1e1e-0000-4000-8000-000000000001", "namespace": "customers", "username": "ann",
            "email": "ann@example.com", "email_verified": true, "phone_number": null, "phone_number_verified": false,
            "name": "Ann", "given_name": null, "family_name": null, "attributes": {"tier": "gold"},
            "disabled": false, "has_password": true,
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn namespace_forms() {
        let ok = namespace_create(" shop ", " Shop ").unwrap();
        assert_eq!((ok.slug.as_str(), ok.display_name.as_str()), ("shop", "Shop"));
        let e = namespace_create("Shop!", "").unwrap_err();
        assert_eq!(e.errors_for("slug").len(), 1);
        assert_eq!(e.errors_for("display_name").len(), 1);
        assert!(namespace_rename("  ").is_err());
        assert_eq!(namespace_rename("New").unwrap().display_name.as_deref(), Some("New"));
    }

    #[test]
    fn account_create_sends_only_filled_fields() {
        let body =
            account_create(&NewAccount { username: "bob".into(), name: " ".into(), ..Default::default() }).unwrap();
        assert_eq!(serde_json::to_value(&body).unwrap()["username"], "bob");
        assert_eq!(body.name, None);
        assert_eq!(body.password, None);
        let e = account_create(&NewAccount {
            username: "a b".into(),
            email: "nope".into(),
            phone_number: "12".into(),
            password: "short".into(),
            ..Default::default()
        })
        .unwrap_err();
        // The email address is the server's to check (see api-types' `email-check` feature).
        for f in ["username", "phone_number", "password"] {
            assert_eq!(e.errors_for(f).len(), 1, "{f}");
        }
        assert!(account_create(&NewAccount::default()).is_err());
    }

    #[test]
    fn account_patch_is_a_merge_patch_of_the_changes() {
        let a = account();
        let mut f = AccountForm::from_account(&a);
        assert!(is_empty_patch(&account_patch(&a, &f).unwrap()));
        f.name = "".into();
        f.given_name = "Ann".into();
        let p = serde_json::to_value(account_patch(&a, &f).unwrap()).unwrap();
        assert_eq!(p, json!({"name": null, "given_name": "Ann"}));

        let mut f = AccountForm::from_account(&a);
        f.email = "new@example.com".into();
        let p = serde_json::to_value(account_patch(&a, &f).unwrap()).unwrap();
        assert_eq!(p, json!({"email": "new@example.com", "email_verified": true}));
    }

    #[test]
    fn attributes_must_be_an_object() {
        assert_eq!(parse_attributes("  ").unwrap(), Map::new());
        assert!(parse_attributes("[1]").unwrap_err().contains("JSON object"));
        assert!(parse_attributes("{").unwrap_err().contains("not valid JSON"));
        let a = account();
        let mut f = AccountForm::from_account(&a);
        f.attributes = r#"{"tier":"silver"}"#.into();
        assert_eq!(account_patch(&a, &f).unwrap().attributes.unwrap()["tier"], "silver");
        f.attributes = "3".into();
        assert_eq!(account_patch(&a, &f).unwrap_err().errors_for("attributes").len(), 1);
    }

    #[test]
    fn client_create_from_form() {
        let f = NewClient {
            name: " Billing ".into(),
            permissions: vec!["users:read@customers".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            redirect_uris: "https://app.example.com/cb\n\n  http://localhost:3000/cb \n".into(),
            user_namespace: "customers".into(),
            ..Default::default()
        };
        let c = client_create(&f).unwrap();
        assert_eq!(c.name, "Billing");
        assert_eq!(c.redirect_uris, vec!["https://app.example.com/cb", "http://localhost:3000/cb"]);
        assert_eq!(c.grant_types, vec![GrantType::AuthorizationCode, GrantType::RefreshToken]);
        assert_eq!(c.token_endpoint_auth_method, TokenEndpointAuthMethod::ClientSecretBasic);
        assert!(c.require_pkce);

        let bad = NewClient {
            grant_types: vec![GrantType::AuthorizationCode],
            redirect_uris: "http://evil.example.com/cb".into(),
            ..Default::default()
        };
        let e = client_create(&bad).unwrap_err();
        assert_eq!(e.errors_for("name").len(), 1);
        assert_eq!(e.errors_for("redirect_uris").len(), 1);

        let pw = client_create(&NewClient {
            name: "x".into(),
            grant_types: vec![],
            password_grant_enabled: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(pw.grant_types, vec![GrantType::Password]);
        assert!(pw.password_grant_enabled);
    }

    #[test]
    fn forms_are_checked_with_the_server_rules() {
        // No look-alike email rule: the server's is the only one (ann@localhost is an address to it).
        assert!(account_create(&NewAccount { email: "ann@localhost".into(), ..Default::default() }).is_ok());
        let every = client_create(&NewClient {
            name: "x".into(),
            grant_types: GrantType::ALL.to_vec(),
            password_grant_enabled: true,
            redirect_uris: "https://app.example.com/cb".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(every.grant_types, GrantType::ALL, "all four grant types");
        let bad = client_create(&NewClient { name: "x\u{7}".into(), ..Default::default() }).unwrap_err();
        assert_eq!(bad.errors_for("name"), ["must not contain control characters"]);
    }

    #[test]
    fn other_bodies() {
        assert_eq!(serde_json::to_value(secret_rotate(0)).unwrap(), json!({"previous_secret_expires_in": 0}));
        assert!(client_transfer("nope").unwrap_err().errors_for("owner_account_id").len() == 1);
        let p = client_transfer(" 6f1c1e1e-0000-4000-8000-000000000001 ").unwrap();
        assert_eq!(
            serde_json::to_value(p).unwrap(),
            json!({"owner_account_id": "6f1c1e1e-0000-4000-8000-000000000001"})
        );
        assert!(password_set("short").is_err());
        assert!(
            check_permissions(&["users:read@x1".into(), "bad".into()]).unwrap_err().errors_for("permissions").len()
                == 1
        );
        assert_eq!(lines(" a \n\n b"), vec!["a", "b"]);
    }

    #[test]
    fn a_private_key_jwt_client_brings_a_key_set_or_its_url() {
        let mut f = NewClient {
            name: "signer".into(),
            token_endpoint_auth_method: TokenEndpointAuthMethod::PrivateKeyJwt,
            ..NewClient::default()
        };
        let e = client_create(&f).unwrap_err();
        assert_eq!(e.errors_for("jwks").len(), 1, "neither");
        f.jwks = r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": "x", "y": "y"}]}"#.into();
        let body = client_create(&f).unwrap();
        assert_eq!(body.jwks.unwrap()["keys"][0]["kid"], "k1");
        assert_eq!(body.jwks_uri, None);
        f.jwks_uri = "https://rp.example/jwks.json".into();
        assert_eq!(client_create(&f).unwrap_err().errors_for("jwks").len(), 1, "both");
        f.jwks = String::new();
        assert_eq!(client_create(&f).unwrap().jwks_uri.as_deref(), Some("https://rp.example/jwks.json"));
        f.jwks_uri = "http://rp.example/jwks".into();
        assert_eq!(client_create(&f).unwrap_err().errors_for("jwks_uri").len(), 1, "plain http");
        f.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretBasic;
        assert_eq!(client_create(&f).unwrap().jwks_uri, None, "keys only for private_key_jwt");
    }

    #[test]
    fn client_settings_patch_only_what_changed_and_drops_keys_with_the_method() {
        let key = json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k1", "x": "x", "y": "y" }] });
        let mut client: Client = serde_json::from_value(json!({
            "id": Uuid::nil(), "client_id": "c", "name": "n", "owner": null, "permissions": [],
            "effective_permissions": [], "grant_types": ["authorization_code"], "redirect_uris": [],
            "password_grant_enabled": false, "user_namespace": null,
            "token_endpoint_auth_method": "private_key_jwt", "jwks": key, "jwks_uri": null,
            "access_token_ttl": null, "access_token_alg": "RS256", "post_logout_redirect_uris": [],
            "attribute_claims": {}, "require_pkce": true, "skip_consent": false, "registration_enabled": false,
            "hybrid_enabled": false, "require_pushed_authorization_requests": false, "disabled": false,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "last_used_at": null
        }))
        .unwrap();
        let mut f = ClientSettings::from_client(&client);
        let unchanged = client_settings_patch(&client, &f).unwrap();
        assert_eq!(serde_json::to_value(&unchanged).unwrap(), json!({}));
        f.hybrid_enabled = true;
        f.require_pushed_authorization_requests = true;
        f.dpop_bound_access_tokens = true;
        f.require_signed_request_object = true;
        f.backchannel_logout_uri = " https://rp.example/logout ".into();
        let on = client_settings_patch(&client, &f).unwrap();
        assert_eq!(
            serde_json::to_value(&on).unwrap(),
            json!({ "hybrid_enabled": true, "require_pushed_authorization_requests": true,
                    "dpop_bound_access_tokens": true, "require_signed_request_object": true,
                    "backchannel_logout_uri": "https://rp.example/logout" })
        );
        f.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretPost;
        let away = client_settings_patch(&client, &f).unwrap();
        assert_eq!(away.token_endpoint_auth_method, Some(TokenEndpointAuthMethod::ClientSecretPost));
        assert_eq!(away.jwks, Some(None), "the keys go with the method");
        client.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretBasic;
        client.jwks = None;
        let mut f = ClientSettings::from_client(&client);
        f.token_endpoint_auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
        assert_eq!(client_settings_patch(&client, &f).unwrap_err().errors_for("jwks").len(), 1, "keys needed");
        f.jwks_uri = "https://rp.example/jwks.json".into();
        let signing = client_settings_patch(&client, &f).unwrap();
        assert_eq!(signing.jwks_uri, Some(Some("https://rp.example/jwks.json".into())));
    }
}
