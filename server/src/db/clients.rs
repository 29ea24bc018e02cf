//! Clients (with their owner account, joined), their secrets (hashes only) and the one-statement
//! credential lookup every token grant runs.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use gatehouse_api_types::grant::Grant;
use gatehouse_api_types::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use uuid::Uuid;

use super::audit::Actor;
use super::groups::{self, GroupGrants};
use super::ids::{AccountId, ClientId, ClientUuid};
use super::schema::{account_groups, accounts, client_secrets, clients, group_members};
use super::{
    from_db_time, from_json_text, grant_strings, parse_stored_grants, parse_text, parse_uuid, to_db_time, to_json_text,
    Conn, Unique,
};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub owner_account_id: Option<Uuid>,
    pub permissions: Vec<Grant>,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub password_grant_enabled: bool,
    pub user_namespace: Option<String>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The client's public keys (a JWK Set), for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub access_token_ttl: Option<u32>,
    pub access_token_alg: SigningAlg,
    pub post_logout_redirect_uris: Vec<String>,
    pub attribute_claims: BTreeMap<String, String>,
    pub require_pkce: bool,
    /// A first-party application: its users are not asked to consent.
    pub skip_consent: bool,
    /// Its sign-in page offers self-registration into its user namespace.
    pub registration_enabled: bool,
    /// It may ask for `code id_token` (hybrid) responses; an administrator switches it on.
    pub hybrid_enabled: bool,
    /// Its authorization requests must be pushed first (RFC 9126).
    pub require_pushed_authorization_requests: bool,
    pub dpop_bound_access_tokens: bool,
    /// Its authorization requests must come as signed request objects (RFC 9101).
    pub require_signed_request_object: bool,
    /// Where its logout tokens go (OpenID Connect Back-Channel Logout).
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// Access tokens of the client itself issued before this time no longer count (set when a
    /// secret is rotated without overlap).
    pub tokens_valid_after: Option<DateTime<Utc>>,
    pub disabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What the token endpoint needs to know of a client, read with its credential.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthProfile {
    pub grant_types: Vec<GrantType>,
    pub access_token_ttl: Option<u32>,
    pub access_token_alg: SigningAlg,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// Every token request must carry a DPoP proof (RFC 9449): its tokens are always bound.
    pub dpop_bound_access_tokens: bool,
}

/// The account that owns a client, with what a client's power is bounded by: its grants and
/// whether it is disabled. (The API shows it as [`gatehouse_api_types::Owner`].)
#[derive(Debug, Clone, PartialEq)]
pub struct OwningAccount {
    pub id: Uuid,
    pub namespace: String,
    pub username: Option<String>,
    pub disabled: bool,
    /// Its own grants; what it holds adds those of its groups (`OwningAccount::held`).
    pub own_grants: Vec<Grant>,
    /// The groups it is a member of, with their grants, read with it.
    pub groups: Vec<GroupGrants>,
}

/// A client with its owner, loaded together.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientView {
    pub client: Client,
    pub owner: Option<OwningAccount>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub id: Uuid,
    pub client: Uuid,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
struct Row {
    id: String,
    client_id: String,
    name: String,
    owner_account_id: Option<String>,
    permissions: String,
    grant_types: String,
    redirect_uris: String,
    password_grant_enabled: bool,
    user_namespace: Option<String>,
    disabled: bool,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
    token_endpoint_auth_method: String,
    access_token_ttl: Option<i32>,
    access_token_alg: String,
    post_logout_redirect_uris: String,
    attribute_claims: String,
    require_pkce: bool,
    tokens_valid_after: Option<NaiveDateTime>,
    skip_consent: bool,
    registration_enabled: bool,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    hybrid_enabled: bool,
    require_pushed_authorization_requests: bool,
    dpop_bound_access_tokens: bool,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
    require_signed_request_object: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = accounts)]
struct OwnerRow {
    id: String,
    namespace: String,
    username: Option<String>,
    disabled: bool,
    permissions: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = client_secrets)]
struct SecretRow {
    id: String,
    client_id: String,
    secret_hash: String,
    created_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
}

impl Row {
    fn into_client(self) -> Result<Client> {
        Ok(Client {
            id: parse_uuid(&self.id)?,
            client_id: self.client_id,
            name: self.name,
            owner_account_id: self.owner_account_id.as_deref().map(parse_uuid).transpose()?,
            permissions: parse_stored_grants(&from_json_text::<Vec<String>>(&self.permissions)?),
            grant_types: from_json_text(&self.grant_types)?,
            redirect_uris: from_json_text(&self.redirect_uris)?,
            password_grant_enabled: self.password_grant_enabled,
            user_namespace: self.user_namespace,
            token_endpoint_auth_method: parse_text(&self.token_endpoint_auth_method)?,
            jwks: self.jwks.as_deref().map(from_json_text).transpose()?,
            jwks_uri: self.jwks_uri,
            access_token_ttl: self.access_token_ttl.and_then(|t| u32::try_from(t).ok()),
            access_token_alg: parse_text(&self.access_token_alg)?,
            post_logout_redirect_uris: from_json_text(&self.post_logout_redirect_uris)?,
            attribute_claims: from_json_text(&self.attribute_claims)?,
            require_pkce: self.require_pkce,
            skip_consent: self.skip_consent,
            registration_enabled: self.registration_enabled,
            hybrid_enabled: self.hybrid_enabled,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_signed_request_object: self.require_signed_request_object,
            backchannel_logout_uri: self.backchannel_logout_uri,
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            tokens_valid_after: self.tokens_valid_after.map(from_db_time),
            disabled: self.disabled,
            version: self.version,
            created_at: from_db_time(self.created_at),
            updated_at: from_db_time(self.updated_at),
            last_used_at: self.last_used_at.map(from_db_time),
        })
    }

    fn from_client(c: &Client) -> Result<Row> {
        Ok(Row {
            id: c.id.to_string(),
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            owner_account_id: c.owner_account_id.map(|id| id.to_string()),
            permissions: to_json_text(&grant_strings(&c.permissions))?,
            grant_types: to_json_text(&c.grant_types)?,
            redirect_uris: to_json_text(&c.redirect_uris)?,
            password_grant_enabled: c.password_grant_enabled,
            user_namespace: c.user_namespace.clone(),
            disabled: c.disabled,
            version: c.version,
            created_at: to_db_time(c.created_at),
            updated_at: to_db_time(c.updated_at),
            last_used_at: c.last_used_at.map(to_db_time),
            token_endpoint_auth_method: c.token_endpoint_auth_method.as_str().to_owned(),
            access_token_ttl: c.access_token_ttl.and_then(|t| i32::try_from(t).ok()),
            access_token_alg: c.access_token_alg.as_str().to_owned(),
            post_logout_redirect_uris: to_json_text(&c.post_logout_redirect_uris)?,
            attribute_claims: to_json_text(&c.attribute_claims)?,
            require_pkce: c.require_pkce,
            tokens_valid_after: c.tokens_valid_after.map(to_db_time),
            skip_consent: c.skip_consent,
            registration_enabled: c.registration_enabled,
            jwks: c.jwks.as_ref().map(to_json_text).transpose()?,
            jwks_uri: c.jwks_uri.clone(),
            hybrid_enabled: c.hybrid_enabled,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            require_signed_request_object: c.require_signed_request_object,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
        })
    }
}

impl OwnerRow {
    fn into_owner(self) -> Result<OwningAccount> {
        Ok(OwningAccount {
            id: parse_uuid(&self.id)?,
            namespace: self.namespace,
            username: self.username,
            disabled: self.disabled,
            own_grants: parse_stored_grants(&from_json_text::<Vec<String>>(&self.permissions)?),
            groups: Vec::new(),
        })
    }
}

/// Owners from their rows, each with the groups it is a member of (one statement for all).
fn owners_with_groups(conn: &mut Conn, rows: Vec<Option<OwnerRow>>) -> Result<Vec<Option<OwningAccount>>> {
    let ids: Vec<&str> = rows.iter().flatten().map(|r| r.id.as_str()).collect();
    let held = groups::grants_of(conn, &ids)?;
    rows.into_iter()
        .map(|row| {
            let Some(row) = row else { return Ok(None) };
            let groups = held.get(&row.id).cloned().unwrap_or_default();
            row.into_owner().map(|owner| Some(OwningAccount { groups, ..owner }))
        })
        .collect()
}

/// Client views from their rows, with their owners' groups.
fn into_views(conn: &mut Conn, rows: Vec<(Row, Option<OwnerRow>)>) -> Result<Vec<ClientView>> {
    let (clients, owners): (Vec<Row>, Vec<Option<OwnerRow>>) = rows.into_iter().unzip();
    let owners = owners_with_groups(conn, owners)?;
    clients
        .into_iter()
        .zip(owners)
        .map(|(client, owner)| Ok(ClientView { client: client.into_client()?, owner }))
        .collect()
}

impl SecretRow {
    fn into_secret(self) -> Result<Secret> {
        Ok(Secret {
            id: parse_uuid(&self.id)?,
            client: parse_uuid(&self.client_id)?,
            secret_hash: self.secret_hash,
            created_at: from_db_time(self.created_at),
            expires_at: self.expires_at.map(from_db_time),
        })
    }
}

pub fn insert(conn: &mut Conn, client: &Client) -> Result<()> {
    diesel::insert_into(clients::table).values(Row::from_client(client)?).execute(conn)?;
    Ok(())
}

/// A client, its owner and a group of the owner's (a row per group, one row in none).
type ViewRow = (Row, Option<OwnerRow>, Option<groups::GroupGrantsRow>);

// `get` and `get_by_client_id` run before every grant that writes (refresh, code, device)
// and every Management API request about a client: one statement for the client, its owner
// and the owner's groups (a round trip less on PostgreSQL than reading the groups apart), on
// the concrete connection (see `native!`), like `accounts::get`.
macro_rules! view_query {
    ($condition:expr) => {
        // Joined left to right, as `accounts::get` (a parenthesised join on the right of a LEFT
        // JOIN is materialised by SQLite: every account, for each lookup).
        clients::table
            .left_join(accounts::table)
            .left_join(group_members::table.on(group_members::account_id.eq(accounts::id)))
            .left_join(account_groups::table.on(account_groups::id.eq(group_members::group_id)))
            .filter($condition)
            .select((Row::as_select(), Option::<OwnerRow>::as_select(), groups::GROUP_GRANTS_COLUMNS.nullable()))
            .order(group_members::group_id.asc())
    };
}

macro_rules! view_where {
    ($conn:expr, $condition:expr) => {{
        let rows: Vec<ViewRow> = native!($conn, |c| view_query!($condition).load(c))?;
        into_view(rows)
    }};
}

pub fn get(conn: &mut Conn, id: ClientUuid) -> Result<Option<ClientView>> {
    let key = id.to_string();
    view_where!(conn, clients::id.eq(&key))
}

pub fn get_by_client_id(conn: &mut Conn, client_id: ClientId) -> Result<Option<ClientView>> {
    view_where!(conn, clients::client_id.eq(&client_id.0))
}

/// The view of one client from its rows (see [`ViewRow`]).
fn into_view(rows: Vec<ViewRow>) -> Result<Option<ClientView>> {
    let mut rows = rows.into_iter();
    let Some((client, owner, first)) = rows.next() else { return Ok(None) };
    let groups = GroupGrants::from_joined(std::iter::once(first).chain(rows.map(|(_, _, group)| group)))?;
    let owner = owner.map(|row| row.into_owner().map(|owner| OwningAccount { groups, ..owner })).transpose()?;
    Ok(Some(ClientView { client: client.into_client()?, owner }))
}

/// What authenticating a client needs, in one statement: the client, its owner and the hashes
/// of its secrets that still work at `now` (one row per secret).
#[derive(Clone)]
pub struct Credential {
    pub id: Uuid,
    pub client_id: String,
    pub disabled: bool,
    pub permissions: Vec<Grant>,
    pub owner: Option<OwningAccount>,
    pub secret_hashes: Vec<String>,
    pub profile: OAuthProfile,
    /// The client's JWK Set and `jwks_uri` (`private_key_jwt`).
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    /// Access tokens of the client itself issued before this no longer count.
    pub tokens_valid_after: Option<DateTime<Utc>>,
}

impl Credential {
    /// The client as the audit log names it: its id and its owner's.
    pub fn actor(&self) -> Actor {
        Actor::client(self.id.to_string(), self.owner.as_ref().map(|o| o.id.to_string()))
    }
}

/// The credential of `client_id` at `now`, read in full, with the earliest expiry of the secrets
/// it holds (after which it must be read again). Requests go through `Db::credential`.
pub fn credential_until(
    conn: &mut Conn,
    client_id: ClientId,
    now: DateTime<Utc>,
) -> Result<Option<(Credential, Option<DateTime<Utc>>)>> {
    let now = to_db_time(now);
    type CredentialRow = (
        (String, bool, String, Option<NaiveDateTime>),
        (String, Option<i32>, String, String, bool),
        (Option<String>, Option<String>),
        Option<OwnerRow>,
        (Option<String>, Option<NaiveDateTime>),
    );
    // Every token grant runs this: on the concrete connection (see `native!`; the selection
    // is typed per backend, so the query is written inside).
    let rows: Vec<CredentialRow> = native!(conn, |c| clients::table
        .left_join(accounts::table)
        .left_join(
            client_secrets::table.on(client_secrets::client_id
                .eq(clients::id)
                .and(client_secrets::expires_at.is_null().or(client_secrets::expires_at.gt(now)))),
        )
        .filter(clients::client_id.eq(client_id.0))
        .select((
            (clients::id, clients::disabled, clients::permissions, clients::tokens_valid_after),
            (
                clients::grant_types,
                clients::access_token_ttl,
                clients::access_token_alg,
                clients::token_endpoint_auth_method,
                clients::dpop_bound_access_tokens,
            ),
            (clients::jwks, clients::jwks_uri),
            Option::<OwnerRow>::as_select(),
            (client_secrets::secret_hash.nullable(), client_secrets::expires_at.nullable()),
        ))
        .load(c))?;
    let mut rows = rows.into_iter();
    let Some((
        (id, disabled, permissions, tokens_valid_after),
        (grant_types, ttl, alg, method, dpop_bound),
        (jwks, jwks_uri),
        owner,
        first_secret,
    )) = rows.next()
    else {
        return Ok(None);
    };
    let mut secret_hashes = Vec::new();
    let mut valid_until: Option<NaiveDateTime> = None;
    for (hash, expires_at) in std::iter::once(first_secret).chain(rows.map(|row| row.4)) {
        if let Some(hash) = hash {
            secret_hashes.push(hash);
        }
        if let Some(t) = expires_at {
            valid_until = Some(valid_until.map_or(t, |v| v.min(t)));
        }
    }
    let credential = Credential {
        id: parse_uuid(&id)?,
        client_id: client_id.0.to_owned(),
        disabled,
        permissions: parse_stored_grants(&from_json_text::<Vec<String>>(&permissions)?),
        owner: owners_with_groups(conn, vec![owner])?.pop().flatten(),
        secret_hashes,
        profile: OAuthProfile {
            grant_types: from_json_text(&grant_types)?,
            access_token_ttl: ttl.and_then(|t| u32::try_from(t).ok()),
            access_token_alg: parse_text(&alg)?,
            token_endpoint_auth_method: parse_text(&method)?,
            dpop_bound_access_tokens: dpop_bound,
        },
        jwks: jwks.as_deref().map(from_json_text).transpose()?,
        jwks_uri,
        tokens_valid_after: tokens_valid_after.map(from_db_time),
    };
    Ok(Some((credential, valid_until.map(from_db_time))))
}

/// An account as a (prospective) owner of clients.
pub fn owner(conn: &mut Conn, account_id: AccountId) -> Result<Option<OwningAccount>> {
    let row = accounts::table.find(account_id.to_string()).select(OwnerRow::as_select()).unique(conn)?;
    Ok(owners_with_groups(conn, vec![row])?.pop().flatten())
}

pub fn list(conn: &mut Conn, owner: Option<AccountId>, after: Option<&str>, limit: i64) -> Result<Vec<ClientView>> {
    let mut query = clients::table
        .left_join(accounts::table)
        .select((Row::as_select(), Option::<OwnerRow>::as_select()))
        .order(clients::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(clients::owner_account_id.eq(owner.to_string()));
    }
    if let Some(after) = after {
        query = query.filter(clients::id.gt(after));
    }
    let rows = query.load(conn)?;
    into_views(conn, rows)
}

/// Writes `client` if its stored version is still `expected_version` (else 412).
pub fn update(conn: &mut Conn, client: &Client, expected_version: i64) -> Result<()> {
    let changed =
        diesel::update(clients::table.find(client.id.to_string()).filter(clients::version.eq(expected_version)))
            .set(Row::from_client(client)?)
            .execute(conn)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    Ok(())
}

pub fn delete(conn: &mut Conn, id: ClientUuid) -> Result<()> {
    diesel::delete(clients::table.find(id.to_string())).execute(conn)?;
    Ok(())
}

/// Makes the client's own access tokens issued before `at` stop counting.
pub fn set_tokens_valid_after(conn: &mut Conn, id: ClientUuid, at: DateTime<Utc>) -> Result<()> {
    diesel::update(clients::table.find(id.to_string()))
        .set(clients::tokens_valid_after.eq(to_db_time(at)))
        .execute(conn)?;
    Ok(())
}

/// Records use, at most once a minute per client, so that reads stay reads.
pub fn touch_last_used(conn: &mut Conn, id: ClientUuid, now: DateTime<Utc>) -> Result<()> {
    let stale = to_db_time(now - chrono::Duration::seconds(60));
    diesel::update(
        clients::table.find(id.to_string()).filter(clients::last_used_at.is_null().or(clients::last_used_at.lt(stale))),
    )
    .set(clients::last_used_at.eq(to_db_time(now)))
    .execute(conn)?;
    Ok(())
}

pub fn count_owned_by(conn: &mut Conn, account_id: AccountId) -> Result<i64> {
    Ok(clients::table.filter(clients::owner_account_id.eq(account_id.to_string())).count().get_result(conn)?)
}

pub fn count_signing_into(conn: &mut Conn, namespace: &str) -> Result<i64> {
    Ok(clients::table.filter(clients::user_namespace.eq(namespace)).count().get_result(conn)?)
}

pub fn insert_secret(conn: &mut Conn, secret: &Secret) -> Result<()> {
    let row = SecretRow {
        id: secret.id.to_string(),
        client_id: secret.client.to_string(),
        secret_hash: secret.secret_hash.clone(),
        created_at: to_db_time(secret.created_at),
        expires_at: secret.expires_at.map(to_db_time),
    };
    diesel::insert_into(client_secrets::table).values(row).execute(conn)?;
    Ok(())
}

/// The secrets of a client that still work at `now`, newest first.
pub fn active_secrets(conn: &mut Conn, client: ClientUuid, now: DateTime<Utc>) -> Result<Vec<Secret>> {
    client_secrets::table
        .filter(client_secrets::client_id.eq(client.to_string()))
        .filter(client_secrets::expires_at.is_null().or(client_secrets::expires_at.gt(to_db_time(now))))
        .order(client_secrets::id.desc())
        .select(SecretRow::as_select())
        .load(conn)?
        .into_iter()
        .map(SecretRow::into_secret)
        .collect()
}

/// Makes every secret of the client stop working at `at` at the latest.
pub fn expire_secrets_by(conn: &mut Conn, client: ClientUuid, at: DateTime<Utc>) -> Result<()> {
    let at = to_db_time(at);
    diesel::update(
        client_secrets::table
            .filter(client_secrets::client_id.eq(client.to_string()))
            .filter(client_secrets::expires_at.is_null().or(client_secrets::expires_at.gt(at))),
    )
    .set(client_secrets::expires_at.eq(at))
    .execute(conn)?;
    Ok(())
}

pub fn delete_expired_secrets(conn: &mut Conn, client: ClientUuid, now: DateTime<Utc>) -> Result<()> {
    diesel::delete(
        client_secrets::table
            .filter(client_secrets::client_id.eq(client.to_string()))
            .filter(client_secrets::expires_at.le(to_db_time(now))),
    )
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view of a client searches each table by key on SQLite, by either of its keys.
    #[test]
    fn the_lookups_search_by_key() {
        let key = String::new();
        for sql in [
            diesel::debug_query::<diesel::sqlite::Sqlite, _>(&view_query!(clients::id.eq(&key))).to_string(),
            diesel::debug_query::<diesel::sqlite::Sqlite, _>(&view_query!(clients::client_id.eq(&key))).to_string(),
        ] {
            crate::db::tests::assert_searches_by_key(&sql);
        }
    }
}
