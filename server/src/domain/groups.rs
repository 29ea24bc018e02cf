//! Groups: a namespace's named sets of accounts (of any namespace) that carry grants. An
//! account *holds* its own grants plus those of its groups ([`held`]); that is its power
//! everywhere power is measured (ADR 0015). The record ([`Group`]) is stored by
//! [`crate::db::groups`], which also reads every account's groups with it.
//!
//! Who may do what (ADR 0015): reading a group and its members needs `users:read@<ns>`, creating,
//! renaming and deleting one `users:write@<ns>`; its grants are read with `permissions:read@<ns>`
//! and set with `permissions:write@<ns>` and every grant added or removed. Adding or removing a
//! member is a change of that member's grants: it needs `permissions:write@<ns>`, every grant of
//! the group, and `users:read` over the member's namespace (an account the caller may not read
//! is reported missing, so membership answers no question about other namespaces). Deleting a
//! group takes its grants from every member: it needs `permissions:write@<ns>` and every grant of
//! the group too.

use gatehouse_api_types::grant::{self, Grant};
use gatehouse_api_types::{
    Direct, GrantSource, GrantVia, Group as ApiGroup, GroupCreate, GroupMember, GroupMembership, GroupPatch,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::power::{require_power_over, Control};
use super::{grant_strings, namespaces, Context, PageRequest, Precondition};
pub use crate::db::groups::{Group, GroupGrants, Member};
use crate::db::ids::{AccountId, GroupId};
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// What an account holds: its own grants and those of its groups.
pub fn held(own: &[Grant], groups: &[GroupGrants]) -> Vec<Grant> {
    grant::normalize(own.iter().cloned().chain(groups.iter().flat_map(|g| g.grants.iter().cloned())))
}

/// Where each grant an account holds comes from: each of its own grants, then each grant of
/// each of its groups.
pub fn sources(own: &[Grant], groups: &[GroupGrants]) -> Vec<GrantSource> {
    let direct = own.iter().map(|g| GrantSource { grant: g.to_string(), via: GrantVia::Direct(Direct::Direct) });
    let through = groups.iter().flat_map(|group| {
        group.grants.iter().map(|g| GrantSource {
            grant: g.to_string(),
            via: GrantVia::Group { group: group.group_id, name: group.name.clone() },
        })
    });
    direct.chain(through).collect()
}

impl Group {
    pub fn to_api(&self) -> ApiGroup {
        ApiGroup {
            id: self.id,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    pub fn etag(&self) -> String {
        Precondition::etag(self.version)
    }

    fn audit_view(&self) -> Value {
        json!({
            "namespace": self.namespace,
            "name": self.name,
            "description": self.description,
            "permissions": grant_strings(&self.permissions),
            "external_id": self.external_id,
        })
    }

    fn event(&self, ctx: &Context, action: &str) -> super::audit::NewEvent {
        ctx.event(action).target("group", self.id).namespace(&self.namespace)
    }
}

fn name_taken(e: Error) -> Error {
    match e {
        Error::Conflict(_) => Error::Conflict("name is already taken in this namespace".into()),
        other => other,
    }
}

/// The group `id` of `namespace`, or a 404 (also when it lives in another namespace).
pub fn find(conn: &mut Conn, namespace: &str, id: Uuid) -> Result<Group> {
    db::groups::get(conn, GroupId(id))?
        .filter(|g| g.namespace == namespace)
        .ok_or_else(|| Error::NotFound(format!("no group {id} in namespace {namespace}")))
}

pub fn create(conn: &mut Conn, ctx: &Context, namespace: &str, input: GroupCreate) -> Result<Group> {
    create_with(conn, ctx, namespace, input, None)
}

/// Creates a group, with a provisioning directory's identifier of it (SCIM `externalId`).
pub fn create_with(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    input: GroupCreate,
    external_id: Option<String>,
) -> Result<Group> {
    ctx.caller.authorize("users", "write", namespace)?;
    namespaces::find(conn, namespace)?;
    let now = db::now();
    let group = Group {
        id: Uuid::now_v7(),
        namespace: namespace.to_owned(),
        name: input.name,
        description: input.description,
        permissions: Vec::new(),
        version: 1,
        created_at: now,
        updated_at: now,
        external_id,
    };
    db::groups::insert(conn, &group).map_err(name_taken)?;
    db::audit::append(conn, vec![group.event(ctx, "group.create").diff(None, Some(group.audit_view()))])?;
    Ok(group)
}

pub fn get(conn: &mut Conn, ctx: &Context, namespace: &str, id: Uuid) -> Result<Group> {
    ctx.caller.authorize("users", "read", namespace)?;
    find(conn, namespace, id)
}

/// The groups of `namespace`, optionally those a directory knows by `external_id`.
pub fn list(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    external_id: Option<&str>,
    page: &PageRequest,
) -> Result<(Vec<Group>, Option<String>)> {
    ctx.caller.authorize("users", "read", namespace)?;
    namespaces::find(conn, namespace)?;
    let rows = db::groups::list(conn, namespace, external_id, page.after.as_deref(), page.fetch_limit())?;
    Ok(page.finish(rows, |g| g.id.to_string()))
}

pub fn update(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    patch: GroupPatch,
    condition: Option<&Precondition>,
) -> Result<Group> {
    update_with(conn, ctx, namespace, id, patch, None, condition)
}

/// Renames or describes a group; from a directory, `external_id` replaces its identifier.
pub fn update_with(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    patch: GroupPatch,
    external_id: Option<Option<String>>,
    condition: Option<&Precondition>,
) -> Result<Group> {
    ctx.caller.authorize("users", "write", namespace)?;
    let before = find(conn, namespace, id)?;
    Precondition::check(condition, before.version)?;
    let mut after = before.clone();
    if let Some(external_id) = external_id {
        after.external_id = external_id;
    }
    if let Some(name) = patch.name {
        after.name = name;
    }
    if let Some(description) = patch.description {
        after.description = description;
    }
    after.version += 1;
    after.updated_at = db::now();
    db::groups::update(conn, &after, before.version).map_err(name_taken)?;
    db::audit::append(
        conn,
        vec![after.event(ctx, "group.update").diff(Some(before.audit_view()), Some(after.audit_view()))],
    )?;
    Ok(after)
}

/// Deletes a group: its members no longer hold its grants, so the caller must hold them all.
pub fn delete(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    condition: Option<&Precondition>,
) -> Result<()> {
    ctx.caller.authorize("users", "write", namespace)?;
    ctx.caller.authorize("permissions", "write", namespace)?;
    let before = find(conn, namespace, id)?;
    Precondition::check(condition, before.version)?;
    ctx.caller.require_holds_all(&before.permissions)?;
    let members = db::groups::count_members(conn, GroupId(id))?;
    db::groups::delete(conn, GroupId(id))?;
    let changes = json!({ "before": before.audit_view(), "after": null, "members": members });
    db::audit::append(conn, vec![before.event(ctx, "group.delete").changes(changes)])?;
    Ok(())
}

pub fn permissions(conn: &mut Conn, ctx: &Context, namespace: &str, id: Uuid) -> Result<Group> {
    ctx.caller.authorize("permissions", "read", namespace)?;
    find(conn, namespace, id)
}

/// Replaces a group's grants. The caller must hold every grant it adds or removes, as for an
/// account's: each member gains or loses them.
pub fn set_permissions(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    grants: Vec<Grant>,
    condition: Option<&Precondition>,
) -> Result<Group> {
    ctx.caller.authorize("permissions", "write", namespace)?;
    let before = find(conn, namespace, id)?;
    Precondition::check(condition, before.version)?;
    let wanted = grant::normalize(grants);
    ctx.caller.require_holds_change(&before.permissions, &wanted)?;
    let mut after = before.clone();
    after.permissions = wanted;
    after.version += 1;
    after.updated_at = db::now();
    db::groups::update(conn, &after, before.version)?;
    db::audit::append(
        conn,
        vec![after.event(ctx, "group.permissions.set").diff(
            Some(json!({ "permissions": grant_strings(&before.permissions) })),
            Some(json!({ "permissions": grant_strings(&after.permissions) })),
        )],
    )?;
    Ok(after)
}

/// A group's members; a member's username shows only where the caller may read its namespace.
pub fn members(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    page: &PageRequest,
) -> Result<(Vec<GroupMember>, Option<String>)> {
    ctx.caller.authorize("users", "read", namespace)?;
    find(conn, namespace, id)?;
    let rows = db::groups::members(conn, GroupId(id), page.after.as_deref(), page.fetch_limit())?;
    let (rows, next) = page.finish(rows, |m| m.account_id.to_string());
    let shown = rows
        .into_iter()
        .map(|m| GroupMember {
            username: m.username.filter(|_| ctx.caller.may("users", "read", &m.namespace)),
            account_id: m.account_id,
            namespace: m.namespace,
            added_at: m.added_at,
        })
        .collect();
    Ok((shown, next))
}

/// What changing a group's membership needs, before it is changed: `users:read` over the
/// member's namespace (first: without it the member is reported missing, as one that does not
/// exist, whatever else the caller holds), `permissions:write` over the group's, and every grant
/// of the group (the member gains or loses them).
fn check_membership(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    account_id: Uuid,
) -> Result<(Group, String)> {
    let member_namespace = db::accounts::get(conn, AccountId(account_id))?
        .filter(|a| ctx.caller.may("users", "read", &a.namespace))
        .map(|a| a.namespace)
        .ok_or_else(|| Error::NotFound(format!("no account {account_id} (or you may not read its namespace)")))?;
    ctx.caller.authorize("permissions", "write", namespace)?;
    let group = find(conn, namespace, id)?;
    require_power_over(&ctx.caller, &group.permissions, Control::Membership)?;
    Ok((group, member_namespace))
}

fn membership_event(
    ctx: &Context,
    group: &Group,
    action: &str,
    account_id: Uuid,
    member_namespace: &str,
    before: bool,
    after: bool,
) -> super::audit::NewEvent {
    let state =
        |member: bool| json!({ "account_id": account_id, "account_namespace": member_namespace, "member": member });
    group.event(ctx, action).diff(Some(state(before)), Some(state(after)))
}

/// Makes `account_id` a member of the group (a member already stays one); returns whether it
/// was added.
pub fn add_member(conn: &mut Conn, ctx: &Context, namespace: &str, id: Uuid, account_id: Uuid) -> Result<bool> {
    let (group, member_namespace) = check_membership(conn, ctx, namespace, id, account_id)?;
    let was = db::groups::is_member(conn, GroupId(id), AccountId(account_id))?;
    if !was {
        db::groups::add_member(conn, GroupId(id), AccountId(account_id), db::now())?;
    }
    db::audit::append(
        conn,
        vec![membership_event(ctx, &group, "group.member.add", account_id, &member_namespace, was, true)],
    )?;
    Ok(!was)
}

pub fn remove_member(conn: &mut Conn, ctx: &Context, namespace: &str, id: Uuid, account_id: Uuid) -> Result<()> {
    let (group, member_namespace) = check_membership(conn, ctx, namespace, id, account_id)?;
    if !db::groups::remove_member(conn, GroupId(id), AccountId(account_id))? {
        return Err(Error::NotFound(format!("account {account_id} is not a member of group {id}")));
    }
    db::audit::append(
        conn,
        vec![membership_event(ctx, &group, "group.member.remove", account_id, &member_namespace, true, false)],
    )?;
    Ok(())
}

/// The groups account `id` of `namespace` is a member of; a group's name shows only where the
/// caller may read its namespace's accounts.
pub fn of_account(
    conn: &mut Conn,
    ctx: &Context,
    namespace: &str,
    id: Uuid,
    page: &PageRequest,
) -> Result<(Vec<GroupMembership>, Option<String>)> {
    let account = super::accounts::get(conn, ctx, namespace, id)?;
    let rows = db::groups::groups_of(conn, AccountId(account.id), page.after.as_deref(), page.fetch_limit())?;
    let (rows, next) = page.finish(rows, |g| g.id.to_string());
    let shown = rows
        .into_iter()
        .map(|g| GroupMembership {
            name: Some(g.name).filter(|_| ctx.caller.may("users", "read", &g.namespace)),
            group_id: g.id,
            namespace: g.namespace,
        })
        .collect();
    Ok((shown, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Grant {
        Grant::parse(s).unwrap()
    }

    #[test]
    fn an_account_holds_its_grants_and_its_groups() {
        let ops = GroupGrants {
            group_id: Uuid::nil(),
            namespace: "shop".into(),
            name: "ops".into(),
            grants: vec![g("users:*@shop")],
        };
        let held = held(&[g("users:read@shop"), g("audit:read@*")], std::slice::from_ref(&ops));
        assert_eq!(held, grant::normalize(vec![g("users:*@shop"), g("audit:read@*")]));
        let sources = sources(&[g("users:read@shop")], &[ops]);
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0].via, GrantVia::Direct(Direct::Direct));
        assert_eq!(sources[1].via, GrantVia::Group { group: Uuid::nil(), name: "ops".into() });
    }
}
