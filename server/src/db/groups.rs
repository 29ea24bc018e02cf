//! Groups (`account_groups`) and their members (`group_members`), and how the grants accounts
//! hold through their groups are read: every load of an account or of a client's owner reads
//! them with it ([`grants_of`], batched; joined into the statement of `accounts::get`, the read
//! of one account by id), so that what an account holds is read fresh with it, on every request
//! and every replica. [`GroupGrants::from_columns`] makes them from the stored columns.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use gatehouse_api_types::grant::Grant;
use uuid::Uuid;

use super::ids::{AccountId, GroupId};
use super::schema::{account_groups, accounts, group_members};
use super::{
    from_db_time, from_json_text, grant_strings, parse_stored_grants, parse_uuid, to_db_time, to_json_text, Conn,
    Unique,
};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: Uuid,
    pub namespace: String,
    pub name: String,
    pub description: Option<String>,
    /// The grants every member holds through the group.
    pub permissions: Vec<Grant>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A provisioning directory's own identifier of the group (SCIM `externalId`).
    pub external_id: Option<String>,
}

/// A group an account is a member of, with the grants it carries: read with every account.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupGrants {
    pub group_id: Uuid,
    /// The group's namespace (its members may be of any).
    pub namespace: String,
    pub name: String,
    pub grants: Vec<Grant>,
}

/// A member of a group, as its member list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub account_id: Uuid,
    pub namespace: String,
    pub username: Option<String>,
    pub added_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = account_groups, treat_none_as_null = true)]
struct Row {
    id: String,
    namespace: String,
    name: String,
    description: Option<String>,
    permissions: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    external_id: Option<String>,
}

impl Row {
    fn into_group(self) -> Result<Group> {
        Ok(Group {
            id: parse_uuid(&self.id)?,
            namespace: self.namespace,
            name: self.name,
            description: self.description,
            permissions: parse_stored_grants(&from_json_text::<Vec<String>>(&self.permissions)?),
            version: self.version,
            created_at: from_db_time(self.created_at),
            updated_at: from_db_time(self.updated_at),
            external_id: self.external_id,
        })
    }

    fn from_group(g: &Group) -> Result<Row> {
        Ok(Row {
            id: g.id.to_string(),
            namespace: g.namespace.clone(),
            name: g.name.clone(),
            description: g.description.clone(),
            permissions: to_json_text(&grant_strings(&g.permissions))?,
            version: g.version,
            created_at: to_db_time(g.created_at),
            updated_at: to_db_time(g.updated_at),
            external_id: g.external_id.clone(),
        })
    }
}

pub fn insert(conn: &mut Conn, group: &Group) -> Result<()> {
    diesel::insert_into(account_groups::table).values(Row::from_group(group)?).execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut Conn, id: GroupId) -> Result<Option<Group>> {
    account_groups::table.find(id.to_string()).select(Row::as_select()).unique(conn)?.map(Row::into_group).transpose()
}

/// Groups of a namespace in id order after `after`, optionally those a directory knows by
/// `external_id`.
pub fn list(
    conn: &mut Conn,
    namespace: &str,
    external_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Group>> {
    let mut query = account_groups::table
        .filter(account_groups::namespace.eq(namespace))
        .select(Row::as_select())
        .order(account_groups::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(external_id) = external_id {
        query = query.filter(account_groups::external_id.eq(external_id));
    }
    if let Some(after) = after {
        query = query.filter(account_groups::id.gt(after));
    }
    query.load(conn)?.into_iter().map(Row::into_group).collect()
}

/// Writes `group` if its stored version is still `expected_version` (else 412).
pub fn update(conn: &mut Conn, group: &Group, expected_version: i64) -> Result<()> {
    let changed = diesel::update(
        account_groups::table.find(group.id.to_string()).filter(account_groups::version.eq(expected_version)),
    )
    .set(Row::from_group(group)?)
    .execute(conn)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    Ok(())
}

/// Deletes the group and (by cascade) its memberships.
pub fn delete(conn: &mut Conn, id: GroupId) -> Result<()> {
    diesel::delete(group_members::table.filter(group_members::group_id.eq(id.to_string()))).execute(conn)?;
    diesel::delete(account_groups::table.find(id.to_string())).execute(conn)?;
    Ok(())
}

pub fn count_in_namespace(conn: &mut Conn, namespace: &str) -> Result<i64> {
    Ok(account_groups::table.filter(account_groups::namespace.eq(namespace)).count().get_result(conn)?)
}

pub fn count_members(conn: &mut Conn, group: GroupId) -> Result<i64> {
    Ok(group_members::table.filter(group_members::group_id.eq(group.to_string())).count().get_result(conn)?)
}

pub fn is_member(conn: &mut Conn, group: GroupId, account: AccountId) -> Result<bool> {
    let found: Option<String> = group_members::table
        .find((group.to_string(), account.to_string()))
        .select(group_members::account_id)
        .unique(conn)?;
    Ok(found.is_some())
}

pub fn add_member(conn: &mut Conn, group: GroupId, account: AccountId, now: DateTime<Utc>) -> Result<()> {
    diesel::insert_into(group_members::table)
        .values((
            group_members::group_id.eq(group.to_string()),
            group_members::account_id.eq(account.to_string()),
            group_members::created_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// True when the account was a member.
pub fn remove_member(conn: &mut Conn, group: GroupId, account: AccountId) -> Result<bool> {
    let removed = diesel::delete(group_members::table.find((group.to_string(), account.to_string()))).execute(conn)?;
    Ok(removed > 0)
}

/// Members of a group in account id order after `after`.
pub fn members(conn: &mut Conn, group: GroupId, after: Option<&str>, limit: i64) -> Result<Vec<Member>> {
    let mut query = group_members::table
        .inner_join(accounts::table)
        .filter(group_members::group_id.eq(group.to_string()))
        .select((accounts::id, accounts::namespace, accounts::username, group_members::created_at))
        .order(group_members::account_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(group_members::account_id.gt(after));
    }
    let rows: Vec<(String, String, Option<String>, NaiveDateTime)> = query.load(conn)?;
    rows.into_iter()
        .map(|(id, namespace, username, added)| {
            Ok(Member { account_id: parse_uuid(&id)?, namespace, username, added_at: from_db_time(added) })
        })
        .collect()
}

/// The groups `account` is a member of, in group id order after `after`.
pub fn groups_of(conn: &mut Conn, account: AccountId, after: Option<&str>, limit: i64) -> Result<Vec<Group>> {
    let mut query = group_members::table
        .inner_join(account_groups::table)
        .filter(group_members::account_id.eq(account.to_string()))
        .select(Row::as_select())
        .order(group_members::group_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(group_members::group_id.gt(after));
    }
    query.load(conn)?.into_iter().map(Row::into_group).collect()
}

/// The groups (with their grants) of each of `accounts`, in one statement: what each holds
/// beyond its own grants. Accounts in no group are absent from the map.
pub fn grants_of(conn: &mut Conn, accounts: &[&str]) -> Result<HashMap<String, Vec<GroupGrants>>> {
    let mut held: HashMap<String, Vec<GroupGrants>> = HashMap::new();
    if accounts.is_empty() {
        return Ok(held);
    }
    let query = group_members::table
        .inner_join(account_groups::table)
        .select((group_members::account_id, GROUP_GRANTS_COLUMNS))
        .order((group_members::account_id, account_groups::id));
    let rows: Vec<(String, GroupGrantsRow)> = if let [one] = accounts {
        // One account's groups (an account read by name, a client's owner): on the concrete
        // connection, as `accounts::get`.
        native!(conn, |c| query.filter(group_members::account_id.eq(*one)).load(c))?
    } else {
        let ids: Vec<String> = accounts.iter().map(|id| (*id).to_owned()).collect();
        query.filter(group_members::account_id.eq_any(ids)).load(conn)?
    };
    for (account, group) in rows {
        held.entry(account).or_default().push(GroupGrants::from_columns(group)?);
    }
    Ok(held)
}

/// The columns of `account_groups` that make a [`GroupGrants`], in the order
/// [`GroupGrants::from_columns`] takes them. A tuple of columns, not a `Selectable` struct:
/// [`grants_of`] builds its query once for all three connection types, and `as_select()` is
/// bound to one backend.
pub(super) type GroupGrantsColumns =
    (account_groups::id, account_groups::namespace, account_groups::name, account_groups::permissions);

/// How [`GROUP_GRANTS_COLUMNS`] load.
pub(super) type GroupGrantsRow = (String, String, String, String);

pub(super) const GROUP_GRANTS_COLUMNS: GroupGrantsColumns =
    (account_groups::id, account_groups::namespace, account_groups::name, account_groups::permissions);

impl GroupGrants {
    /// The groups of an account read with them left-joined: one row per group, or one row
    /// without a group (None) when it is in none.
    pub(super) fn from_joined(rows: impl IntoIterator<Item = Option<GroupGrantsRow>>) -> Result<Vec<Self>> {
        rows.into_iter().flatten().map(GroupGrants::from_columns).collect()
    }

    /// From [`GROUP_GRANTS_COLUMNS`] as stored: id, namespace, name, permissions.
    pub(super) fn from_columns((group, namespace, name, permissions): GroupGrantsRow) -> Result<Self> {
        Ok(GroupGrants {
            group_id: parse_uuid(&group)?,
            namespace,
            name,
            grants: parse_stored_grants(&from_json_text::<Vec<String>>(&permissions)?),
        })
    }
}
