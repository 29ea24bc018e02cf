//! Accounts: people who can sign in. Sign-in names (username, email, phone number) are unique
//! per namespace after folding (see [`super::names`]); the database enforces it. The record
//! ([`Account`]) is stored by [`crate::db::accounts`]; its rules are here.

use chrono::{DateTime, Utc};
use gatehouse_api_types::grant::Grant;
use gatehouse_api_types::{Account as ApiAccount, AccountCreate, AccountPatch, FieldError, ImportRowError};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::audit::{NewEvent, PreparedEvent, REDACTED};
use super::power::{require_power_over, Control};
use super::{grant_strings, names, namespaces, Context, PageRequest, Precondition};
pub use crate::db::accounts::Account;
use crate::db::ids::AccountId;
use crate::db::{self, Conn};
use crate::error::{Error, Result};

impl Account {
    /// A new account from validated input (the password, if any, already hashed).
    pub fn new(namespace: &str, input: AccountCreate, password_hash: Option<String>) -> Result<Account> {
        let now = db::now();
        let account = Account {
            id: Uuid::now_v7(),
            namespace: namespace.to_owned(),
            username: input.username,
            email: input.email,
            email_verified: input.email_verified,
            phone_number: input.phone_number,
            phone_number_verified: input.phone_number_verified,
            name: input.name,
            given_name: input.given_name,
            family_name: input.family_name,
            attributes: input.attributes.unwrap_or_default(),
            permissions: Vec::new(),
            groups: Vec::new(),
            password_hash,
            disabled: input.disabled,
            version: 1,
            created_at: now,
            updated_at: now,
            tokens_valid_after: None,
            registration_expires_at: None,
            external_id: None,
            scim: Map::new(),
        };
        account.check_sign_in_name()?;
        Ok(account)
    }

    /// What the account holds: its own grants and its groups' (read with it). What whoever
    /// controls it (its password, a sign-in name a reset code goes to, its sessions) may do.
    pub fn power(&self) -> Vec<Grant> {
        super::groups::held(&self.permissions, &self.groups)
    }

    /// True when `other` differs in what signs it in: a sign-in name or whether it is verified.
    fn sign_in_names_differ(&self, other: &Account) -> bool {
        (&self.username, &self.email, self.email_verified, &self.phone_number, self.phone_number_verified)
            != (&other.username, &other.email, other.email_verified, &other.phone_number, other.phone_number_verified)
    }

    fn check_sign_in_name(&self) -> Result<()> {
        if self.username.is_none() && self.email.is_none() && self.phone_number.is_none() {
            return Err(Error::Invalid {
                detail: "an account needs a username, an email or a phone number".into(),
                errors: vec![FieldError {
                    field: "username".into(),
                    message: "one of username, email or phone_number is required".into(),
                }],
            });
        }
        Ok(())
    }

    pub fn to_api(&self) -> ApiAccount {
        ApiAccount {
            id: self.id,
            namespace: self.namespace.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            phone_number: self.phone_number.clone(),
            phone_number_verified: self.phone_number_verified,
            name: self.name.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            attributes: self.attributes.clone(),
            disabled: self.disabled,
            has_password: self.password_hash.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// What the audit log records of an account: everything but password material.
    pub fn audit_view(&self) -> Value {
        let mut view = serde_json::to_value(self.to_api()).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut view {
            map.remove("created_at");
            map.remove("updated_at");
            map.insert("permissions".into(), json!(grant_strings(&self.permissions)));
            if let Some(external_id) = &self.external_id {
                map.insert("external_id".into(), json!(external_id));
            }
            if !self.scim.is_empty() {
                map.insert("scim".into(), Value::Object(self.scim.clone()));
            }
        }
        view
    }

    pub fn etag(&self) -> String {
        Precondition::etag(self.version)
    }

    fn apply(&mut self, patch: AccountPatch) {
        if let Some(username) = patch.username {
            self.username = username;
        }
        if let Some(email) = patch.email {
            if email != self.email {
                self.email_verified = false;
            }
            self.email = email;
        }
        if let Some(verified) = patch.email_verified {
            self.email_verified = verified;
        }
        if let Some(phone) = patch.phone_number {
            if phone != self.phone_number {
                self.phone_number_verified = false;
            }
            self.phone_number = phone;
        }
        if let Some(verified) = patch.phone_number_verified {
            self.phone_number_verified = verified;
        }
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(given_name) = patch.given_name {
            self.given_name = given_name;
        }
        if let Some(family_name) = patch.family_name {
            self.family_name = family_name;
        }
        if let Some(attributes) = patch.attributes {
            self.attributes = attributes;
        }
        if let Some(disabled) = patch.disabled {
            self.disabled = disabled;
        }
        if self.email.is_none() {
            self.email_verified = false;
        }
        if self.phone_number.is_none() {
            self.phone_number_verified = false;
        }
    }
}

fn user_event(ctx: &Context, action: &str, account: &Account) -> NewEvent {
    ctx.event(action).target("account", account.id).namespace(&account.namespace)
}

/// Maps a unique violation on insert or update to a field error.
fn conflict_as_field_error(e: Error) -> Error {
    match e {
        Error::Conflict(detail) => {
            let field = detail.split_whitespace().next().unwrap_or("username").to_owned();
            Error::Conflict(format!("{field} is already taken in this namespace"))
        }
        other => other,
    }
}

/// What a provisioning directory (SCIM, ADR 0018) says of an account beyond its fields: its own
/// identifier and the SCIM attributes no column holds. Set only through SCIM.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub external_id: Option<String>,
    pub scim: Map<String, Value>,
}

pub fn create(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    input: AccountCreate,
    password_hash: Option<String>,
) -> Result<Account> {
    create_with(conn, ctx, namespace, input, password_hash, None)
}

/// Creates an account, with what a directory says of it when it is provisioned.
pub fn create_with(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    input: AccountCreate,
    password_hash: Option<String>,
    directory: Option<Directory>,
) -> Result<Account> {
    ctx.caller.authorize("users", "write", namespace)?;
    namespaces::find(conn, namespace)?;
    let mut account = Account::new(namespace, input, password_hash)?;
    if let Some(directory) = directory {
        account.external_id = directory.external_id;
        account.scim = directory.scim;
    }
    db::accounts::insert(conn, &account).map_err(conflict_as_field_error)?;
    db::audit::append(conn, vec![user_event(ctx, "user.create", &account).diff(None, Some(account.audit_view()))])?;
    Ok(account)
}

/// The account `id` of `namespace`, or a 404 (also when it lives in another namespace).
pub fn find(conn: &mut Conn, namespace: &str, id: Uuid) -> Result<Account> {
    db::accounts::get(conn, AccountId(id))?
        .filter(|a| a.namespace == namespace)
        .ok_or_else(|| Error::NotFound(format!("no account {id} in namespace {namespace}")))
}

pub fn get(conn: &mut Conn, ctx: &Context, namespace: &str, id: Uuid) -> Result<Account> {
    ctx.caller.authorize("users", "read", namespace)?;
    find(conn, namespace, id)
}

#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Prefix of the username, email or phone number, folded like sign-in names.
    pub prefix: Option<String>,
    /// A provisioning directory's identifier (SCIM `externalId`), exactly.
    pub external_id: Option<String>,
    pub disabled: Option<bool>,
}

pub fn list(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    search: &Search,
    page: &PageRequest,
) -> Result<(Vec<Account>, Option<String>)> {
    ctx.caller.authorize("users", "read", namespace)?;
    namespaces::find(conn, namespace)?;
    let folded = search.prefix.as_deref().map(names::fold);
    let rows = db::accounts::search(
        conn,
        namespace,
        folded.as_deref(),
        search.external_id.as_deref(),
        search.disabled,
        page.after.as_deref(),
        page.fetch_limit(),
    )?;
    Ok(page.finish(rows, |a| a.id.to_string()))
}

pub fn update(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    patch: AccountPatch,
    condition: Option<&Precondition>,
) -> Result<Account> {
    update_with(conn, ctx, namespace, id, patch, None, condition)
}

/// Changes an account's fields (and, from a directory, what it says of the account). Disabling
/// it ends its sessions and tokens, as a password reset does.
pub fn update_with(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    patch: AccountPatch,
    directory: Option<Directory>,
    condition: Option<&Precondition>,
) -> Result<Account> {
    ctx.caller.authorize("users", "write", namespace)?;
    let before = find(conn, namespace, id)?;
    Precondition::check(condition, before.version)?;
    let mut after = before.clone();
    after.apply(patch);
    if let Some(directory) = directory {
        after.external_id = directory.external_id;
        after.scim = directory.scim;
    }
    after.check_sign_in_name()?;
    if before.sign_in_names_differ(&after) {
        require_power_over(&ctx.caller, &before.power(), Control::SignInNames)?;
    }
    if before.disabled != after.disabled {
        let what = if after.disabled { Control::Status } else { Control::Enable };
        require_power_over(&ctx.caller, &before.power(), what)?;
    }
    let now = db::now();
    let signed_out = if after.disabled && !before.disabled { Some(end_sign_ins(conn, &mut after, now)?) } else { None };
    after.version += 1;
    after.updated_at = now;
    db::accounts::update(conn, &after, before.version).map_err(conflict_as_field_error)?;
    let mut changes = json!({ "before": before.audit_view(), "after": after.audit_view() });
    if let Some(signed_out) = signed_out {
        changes["signed_out"] = signed_out;
    }
    db::audit::append(conn, vec![user_event(ctx, "user.update", &after).changes(changes)])?;
    Ok(after)
}

pub fn delete(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    condition: Option<&Precondition>,
) -> Result<()> {
    ctx.caller.authorize("users", "write", namespace)?;
    let before = find(conn, namespace, id)?;
    Precondition::check(condition, before.version)?;
    if ctx.caller.acting_account_id() == id {
        return Err(Error::Conflict("you cannot delete the account you act as".into()));
    }
    require_power_over(&ctx.caller, &before.power(), Control::Status)?;
    let orphaned = db::clients::count_owned_by(conn, AccountId(id))?;
    db::accounts::delete(conn, AccountId(id))?;
    let mut changes = json!({ "before": before.audit_view(), "after": null });
    if orphaned > 0 {
        changes["orphaned_clients"] = json!(orphaned);
    }
    db::audit::append(conn, vec![user_event(ctx, "user.delete", &before).changes(changes)])?;
    Ok(())
}

/// Ends every way `account` is signed in, once its password changed: its sign-in and console
/// sessions, its refresh tokens (offline ones too) and, by `tokens_valid_after`, the access
/// tokens issued until now. The caller writes `account` afterwards. Returns what ended, for
/// the audit event.
pub fn end_sign_ins(conn: &mut Conn, account: &mut Account, now: DateTime<Utc>) -> Result<Value> {
    let sessions = super::backchannel_logout::end_account_sessions(conn, AccountId(account.id), now)?;
    let console_sessions = db::console::delete_for_account(conn, AccountId(account.id))?;
    let refresh_tokens = db::oauth::revoke_account_tokens(conn, AccountId(account.id), None, now)?;
    account.tokens_valid_after = Some(now);
    Ok(json!({ "ended_sessions": sessions + console_sessions, "revoked_refresh_tokens": refresh_tokens }))
}

/// Checks that the caller may set the password of account `id` (before it is hashed).
pub fn check_set_password(conn: &mut Conn, ctx: &Context, namespace: &str, id: Uuid) -> Result<Account> {
    ctx.caller.authorize("users", "write", namespace)?;
    let account = find(conn, namespace, id)?;
    require_power_over(&ctx.caller, &account.power(), Control::Password)?;
    Ok(account)
}

pub fn set_password(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    password_hash: String,
) -> Result<Account> {
    let mut account = check_set_password(conn, ctx, namespace, id)?;
    let expected = account.version;
    let now = db::now();
    let ended = end_sign_ins(conn, &mut account, now)?;
    account.password_hash = Some(password_hash);
    account.version += 1;
    account.updated_at = now;
    db::accounts::update(conn, &account, expected)?;
    db::audit::append(
        conn,
        vec![user_event(ctx, "user.password.set", &account)
            .changes(json!({ "password": REDACTED, "signed_out": ended }))],
    )?;
    Ok(account)
}

pub fn permissions(conn: &mut Conn, ctx: &Context, namespace: &str, id: Uuid) -> Result<Account> {
    ctx.caller.authorize("permissions", "read", namespace)?;
    find(conn, namespace, id)
}

/// Replaces an account's grants. The caller must hold every grant it adds or removes.
pub fn set_permissions(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    grants: Vec<Grant>,
    condition: Option<&Precondition>,
) -> Result<Account> {
    ctx.caller.authorize("permissions", "write", namespace)?;
    let before = find(conn, namespace, id)?;
    Precondition::check(condition, before.version)?;
    let wanted = gatehouse_api_types::grant::normalize(grants);
    ctx.caller.require_holds_change(&before.permissions, &wanted)?;
    let mut after = before.clone();
    after.permissions = wanted;
    after.version += 1;
    after.updated_at = db::now();
    db::accounts::update(conn, &after, before.version)?;
    db::audit::append(
        conn,
        vec![user_event(ctx, "user.permissions.set", &after).diff(
            Some(json!({ "permissions": grant_strings(&before.permissions) })),
            Some(json!({ "permissions": grant_strings(&after.permissions) })),
        )],
    )?;
    Ok(after)
}

/// The caller's own account: an account's token granted the `account` scope (self-service),
/// not a client, and not a token an application obtained for other ends.
pub fn own(conn: &mut Conn, ctx: &Context) -> Result<Account> {
    match &ctx.caller.principal {
        super::Principal::Account { id, .. } if ctx.caller.self_service => db::accounts::get(conn, AccountId(*id))?
            .ok_or_else(|| Error::NotFound("your account no longer exists".into())),
        super::Principal::Account { .. } => {
            Err(Error::forbidden("managing your own account needs a token granted the `account` scope"))
        }
        super::Principal::Client { .. } => {
            Err(Error::forbidden("this endpoint is for an account's own access token, not a client"))
        }
    }
}

/// An account edits its own profile.
pub fn update_profile(conn: &mut Conn, ctx: &Context, patch: gatehouse_api_types::ProfilePatch) -> Result<Account> {
    let before = own(conn, ctx)?;
    let mut after = before.clone();
    after.apply(AccountPatch {
        name: patch.name,
        given_name: patch.given_name,
        family_name: patch.family_name,
        ..Default::default()
    });
    after.version += 1;
    after.updated_at = db::now();
    db::accounts::update(conn, &after, before.version)?;
    db::audit::append(
        conn,
        vec![user_event(ctx, "user.profile.update", &after).diff(Some(before.audit_view()), Some(after.audit_view()))],
    )?;
    Ok(after)
}

/// An account sets a new password (the current one was checked by the caller). Like every
/// password change it signs the account out everywhere, this session included.
pub fn change_own_password(conn: &mut Conn, ctx: &Context, expected_version: i64, password_hash: String) -> Result<()> {
    let mut account = own(conn, ctx)?;
    let now = db::now();
    let ended = end_sign_ins(conn, &mut account, now)?;
    account.password_hash = Some(password_hash);
    account.version = expected_version + 1;
    account.updated_at = now;
    db::accounts::update(conn, &account, expected_version)?;
    db::audit::append(
        conn,
        vec![user_event(ctx, "user.password.change", &account)
            .changes(json!({ "password": REDACTED, "signed_out": ended }))],
    )?;
    Ok(())
}

/// Removes a self-registration that was never verified once its time is up: it gave its email
/// address or phone number no proof, so it must not hold them. True when it was removed.
pub fn expire_registration(conn: &mut Conn, account: &Account, now: DateTime<Utc>) -> Result<bool> {
    if account.registration_expires_at.is_none_or(|t| t > now) {
        return Ok(false);
    }
    db::accounts::delete(conn, AccountId(account.id))?;
    let event = NewEvent::new(super::audit::Actor::system(), "user.registration.expire")
        .target("account", account.id)
        .namespace(&account.namespace)
        .changes(json!({ "before": account.audit_view(), "after": null, "reason": "not verified in time" }));
    db::audit::append(conn, vec![event])?;
    Ok(true)
}

/// Removes up to `limit` self-registrations not verified by `before` (housekeeping); returns
/// how many. Safe: such an account cannot sign in (its address is unverified and it has no
/// username), and its codes have expired.
pub fn delete_expired_registrations(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let mut removed = 0;
    for account in db::accounts::expired_registrations(conn, before, limit)? {
        removed += usize::from(expire_registration(conn, &account, before)?);
    }
    Ok(removed)
}

/// One row of a bulk import: validated, its password (if any) already hashed.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub index: u64,
    pub account: AccountCreate,
    pub password_hash: Option<String>,
}

/// A chunk of import rows made ready without the database: the accounts to insert, each with
/// its row's index and its `user.create` event, and the rows already refused.
pub struct PreparedImport {
    accounts: Vec<(u64, Account, PreparedEvent)>,
    errors: Vec<ImportRowError>,
}

/// Builds the accounts of `rows` and their events (the CPU of a chunk, done while the chunk
/// before it is written).
pub fn prepare_import(ctx: &Context, namespace: &str, rows: Vec<ImportRow>) -> Result<PreparedImport> {
    let mut errors = Vec::new();
    let mut accounts = Vec::with_capacity(rows.len());
    for row in rows {
        match Account::new(namespace, row.account, row.password_hash) {
            Ok(account) => {
                let event = user_event(ctx, "user.create", &account)
                    .changes(json!({ "before": null, "after": account.audit_view(), "via": "import" }));
                accounts.push((row.index, account, PreparedEvent::from(event)));
            }
            Err(e @ (Error::Conflict(_) | Error::Invalid { .. })) => {
                errors.push(row_error(row.index, conflict_as_field_error(e)))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(PreparedImport { accounts, errors })
}

/// A chunk whose accounts are inserted, in a transaction not yet committed: the `user.create`
/// events of the rows created, and the rows refused.
pub struct InsertedImport {
    made: Vec<PreparedEvent>,
    errors: Vec<ImportRowError>,
}

/// Creates what can be created of a prepared chunk; each row succeeds or fails on its own, as
/// if inserted alone in their order (a few multi-row statements: [`db::accounts::insert_each`]).
/// Their events are appended by [`record_inserted`], in the same transaction.
pub fn insert_prepared(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    prepared: PreparedImport,
) -> Result<InsertedImport> {
    ctx.caller.authorize("users", "write", namespace)?;
    namespaces::find(conn, namespace)?;
    let PreparedImport { accounts, mut errors } = prepared;
    let (rows, events): (Vec<(u64, Account)>, Vec<PreparedEvent>) =
        accounts.into_iter().map(|(index, account, event)| ((index, account), event)).unzip();
    let (indexes, accounts): (Vec<u64>, Vec<Account>) = rows.into_iter().unzip();
    let outcomes = db::accounts::insert_each(conn, &accounts)?;
    let mut made = Vec::with_capacity(accounts.len());
    for ((index, event), outcome) in indexes.into_iter().zip(events).zip(outcomes) {
        match outcome {
            Ok(()) => made.push(event),
            Err(e @ (Error::Conflict(_) | Error::Invalid { .. })) => {
                errors.push(row_error(index, conflict_as_field_error(e)))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(InsertedImport { made, errors })
}

/// Appends the events of an inserted chunk; returns how many accounts it created and the rows
/// it refused.
pub fn record_inserted(conn: &mut Conn, inserted: InsertedImport) -> Result<(u64, Vec<ImportRowError>)> {
    let InsertedImport { made, errors } = inserted;
    let created = made.len() as u64;
    db::audit::append_prepared(conn, made)?;
    Ok((created, errors))
}

/// The field errors of one rejected import row.
pub fn row_error(index: u64, error: Error) -> ImportRowError {
    let errors = match error {
        Error::Invalid { errors, detail } if errors.is_empty() => {
            vec![FieldError { field: "row".into(), message: detail }]
        }
        Error::Invalid { errors, .. } => errors,
        Error::Conflict(detail) => {
            let field = detail.split_whitespace().next().unwrap_or("row").to_owned();
            vec![FieldError { field, message: detail }]
        }
        other => vec![FieldError { field: "row".into(), message: other.to_string() }],
    };
    ImportRowError { index, errors }
}
