//! The first administrator: on an empty database only.

use gatehouse_api_types::grant::Grant;
use gatehouse_api_types::{AccountCreate, GrantType, SigningAlg, TokenEndpointAuthMethod};
use serde_json::json;
use uuid::Uuid;

use super::accounts::Account;
use super::audit::{Actor, NewEvent, REDACTED};
use super::clients::{Client, Secret};
use super::namespaces::Namespace;
use super::{grant_strings, secrets};
use crate::db::{self, Conn};
use crate::error::{Error, Result};

pub const SYSTEM: &str = "system";

pub struct Bootstrapped {
    pub account_id: Uuid,
    pub client_id: String,
}

/// Creates namespace `system`, `username` in it holding `*:*@*`, and a client owned by it
/// holding `*:*@*` with the given secret. Fails, changing nothing, unless the database is empty.
pub fn run(
    conn: &mut Conn,
    username: &str,
    password_hash: Option<String>,
    secret_hash: String,
) -> Result<Bootstrapped> {
    if db::namespaces::get(conn, SYSTEM)?.is_some() || db::accounts::count_all(conn)? > 0 {
        return Err(Error::Conflict("the database is already bootstrapped; nothing was changed".into()));
    }
    let superuser = Grant::parse("*:*@*").map_err(Error::internal)?;
    let now = db::now();
    let namespace = Namespace {
        slug: SYSTEM.into(),
        display_name: "System".into(),
        version: 1,
        created_at: now,
        updated_at: now,
        mfa: Default::default(),
    };
    db::namespaces::insert(conn, &namespace)
        .map_err(|_| Error::Conflict("the database is already bootstrapped; nothing was changed".into()))?;

    let mut account = Account::new(
        SYSTEM,
        AccountCreate { username: Some(username.to_owned()), ..Default::default() },
        password_hash,
    )?;
    account.permissions = vec![superuser.clone()];
    db::accounts::insert(conn, &account)?;

    let client = Client {
        id: Uuid::now_v7(),
        client_id: secrets::generate_client_id(),
        name: "bootstrap".into(),
        owner_account_id: Some(account.id),
        permissions: vec![superuser],
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: Vec::new(),
        password_grant_enabled: false,
        user_namespace: None,
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        jwks: None,
        jwks_uri: None,
        access_token_ttl: None,
        access_token_alg: SigningAlg::RS256,
        post_logout_redirect_uris: Vec::new(),
        attribute_claims: Default::default(),
        require_pkce: true,
        skip_consent: false,
        registration_enabled: false,
        hybrid_enabled: false,
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
        require_signed_request_object: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        tokens_valid_after: None,
        disabled: false,
        version: 1,
        created_at: now,
        updated_at: now,
        last_used_at: None,
    };
    db::clients::insert(conn, &client)?;
    db::clients::insert_secret(conn, &Secret::new(client.id, secret_hash))?;
    let console = console_client(&client);
    db::clients::insert(conn, &console)?;

    let system = || NewEvent::new(Actor::system(), "bootstrap").namespace(SYSTEM);
    db::audit::append(
        conn,
        vec![
            NewEvent { action: "namespace.create".into(), ..system() }.target("namespace", SYSTEM).diff(None, Some(json!({ "slug": SYSTEM }))),
            NewEvent { action: "user.create".into(), ..system() }.target("account", account.id).diff(None, Some(account.audit_view())),
            NewEvent { action: "client.create".into(), ..system() }.target("client", console.id).diff(
                None,
                Some(json!({ "client_id": console.client_id, "owner_account_id": account.id, "grant_types": console.grant_types })),
            ),
            NewEvent { action: "client.create".into(), ..system() }.target("client", client.id).diff(
                None,
                Some(json!({
                    "client_id": client.client_id,
                    "owner_account_id": account.id,
                    "permissions": grant_strings(&client.permissions),
                    "client_secret": REDACTED,
                })),
            ),
        ],
    )?;
    Ok(Bootstrapped { account_id: account.id, client_id: client.client_id })
}

/// The built-in public client the console signs in with: authorization code + PKCE for the
/// accounts of `system`, its redirect URI set when the server knows its issuer. It holds no
/// grants of its own; a console session acts with its account's grants.
fn console_client(bootstrap: &Client) -> Client {
    Client {
        id: Uuid::now_v7(),
        client_id: super::clients::CONSOLE_CLIENT_ID.into(),
        name: "Gatehouse console".into(),
        permissions: Vec::new(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        user_namespace: Some(SYSTEM.into()),
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        skip_consent: true,
        ..bootstrap.clone()
    }
}
