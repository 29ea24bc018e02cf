//! API clients. A client is owned by the account that created it and never does more than its
//! owner may do at the time of the request: its effective permissions are the meet of its
//! grants with its owner's, and a disabled or deleted owner leaves it nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use gatehouse_api_types::grant::{self, Grant, ANY};
use gatehouse_api_types::{
    Client as ApiClient, ClientCreate, ClientPatch, DroppedGrant, EffectivePermissions,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::audit::{NewEvent, REDACTED};
use super::{grant_strings, parse_request_grants, Context, OwnerRef, PageRequest, Precondition};
use crate::db::{self, Conn};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub owner_account_id: Option<Uuid>,
    pub permissions: Vec<Grant>,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub password_grant_enabled: bool,
    pub user_namespace: Option<String>,
    pub token_endpoint_auth_method: String,
    pub access_token_ttl: Option<u32>,
    pub access_token_alg: String,
    pub post_logout_redirect_uris: Vec<String>,
    pub attribute_claims: BTreeMap<String, String>,
    pub require_pkce: bool,
    pub disabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl Client {
    /// A public client (a browser or native app) has no secret and must use PKCE.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == "none"
    }

    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

/// What the token endpoint needs to know of a client, read with its credential.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthProfile {
    pub grant_types: Vec<String>,
    pub access_token_ttl: Option<u32>,
    pub access_token_alg: String,
    pub token_endpoint_auth_method: String,
}

impl OAuthProfile {
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

/// The owning account, as far as a client needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    pub id: Uuid,
    pub namespace: String,
    pub username: Option<String>,
    pub disabled: bool,
    pub permissions: Vec<Grant>,
}

impl Owner {
    pub fn to_ref(&self) -> OwnerRef {
        OwnerRef { account_id: self.id, namespace: self.namespace.clone(), username: self.username.clone() }
    }
}

/// A client with its owner, loaded together.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientView {
    pub client: Client,
    pub owner: Option<Owner>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub id: Uuid,
    pub client: Uuid,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Secret {
    pub fn new(client: Uuid, secret_hash: String) -> Secret {
        Secret { id: Uuid::now_v7(), client, secret_hash, created_at: db::now(), expires_at: None }
    }
}

impl ClientView {
    /// Why the client can do nothing at all right now, if that is the case.
    fn blocked(&self) -> Option<&'static str> {
        if self.client.disabled {
            Some("the client is disabled")
        } else {
            match &self.owner {
                None => Some("the client has no owner (the owning account was deleted)"),
                Some(owner) if owner.disabled => Some("the owner account is disabled"),
                Some(_) => None,
            }
        }
    }

    /// What the client may do right now.
    pub fn effective(&self) -> Vec<Grant> {
        match (&self.owner, self.blocked()) {
            (Some(owner), None) => grant::effective(&self.client.permissions, &owner.permissions),
            _ => Vec::new(),
        }
    }

    pub fn effective_permissions(&self) -> EffectivePermissions {
        let owner_grants = self.owner.as_ref().map(|o| o.permissions.clone()).unwrap_or_default();
        let dropped = match self.blocked() {
            Some(reason) => self
                .client
                .permissions
                .iter()
                .map(|g| DroppedGrant { grant: g.to_string(), reason: reason.to_owned() })
                .collect(),
            None => grant::dropped(&self.client.permissions, &owner_grants)
                .into_iter()
                .map(|d| DroppedGrant { grant: d.grant.to_string(), reason: d.reason })
                .collect(),
        };
        EffectivePermissions {
            granted: grant_strings(&self.client.permissions),
            owner: grant_strings(&owner_grants),
            effective: grant_strings(&self.effective()),
            dropped,
        }
    }

    /// The namespace that scopes grants over this client: its owner's (`*` when it has none).
    pub fn scope(&self) -> &str {
        self.owner.as_ref().map(|o| o.namespace.as_str()).unwrap_or(ANY)
    }

    pub fn to_api(&self) -> ApiClient {
        let c = &self.client;
        ApiClient {
            id: c.id,
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            owner: self.owner.as_ref().map(|o| o.to_ref().to_api()),
            permissions: grant_strings(&c.permissions),
            effective_permissions: grant_strings(&self.effective()),
            grant_types: c.grant_types.clone(),
            redirect_uris: c.redirect_uris.clone(),
            password_grant_enabled: c.password_grant_enabled,
            user_namespace: c.user_namespace.clone(),
            token_endpoint_auth_method: c.token_endpoint_auth_method.clone(),
            access_token_ttl: c.access_token_ttl,
            access_token_alg: c.access_token_alg.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            attribute_claims: c.attribute_claims.clone(),
            require_pkce: c.require_pkce,
            disabled: c.disabled,
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_used_at: c.last_used_at,
        }
    }

    pub fn etag(&self) -> String {
        Precondition::etag(self.client.version)
    }

    fn audit_view(&self) -> Value {
        let c = &self.client;
        json!({
            "client_id": c.client_id,
            "name": c.name,
            "owner_account_id": c.owner_account_id,
            "permissions": grant_strings(&c.permissions),
            "grant_types": c.grant_types,
            "redirect_uris": c.redirect_uris,
            "password_grant_enabled": c.password_grant_enabled,
            "user_namespace": c.user_namespace,
            "token_endpoint_auth_method": c.token_endpoint_auth_method,
            "access_token_ttl": c.access_token_ttl,
            "access_token_alg": c.access_token_alg,
            "post_logout_redirect_uris": c.post_logout_redirect_uris,
            "attribute_claims": c.attribute_claims,
            "require_pkce": c.require_pkce,
            "disabled": c.disabled,
        })
    }

    fn event(&self, ctx: &Context, action: &str) -> NewEvent {
        let event = ctx.event(action).target("client", self.client.id);
        match &self.owner {
            Some(owner) => event.namespace(&owner.namespace),
            None => event,
        }
    }
}

fn is_owner(ctx: &Context, view: &ClientView) -> bool {
    view.client.owner_account_id == Some(ctx.caller.acting_account_id())
}

/// Owners always see their clients; others need `clients:read` over the owner's namespace.
/// A client the caller may not see is reported as missing, like one that does not exist.
fn require_read(ctx: &Context, view: &ClientView) -> Result<()> {
    if is_owner(ctx, view) || ctx.caller.may("clients", "read", view.scope()) {
        Ok(())
    } else {
        Err(not_found(view.client.id))
    }
}

/// Owners may always disable, rotate and delete their clients; others need `clients:write`.
fn require_manage(ctx: &Context, view: &ClientView) -> Result<()> {
    require_read(ctx, view)?;
    if is_owner(ctx, view) {
        Ok(())
    } else {
        ctx.caller.authorize("clients", "write", view.scope())
    }
}

fn not_found(id: Uuid) -> Error {
    Error::NotFound(format!("no client {id}"))
}

pub fn find(conn: &mut Conn, id: Uuid) -> Result<ClientView> {
    db::clients::get(conn, id)?.ok_or_else(|| not_found(id))
}

/// Checks the OAuth settings of a client as they will be stored.
fn check_oauth_settings(client: &mut Client) -> Result<()> {
    if client.is_public() {
        if client.password_grant_enabled || client.grant_types.iter().any(|t| t == "client_credentials" || t == "password") {
            return Err(Error::invalid("grant_types", "a public client (token_endpoint_auth_method none) cannot use client_credentials or password"));
        }
        if !client.require_pkce {
            return Err(Error::invalid("require_pkce", "a public client must use PKCE"));
        }
    }
    // The password grant is switched by `password_grant_enabled` alone.
    client.grant_types.retain(|t| t != "password");
    if client.password_grant_enabled {
        client.grant_types.push("password".into());
    }
    client.grant_types.sort();
    client.grant_types.dedup();
    if client.grant_types.iter().any(|t| t == "authorization_code") && client.redirect_uris.is_empty() {
        return Err(Error::invalid("redirect_uris", "at least one is required for the authorization_code grant"));
    }
    if client.grant_types.iter().any(|t| t == "refresh_token")
        && !client.grant_types.iter().any(|t| t == "authorization_code" || t == "password")
    {
        return Err(Error::invalid("grant_types", "refresh_token needs authorization_code or password"));
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
fn check_redirect_targets(field: &str, uris: &[String]) -> Result<()> {
    match uris.iter().find(|u| !redirect_target_ok(u)) {
        Some(bad) => {
            let bad: String = bad.chars().take(80).collect();
            Err(Error::invalid(field, format!("'{bad}' is not a URL to send a browser to (https, loopback http or a private-use scheme)")))
        }
        None => Ok(()),
    }
}

fn check_user_namespace(conn: &mut Conn, namespace: Option<&str>) -> Result<()> {
    if let Some(ns) = namespace {
        if db::namespaces::get(conn, ns)?.is_none() {
            return Err(Error::invalid("user_namespace", format!("namespace {ns} does not exist")));
        }
    }
    Ok(())
}

/// The account that is to own a client: the caller's acting account, or another account the
/// caller may hand clients to (`clients:write@*` and `permissions:write@<its namespace>`).
fn new_owner(conn: &mut Conn, ctx: &Context, requested: Option<Uuid>) -> Result<Owner> {
    let acting = ctx.caller.acting_account_id();
    let id = requested.unwrap_or(acting);
    let owner = db::clients::owner(conn, id)?.ok_or_else(|| Error::invalid("owner_account_id", format!("no account {id}")))?;
    if id != acting {
        ctx.caller.authorize("clients", "write", ANY)?;
        ctx.caller.authorize("permissions", "write", &owner.namespace)?;
    }
    if owner.disabled {
        return Err(Error::invalid("owner_account_id", "the account is disabled"));
    }
    Ok(owner)
}

/// Creates a client; `secret_hash` is its first secret (none for a public client).
pub fn create(conn: &mut Conn, ctx: &Context, input: ClientCreate, secret_hash: Option<String>) -> Result<ClientView> {
    ctx.caller.authorize("clients", "write", ANY)?;
    let permissions = grant::normalize(parse_request_grants("permissions", &input.permissions)?);
    ctx.caller.require_holds_all(&permissions)?;
    let owner = new_owner(conn, ctx, input.owner_account_id)?;
    check_user_namespace(conn, input.user_namespace.as_deref())?;
    let now = db::now();
    let mut client = Client {
        id: Uuid::now_v7(),
        client_id: super::secrets::generate_client_id(),
        name: input.name,
        owner_account_id: Some(owner.id),
        permissions,
        grant_types: input.grant_types,
        redirect_uris: input.redirect_uris,
        password_grant_enabled: input.password_grant_enabled,
        user_namespace: input.user_namespace,
        token_endpoint_auth_method: input.token_endpoint_auth_method,
        access_token_ttl: input.access_token_ttl,
        access_token_alg: input.access_token_alg,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        attribute_claims: input.attribute_claims,
        require_pkce: input.require_pkce,
        disabled: false,
        version: 1,
        created_at: now,
        updated_at: now,
        last_used_at: None,
    };
    check_redirect_targets("redirect_uris", &client.redirect_uris)?;
    check_redirect_targets("post_logout_redirect_uris", &client.post_logout_redirect_uris)?;
    check_oauth_settings(&mut client)?;
    if client.is_public() != secret_hash.is_none() {
        return Err(Error::internal("a confidential client needs a secret, a public one has none"));
    }
    db::clients::insert(conn, &client)?;
    if let Some(hash) = secret_hash {
        db::clients::insert_secret(conn, &Secret::new(client.id, hash))?;
    }
    let view = ClientView { client, owner: Some(owner) };
    let mut after = view.audit_view();
    if !view.client.is_public() {
        after["client_secret"] = json!(REDACTED);
    }
    db::audit::append(conn, vec![view.event(ctx, "client.create").diff(None, Some(after))])?;
    Ok(view)
}

pub fn get(conn: &mut Conn, ctx: &Context, id: Uuid) -> Result<ClientView> {
    let view = find(conn, id)?;
    require_read(ctx, &view)?;
    Ok(view)
}

pub fn effective_permissions(conn: &mut Conn, ctx: &Context, id: Uuid) -> Result<EffectivePermissions> {
    Ok(get(conn, ctx, id)?.effective_permissions())
}

/// Whose clients to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerFilter {
    All,
    Me,
    Account(Uuid),
}

impl OwnerFilter {
    pub fn parse(text: Option<&str>) -> Result<OwnerFilter> {
        match text {
            None => Ok(OwnerFilter::All),
            Some("me") => Ok(OwnerFilter::Me),
            Some(id) => Uuid::parse_str(id)
                .map(OwnerFilter::Account)
                .map_err(|_| Error::invalid("owner", "must be 'me' or an account id")),
        }
    }
}

pub fn list(conn: &mut Conn, ctx: &Context, owner: OwnerFilter, page: &PageRequest) -> Result<(Vec<ClientView>, Option<String>)> {
    let acting = ctx.caller.acting_account_id();
    let owner = match owner {
        OwnerFilter::Me => Some(acting),
        OwnerFilter::Account(id) if id == acting => Some(id),
        OwnerFilter::Account(id) => {
            let account = db::clients::owner(conn, id)?;
            let scope = account.as_ref().map(|a| a.namespace.clone()).unwrap_or_else(|| ANY.to_owned());
            ctx.caller.authorize("clients", "read", &scope)?;
            Some(id)
        }
        OwnerFilter::All => {
            ctx.caller.authorize("clients", "read", ANY)?;
            None
        }
    };
    let rows = db::clients::list(conn, owner, page.after.as_deref(), page.fetch_limit())?;
    Ok(page.finish(rows, |v| v.client.id.to_string()))
}

pub fn update(conn: &mut Conn, ctx: &Context, id: Uuid, patch: ClientPatch, condition: Option<&Precondition>) -> Result<ClientView> {
    let before = find(conn, id)?;
    require_manage(ctx, &before)?;
    Precondition::check(condition, before.client.version)?;
    let mut after = before.client.clone();
    let mut transferred_to = None;
    if let Some(name) = patch.name {
        after.name = name;
    }
    if let Some(texts) = patch.permissions {
        let wanted = grant::normalize(parse_request_grants("permissions", &texts)?);
        let added = wanted.iter().filter(|g| !before.client.permissions.contains(g));
        let removed = before.client.permissions.iter().filter(|g| !wanted.contains(g));
        ctx.caller.require_holds_all(added.chain(removed))?;
        after.permissions = wanted;
    }
    if let Some(types) = patch.grant_types {
        after.grant_types = types;
    }
    if let Some(uris) = patch.redirect_uris {
        check_redirect_targets("redirect_uris", &uris)?;
        after.redirect_uris = uris;
    }
    if let Some(enabled) = patch.password_grant_enabled {
        if enabled && !before.client.password_grant_enabled {
            // Only an administrator of all clients may open the password grant.
            ctx.caller.authorize("clients", "write", ANY)?;
        }
        after.password_grant_enabled = enabled;
    }
    if let Some(namespace) = patch.user_namespace {
        after.user_namespace = namespace;
    }
    if let Some(disabled) = patch.disabled {
        after.disabled = disabled;
    }
    if let Some(ttl) = patch.access_token_ttl {
        after.access_token_ttl = ttl;
    }
    if let Some(alg) = patch.access_token_alg {
        after.access_token_alg = alg;
    }
    if let Some(uris) = patch.post_logout_redirect_uris {
        check_redirect_targets("post_logout_redirect_uris", &uris)?;
        after.post_logout_redirect_uris = uris;
    }
    if let Some(claims) = patch.attribute_claims {
        after.attribute_claims = claims;
    }
    if let Some(require) = patch.require_pkce {
        after.require_pkce = require;
    }
    if let Some(new_owner_id) = patch.owner_account_id {
        if Some(new_owner_id) != before.client.owner_account_id {
            ctx.caller.authorize("clients", "write", ANY)?;
            let owner = db::clients::owner(conn, new_owner_id)?
                .ok_or_else(|| Error::invalid("owner_account_id", format!("no account {new_owner_id}")))?;
            ctx.caller.authorize("permissions", "write", &owner.namespace)?;
            if owner.disabled {
                return Err(Error::invalid("owner_account_id", "the account is disabled"));
            }
            after.owner_account_id = Some(owner.id);
            transferred_to = Some(owner);
        }
    }
    check_oauth_settings(&mut after)?;
    check_user_namespace(conn, after.user_namespace.as_deref())?;
    after.version += 1;
    after.updated_at = db::now();
    db::clients::update(conn, &after, before.client.version)?;

    let only_disabled_changed = {
        let mut same = before.client.clone();
        same.disabled = after.disabled;
        same.version = after.version;
        same.updated_at = after.updated_at;
        same == after && before.client.disabled != after.disabled
    };
    let action = if transferred_to.is_some() {
        "client.owner.transfer"
    } else if only_disabled_changed && after.disabled {
        "client.disable"
    } else if only_disabled_changed {
        "client.enable"
    } else {
        "client.update"
    };
    let owner = transferred_to.or_else(|| before.owner.clone());
    let view = ClientView { client: after, owner };
    db::audit::append(conn, vec![view.event(ctx, action).diff(Some(before.audit_view()), Some(view.audit_view()))])?;
    Ok(view)
}

pub fn delete(conn: &mut Conn, ctx: &Context, id: Uuid, condition: Option<&Precondition>) -> Result<()> {
    let before = find(conn, id)?;
    require_manage(ctx, &before)?;
    Precondition::check(condition, before.client.version)?;
    db::clients::delete(conn, id)?;
    db::audit::append(conn, vec![before.event(ctx, "client.delete").diff(Some(before.audit_view()), None)])?;
    Ok(())
}

/// Issues a new secret. The previous ones keep working for `overlap` (zero ends them now).
/// Whoever rotates receives a working credential, so they must hold everything the client
/// may do: a client cannot mint itself a sibling's wider powers.
pub fn rotate_secret(
    conn: &mut Conn,
    ctx: &Context,
    id: Uuid,
    secret_hash: String,
    overlap: Duration,
) -> Result<(ClientView, Option<DateTime<Utc>>)> {
    let view = find(conn, id)?;
    require_manage(ctx, &view)?;
    if view.client.is_public() {
        return Err(Error::Conflict("a public client has no secret to rotate".into()));
    }
    if let Some(lacking) = view.effective().iter().find_map(|g| grant::missing(&ctx.caller.effective, g)) {
        return Err(Error::Forbidden {
            detail: format!("you cannot obtain a credential for a client that may do {lacking}, which you may not"),
            missing: Some(lacking.to_string()),
        });
    }
    let now = db::now();
    let previous_expire_at = now + overlap;
    let active = db::clients::active_secrets(conn, id, now)?;
    db::clients::delete_expired_secrets(conn, id, now)?;
    db::clients::expire_secrets_by(conn, id, previous_expire_at)?;
    db::clients::insert_secret(conn, &Secret::new(id, secret_hash))?;
    let previous = (!active.is_empty()).then_some(previous_expire_at);
    db::audit::append(
        conn,
        vec![view.event(ctx, "client.secret.rotate").changes(json!({
            "client_secret": REDACTED,
            "previous_secrets": active.len(),
            "previous_secret_expires_at": previous,
        }))],
    )?;
    Ok((view, previous))
}
