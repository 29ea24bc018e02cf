//! The OAuth settings of a client: the checks they pass as they will be stored, and which of
//! them decide where the client's codes and tokens go (changing those hands the client's tokens
//! to whoever makes the change: see [`super::power`]).

use gatehouse_api_types::grant::ANY;
use gatehouse_api_types::{GrantType, TokenEndpointAuthMethod};

use super::bootstrap::SYSTEM;
use super::clients::Client;
use super::Context;
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// The settings that route a client's codes and tokens: whoever changes them could receive them.
pub fn token_routing(c: &Client) -> impl PartialEq + '_ {
    (
        (&c.redirect_uris, &c.post_logout_redirect_uris, &c.grant_types, c.password_grant_enabled, c.hybrid_enabled),
        (&c.token_endpoint_auth_method, &c.user_namespace, c.require_pkce, c.skip_consent, c.registration_enabled),
        // Whoever sets a client's keys can authenticate as it; its logout tokens are signed by
        // the server for it.
        (&c.jwks, &c.jwks_uri, &c.backchannel_logout_uri),
    )
}

/// Who may turn on the switches only an administrator should: the password grant, hybrid
/// responses (an ID token through the browser) and skipping consent (all `clients:write@*`); self-registration into the user namespace
/// (`users:write@<it>`, never into `system`, whose accounts administer Gatehouse).
pub fn check_switches(ctx: &Context, before: Option<&Client>, after: &Client) -> Result<()> {
    let turned_on = |was: fn(&Client) -> bool| was(after) && !before.is_some_and(was);
    if turned_on(|c| c.password_grant_enabled) || turned_on(|c| c.skip_consent) || turned_on(|c| c.hybrid_enabled) {
        ctx.caller.authorize("clients", "write", ANY)?;
    }
    let registration_target_changed = before.is_some_and(|b| b.user_namespace != after.user_namespace);
    if after.registration_enabled && (turned_on(|c| c.registration_enabled) || registration_target_changed) {
        let Some(namespace) = after.user_namespace.as_deref() else {
            return Err(Error::invalid(
                "registration_enabled",
                "registration needs a user_namespace to register accounts into",
            ));
        };
        if namespace == SYSTEM {
            return Err(Error::invalid(
                "registration_enabled",
                "nobody registers into system: its accounts are created by administrators",
            ));
        }
        ctx.caller.authorize("users", "write", namespace)?;
    }
    Ok(())
}

/// Checks the OAuth settings of a client as they will be stored.
pub fn check_oauth_settings(client: &mut Client) -> Result<()> {
    if client.is_public() {
        if client.password_grant_enabled
            || client.grant_types.iter().any(|t| matches!(t, GrantType::ClientCredentials | GrantType::Password))
        {
            return Err(Error::invalid(
                "grant_types",
                "a public client (token_endpoint_auth_method none) cannot use client_credentials or password",
            ));
        }
        if !client.require_pkce {
            return Err(Error::invalid("require_pkce", "a public client must use PKCE"));
        }
    }
    if client.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt
        && client.jwks.is_some() == client.jwks_uri.is_some()
    {
        return Err(Error::invalid("jwks", "private_key_jwt needs the client's keys: jwks or jwks_uri, one of them"));
    }
    if let Some(set) = &client.jwks {
        super::client_assertion::check_key_set(set).map_err(|why| Error::invalid("jwks", why))?;
    }
    // The password grant is switched by `password_grant_enabled` alone.
    client.grant_types.retain(|t| *t != GrantType::Password);
    if client.password_grant_enabled {
        client.grant_types.push(GrantType::Password);
    }
    // Stored and shown in the order of their names.
    client.grant_types.sort_by_key(|t| t.as_str());
    client.grant_types.dedup();
    if client.allows_grant(GrantType::AuthorizationCode) && client.redirect_uris.is_empty() {
        return Err(Error::invalid("redirect_uris", "at least one is required for the authorization_code grant"));
    }
    if client.hybrid_enabled && !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(Error::invalid("hybrid_enabled", "hybrid responses need the authorization_code grant"));
    }
    if client.allows_grant(GrantType::RefreshToken)
        && !client
            .grant_types
            .iter()
            .any(|t| matches!(t, GrantType::AuthorizationCode | GrantType::Password | GrantType::DeviceCode))
    {
        return Err(Error::invalid(
            "grant_types",
            "refresh_token needs authorization_code, password or the device code",
        ));
    }
    Ok(())
}

/// True when the URL parser that builds the redirect (`authorize::redirect_with`) reads `uri`
/// as a URL, and plain http goes to a loopback host only. Found by fuzzing: the field check
/// accepted URIs this parser refuses (so no code could be added) or reads as another host
/// (`http://127.evil.example/`, `http://evil.example\@127.0.0.1/`).
pub fn redirect_target_ok(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else { return false };
    match url.scheme() {
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        "https" => url.host().is_some(),
        _ => true,
    }
}

/// Redirect URIs a request sets (stored ones that predate this check stay as they are).
pub fn check_redirect_targets(field: &str, uris: &[String]) -> Result<()> {
    match uris.iter().find(|u| !redirect_target_ok(u)) {
        Some(bad) => {
            let bad: String = bad.chars().take(80).collect();
            Err(Error::invalid(
                field,
                format!("'{bad}' is not a URL to send a browser to (https, loopback http or a private-use scheme)"),
            ))
        }
        None => Ok(()),
    }
}

pub fn check_user_namespace(conn: &mut Conn, namespace: Option<&str>) -> Result<()> {
    if let Some(ns) = namespace {
        if db::namespaces::get(conn, ns)?.is_none() {
            return Err(Error::invalid("user_namespace", format!("namespace {ns} does not exist")));
        }
    }
    Ok(())
}
