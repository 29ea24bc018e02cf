//! API clients. A client is owned by the account that created it and never does more than its
//! owner may do at the time of the request: its effective permissions are the meet of its
//! grants with its owner's, and a disabled or deleted owner leaves it nothing. The records
//! ([`Client`], [`ClientView`], [`OwningAccount`], [`Secret`]) are stored by
//! [`crate::db::clients`]; their rules are here.

use gatehouse_api_types::grant::{self, Grant, ANY};
use gatehouse_api_types::{
    Client as ApiClient, ClientCreate, ClientPatch, DroppedGrant, EffectivePermissions, GrantType, Owner,
    TokenEndpointAuthMethod,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::audit::{NewEvent, REDACTED};
use super::client_settings::{
    check_oauth_settings, check_redirect_targets, check_switches, check_user_namespace, token_routing,
};
use super::power::{require_power_over, Control};
use super::{grant_strings, parse_request_grants, Context, PageRequest, Precondition};
pub use crate::db::clients::{Client, ClientView, OAuthProfile, OwningAccount, Secret};
use crate::db::ids::{AccountId, ClientUuid};
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// The console's client: Gatehouse's own application (see [`refuse_console`]).
pub const CONSOLE_CLIENT_ID: &str = "console";

impl Client {
    pub fn is_console(&self) -> bool {
        self.client_id == CONSOLE_CLIENT_ID
    }

    /// A public client (a browser or native app) has no secret and must use PKCE.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == TokenEndpointAuthMethod::None
    }

    /// Whether the client authenticates with a secret (a public client and a `private_key_jwt`
    /// client have none).
    pub fn uses_secret(&self) -> bool {
        self.token_endpoint_auth_method.uses_secret()
    }

    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }
}

impl OAuthProfile {
    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }
}

impl OwningAccount {
    /// What the owner holds right now: its own grants and its groups' (read with it).
    pub fn held(&self) -> Vec<Grant> {
        super::groups::held(&self.own_grants, &self.groups)
    }

    /// The owner as a client's view shows it.
    pub fn to_api(&self) -> Owner {
        Owner { account_id: self.id, namespace: self.namespace.clone(), username: self.username.clone() }
    }
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

    /// Whether the client may sign users in right now: enabled, with an enabled owner. The
    /// console needs no owner: it holds no grants and acts only with the signed-in account's.
    pub fn signs_users_in(&self) -> bool {
        !self.client.disabled && (self.client.is_console() || self.owner.as_ref().is_some_and(|o| !o.disabled))
    }

    /// What bounds the management scopes of the user tokens issued through this client: what
    /// the client may do itself, since whoever controls it receives them (none for the console,
    /// whose tokens reach nobody but the signed-in browser's server-side session).
    pub fn user_token_bound(&self) -> Option<Vec<Grant>> {
        (!self.client.is_console()).then(|| self.effective())
    }

    /// What the client may do right now.
    pub fn effective(&self) -> Vec<Grant> {
        match (&self.owner, self.blocked()) {
            (Some(owner), None) => grant::effective(&self.client.permissions, &owner.held()),
            _ => Vec::new(),
        }
    }

    pub fn effective_permissions(&self) -> EffectivePermissions {
        let owner_grants = self.owner.as_ref().map(OwningAccount::held).unwrap_or_default();
        let owner_sources =
            self.owner.as_ref().map(|o| super::groups::sources(&o.own_grants, &o.groups)).unwrap_or_default();
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
            owner_sources,
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
            owner: self.owner.as_ref().map(|o| o.to_api()),
            permissions: grant_strings(&c.permissions),
            effective_permissions: grant_strings(&self.effective()),
            grant_types: c.grant_types.clone(),
            redirect_uris: c.redirect_uris.clone(),
            password_grant_enabled: c.password_grant_enabled,
            user_namespace: c.user_namespace.clone(),
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            jwks: c.jwks.clone(),
            jwks_uri: c.jwks_uri.clone(),
            access_token_ttl: c.access_token_ttl,
            access_token_alg: c.access_token_alg,
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            attribute_claims: c.attribute_claims.clone(),
            require_pkce: c.require_pkce,
            skip_consent: c.skip_consent,
            registration_enabled: c.registration_enabled,
            hybrid_enabled: c.hybrid_enabled,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            require_signed_request_object: c.require_signed_request_object,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
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
            "jwks": c.jwks,
            "jwks_uri": c.jwks_uri,
            "access_token_ttl": c.access_token_ttl,
            "access_token_alg": c.access_token_alg,
            "post_logout_redirect_uris": c.post_logout_redirect_uris,
            "attribute_claims": c.attribute_claims,
            "require_pkce": c.require_pkce,
            "skip_consent": c.skip_consent,
            "registration_enabled": c.registration_enabled,
            "hybrid_enabled": c.hybrid_enabled,
            "require_pushed_authorization_requests": c.require_pushed_authorization_requests,
            "dpop_bound_access_tokens": c.dpop_bound_access_tokens,
            "require_signed_request_object": c.require_signed_request_object,
            "backchannel_logout_uri": c.backchannel_logout_uri,
            "backchannel_logout_session_required": c.backchannel_logout_session_required,
            "disabled": c.disabled,
        })
    }

    pub(super) fn event(&self, ctx: &Context, action: &str) -> NewEvent {
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
pub(super) fn require_manage(ctx: &Context, view: &ClientView) -> Result<()> {
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
    db::clients::get(conn, ClientUuid(id))?.ok_or_else(|| not_found(id))
}

/// The account that is to own a client: the caller's acting account, or another account the
/// caller may hand clients to (`clients:write@*` and `permissions:write@<its namespace>`).
fn new_owner(conn: &mut Conn, ctx: &Context, requested: Option<Uuid>) -> Result<OwningAccount> {
    let acting = ctx.caller.acting_account_id();
    let id = requested.unwrap_or(acting);
    let owner = db::clients::owner(conn, AccountId(id))?
        .ok_or_else(|| Error::invalid("owner_account_id", format!("no account {id}")))?;
    if id != acting {
        ctx.caller.authorize("clients", "write", ANY)?;
        ctx.caller.authorize("permissions", "write", &owner.namespace)?;
    }
    if owner.disabled {
        return Err(Error::invalid("owner_account_id", "the account is disabled"));
    }
    Ok(owner)
}

/// What creating a client needs of the caller: `clients:write@*`, every grant it gives the
/// client, and for another owner `permissions:write` over the owner's namespace. Checked again
/// before a stored creation is replayed for an `Idempotency-Key`.
pub fn authorize_create(conn: &mut Conn, ctx: &Context, input: &ClientCreate) -> Result<(Vec<Grant>, OwningAccount)> {
    ctx.caller.authorize("clients", "write", ANY)?;
    let permissions = grant::normalize(parse_request_grants("permissions", &input.permissions)?);
    ctx.caller.require_holds_all(&permissions)?;
    let owner = new_owner(conn, ctx, input.owner_account_id)?;
    Ok((permissions, owner))
}

/// Creates a client; `secret_hash` is its first secret (none for a public client). Its power is
/// its grants met with its owner's: never more than the creator holds.
pub fn create(conn: &mut Conn, ctx: &Context, input: ClientCreate, secret_hash: Option<String>) -> Result<ClientView> {
    let (permissions, owner) = authorize_create(conn, ctx, &input)?;
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
        jwks: input.jwks,
        jwks_uri: input.jwks_uri,
        access_token_ttl: input.access_token_ttl,
        access_token_alg: input.access_token_alg,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        attribute_claims: input.attribute_claims,
        require_pkce: input.require_pkce,
        skip_consent: input.skip_consent,
        registration_enabled: input.registration_enabled,
        hybrid_enabled: input.hybrid_enabled,
        require_pushed_authorization_requests: input.require_pushed_authorization_requests,
        dpop_bound_access_tokens: input.dpop_bound_access_tokens,
        require_signed_request_object: input.require_signed_request_object,
        backchannel_logout_uri: input.backchannel_logout_uri,
        backchannel_logout_session_required: input.backchannel_logout_session_required,
        tokens_valid_after: None,
        disabled: false,
        version: 1,
        created_at: now,
        updated_at: now,
        last_used_at: None,
    };
    check_redirect_targets("redirect_uris", &client.redirect_uris)?;
    check_redirect_targets("post_logout_redirect_uris", &client.post_logout_redirect_uris)?;
    check_oauth_settings(&mut client)?;
    check_switches(ctx, None, &client)?;
    if client.uses_secret() == secret_hash.is_none() {
        return Err(Error::internal("a client authenticating with a secret needs one, others have none"));
    }
    db::clients::insert(conn, &client)?;
    if let Some(hash) = secret_hash {
        db::clients::insert_secret(conn, &Secret::new(client.id, hash))?;
    }
    let view = ClientView { client, owner: Some(owner) };
    let mut after = view.audit_view();
    if view.client.uses_secret() {
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

pub fn list(
    conn: &mut Conn,
    ctx: &Context,
    owner: OwnerFilter,
    page: &PageRequest,
) -> Result<(Vec<ClientView>, Option<String>)> {
    let acting = ctx.caller.acting_account_id();
    let owner = match owner {
        OwnerFilter::Me => Some(acting),
        OwnerFilter::Account(id) if id == acting => Some(id),
        OwnerFilter::Account(id) => {
            let account = db::clients::owner(conn, AccountId(id))?;
            let scope = account.as_ref().map(|a| a.namespace.clone()).unwrap_or_else(|| ANY.to_owned());
            ctx.caller.authorize("clients", "read", &scope)?;
            Some(id)
        }
        OwnerFilter::All => {
            ctx.caller.authorize("clients", "read", ANY)?;
            None
        }
    };
    let rows = db::clients::list(conn, owner.map(AccountId), page.after.as_deref(), page.fetch_limit())?;
    Ok(page.finish(rows, |v| v.client.id.to_string()))
}

/// Changes a client. Its owner may disable and re-enable it; every other change needs
/// `clients:write` over the owner's namespace. A change that routes the client's tokens (where
/// codes go, how it authenticates, whom it signs in), transfers it or re-enables it needs the
/// caller to hold everything the client may then do; grants added or removed must be held.
pub fn update(
    conn: &mut Conn,
    ctx: &Context,
    id: Uuid,
    patch: ClientPatch,
    condition: Option<&Precondition>,
) -> Result<ClientView> {
    let before = find(conn, id)?;
    require_read(ctx, &before)?;
    refuse_console(&before)?;
    Precondition::check(condition, before.client.version)?;
    if !(is_owner(ctx, &before) && changes_only_status(&patch)) {
        ctx.caller.authorize("clients", "write", before.scope())?;
    }
    let mut after = before.client.clone();
    let mut transferred_to = None;
    if let Some(name) = patch.name {
        after.name = name;
    }
    if let Some(texts) = patch.permissions {
        let wanted = grant::normalize(parse_request_grants("permissions", &texts)?);
        ctx.caller.require_holds_change(&before.client.permissions, &wanted)?;
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
    if let Some(method) = patch.token_endpoint_auth_method {
        if (method == TokenEndpointAuthMethod::None) != before.client.is_public() {
            return Err(Error::invalid(
                "token_endpoint_auth_method",
                "a client cannot become public or stop being public: create another client",
            ));
        }
        after.token_endpoint_auth_method = method;
    }
    if let Some(jwks) = patch.jwks {
        after.jwks = jwks;
    }
    if let Some(uri) = patch.jwks_uri {
        after.jwks_uri = uri;
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
    if let Some(skip) = patch.skip_consent {
        after.skip_consent = skip;
    }
    if let Some(enabled) = patch.registration_enabled {
        after.registration_enabled = enabled;
    }
    if let Some(enabled) = patch.hybrid_enabled {
        after.hybrid_enabled = enabled;
    }
    if let Some(required) = patch.require_pushed_authorization_requests {
        after.require_pushed_authorization_requests = required;
    }
    if let Some(bound) = patch.dpop_bound_access_tokens {
        after.dpop_bound_access_tokens = bound;
    }
    if let Some(required) = patch.require_signed_request_object {
        after.require_signed_request_object = required;
    }
    if let Some(uri) = patch.backchannel_logout_uri {
        after.backchannel_logout_uri = uri;
    }
    if let Some(required) = patch.backchannel_logout_session_required {
        after.backchannel_logout_session_required = required;
    }
    if let Some(new_owner_id) = patch.owner_account_id {
        if Some(new_owner_id) != before.client.owner_account_id {
            ctx.caller.authorize("clients", "write", ANY)?;
            let owner = db::clients::owner(conn, AccountId(new_owner_id))?
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
    check_switches(ctx, Some(&before.client), &after)?;
    check_user_namespace(conn, after.user_namespace.as_deref())?;
    after.version += 1;
    after.updated_at = db::now();
    let transferred = transferred_to.is_some();
    let view = ClientView { client: after, owner: transferred_to.or_else(|| before.owner.clone()) };
    require_power_for_change(ctx, &before, &view, transferred)?;
    db::clients::update(conn, &view.client, before.client.version)?;
    if before.client.uses_secret() && !view.client.uses_secret() {
        // A client that signs its assertions has no secret: a second, weaker way in (ADR 0012).
        let now = db::now();
        db::clients::expire_secrets_by(conn, ClientUuid(id), now)?;
        db::clients::delete_expired_secrets(conn, ClientUuid(id), now)?;
    }

    let only_disabled_changed = {
        let mut same = before.client.clone();
        same.disabled = view.client.disabled;
        same.version = view.client.version;
        same.updated_at = view.client.updated_at;
        same == view.client && before.client.disabled != view.client.disabled
    };
    let action = if transferred {
        "client.owner.transfer"
    } else if only_disabled_changed && view.client.disabled {
        "client.disable"
    } else if only_disabled_changed {
        "client.enable"
    } else {
        "client.update"
    };
    db::audit::append(conn, vec![view.event(ctx, action).diff(Some(before.audit_view()), Some(view.audit_view()))])?;
    Ok(view)
}

/// True when a patch sets nothing but `disabled` (what an owner may always do).
fn changes_only_status(patch: &ClientPatch) -> bool {
    match serde_json::to_value(patch) {
        Ok(Value::Object(fields)) => fields.keys().all(|k| k == "disabled"),
        _ => false,
    }
}

/// The rule of [`super::power`] for a change from `before` to `after`.
fn require_power_for_change(ctx: &Context, before: &ClientView, after: &ClientView, transferred: bool) -> Result<()> {
    if transferred {
        let at_stake = grant::normalize(before.effective().into_iter().chain(after.effective()));
        require_power_over(&ctx.caller, &at_stake, Control::Transfer)?;
    }
    if token_routing(&before.client) != token_routing(&after.client) {
        require_power_over(&ctx.caller, &after.effective(), Control::TokenRouting)?;
    }
    if before.client.disabled && !after.client.disabled {
        require_power_over(&ctx.caller, &after.effective(), Control::Enable)?;
    }
    Ok(())
}

/// The console is Gatehouse's own application: the server sets it up and keeps its redirect
/// URI; nobody changes, rotates or deletes it through the API.
pub(super) fn refuse_console(view: &ClientView) -> Result<()> {
    if view.client.is_console() {
        return Err(Error::Conflict("the console client is Gatehouse's own; the server manages its settings".into()));
    }
    Ok(())
}

pub fn delete(conn: &mut Conn, ctx: &Context, id: Uuid, condition: Option<&Precondition>) -> Result<()> {
    let before = find(conn, id)?;
    require_manage(ctx, &before)?;
    refuse_console(&before)?;
    Precondition::check(condition, before.client.version)?;
    db::clients::delete(conn, ClientUuid(id))?;
    db::audit::append(conn, vec![before.event(ctx, "client.delete").diff(Some(before.audit_view()), None)])?;
    Ok(())
}
