//! `/scim/v2/{ns}/Groups`: Gatehouse groups (ADR 0015) through `domain::groups`. `displayName`
//! is the group's name, `members` its members by account id (accounts of any namespace; a
//! member's `$ref` points into its own namespace's `Users`). Every membership change is the
//! domain's `add_member`/`remove_member`, one member at a time: it needs `permissions:write`,
//! every grant of the group and `users:read` over the member's namespace, and is audited
//! `group.member.add`/`group.member.remove` — a directory grants nothing its client does not hold.

use std::collections::BTreeSet;

use gatehouse_api_types::{GroupCreate, GroupPatch};
use serde_json::{json, Map, Value};
use uuid::Uuid;
use validator::Validate;

use super::filter::{member, GROUP_SCHEMA};
use super::list::{all_pages, found, Narrowing, Query};
use super::resource::{same_id, Change, Resource};
use super::user_doc::namespace_base;
use super::{scim_error, time, version_tag, ScimType};
use crate::db::Conn;
use crate::domain::groups::{self, Group};
use crate::domain::{Caller, Context, Precondition};
use crate::error::{Error, Result};

const KNOWN: &[&str] = &["displayName", "members", "value", "type", "$ref", "externalId"];

/// A group with its members (account id, namespace).
pub struct Full {
    group: Group,
    members: Vec<(Uuid, String)>,
}

/// Every member of `group` (the caller needs `users:read@<ns>`), through the domain.
fn full(conn: &mut Conn, ctx: &Context, group: Group) -> Result<Full> {
    let members = all_pages(|page| groups::members(conn, ctx, &group.namespace, group.id, page))?;
    let members = members.into_iter().map(|m| (m.account_id, m.namespace)).collect();
    Ok(Full { group, members })
}

fn write(full: &Full, base: &str) -> Value {
    let group = &full.group;
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([GROUP_SCHEMA]));
    doc.insert("id".into(), json!(group.id));
    if let Some(external_id) = &group.external_id {
        doc.insert("externalId".into(), json!(external_id));
    }
    doc.insert("displayName".into(), json!(group.name));
    let members: Vec<Value> = full
        .members
        .iter()
        .map(|(id, namespace)| {
            json!({ "value": id, "type": "User", "$ref": format!("{}/Users/{id}", namespace_base(base, namespace)) })
        })
        .collect();
    if !members.is_empty() {
        doc.insert("members".into(), Value::Array(members));
    }
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": time(group.created_at),
            "lastModified": time(group.updated_at),
            "location": format!("{base}/Groups/{}", group.id),
            "version": version_tag(group.version),
        }),
    );
    Value::Object(doc)
}

/// What a Group document says: its name, external id and members.
struct GroupState {
    name: String,
    external_id: Option<String>,
    members: BTreeSet<Uuid>,
}

fn state_of(doc: &Value) -> Result<GroupState> {
    let name = match member(doc, "displayName") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(scim_error(ScimType::InvalidValue, "displayName is required")),
    };
    GroupCreate { name: name.clone(), description: None }.validate()?;
    let external_id = match member(doc, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.is_empty()),
        Some(_) => return Err(scim_error(ScimType::InvalidValue, "externalId must be a string")),
    };
    let mut members = BTreeSet::new();
    match member(doc, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                if member(item, "type").and_then(Value::as_str).is_some_and(|t| !t.eq_ignore_ascii_case("User")) {
                    return Err(scim_error(ScimType::InvalidValue, "members are Users: groups do not nest"));
                }
                let id = member(item, "value")
                    .and_then(Value::as_str)
                    .and_then(|v| Uuid::parse_str(v).ok())
                    .ok_or_else(|| scim_error(ScimType::InvalidValue, "each member's value is an account id"))?;
                members.insert(id);
            }
        }
        Some(_) => return Err(scim_error(ScimType::InvalidValue, "members must be an array")),
    }
    Ok(GroupState { name, external_id, members })
}

/// An account that is not there (or that the caller may not read) is a bad member value.
fn unknown_member(error: Error) -> Error {
    match error {
        Error::NotFound(detail) => scim_error(ScimType::InvalidValue, format!("members: {detail}")),
        other => other,
    }
}

/// Makes the group's members `wanted`, one domain change per member added or removed.
fn set_members(
    conn: &mut Conn,
    ctx: &Context,
    ns: &str,
    id: Uuid,
    now: &[(Uuid, String)],
    wanted: &BTreeSet<Uuid>,
) -> Result<()> {
    let current: BTreeSet<Uuid> = now.iter().map(|(id, _)| *id).collect();
    for gone in current.difference(wanted) {
        groups::remove_member(conn, ctx, ns, id, *gone).map_err(unknown_member)?;
    }
    for added in wanted.difference(&current) {
        groups::add_member(conn, ctx, ns, id, *added).map_err(unknown_member)?;
    }
    Ok(())
}

/// The `Groups` resource type.
pub struct Groups;

impl Resource for Groups {
    const COLLECTION: &'static str = "Groups";
    const NOUN: &'static str = "group";
    type Stored = Full;

    fn id(full: &Full) -> Uuid {
        full.group.id
    }

    fn version(full: &Full) -> i64 {
        full.group.version
    }

    fn document(full: &Full, base: &str, _: &Caller) -> Value {
        write(full, base)
    }

    fn get(conn: &mut Conn, ctx: &Context, ns: &str, id: Uuid) -> Result<Full> {
        let group = groups::get(conn, ctx, ns, id)?;
        full(conn, ctx, group)
    }

    /// Members are read only when the answer needs them: Entra ID looks groups up by name
    /// without their members.
    fn read(conn: &mut Conn, ctx: &Context, ns: &str, query: &Query) -> Result<Vec<Full>> {
        let found = read_groups(conn, ctx, ns, &query.narrowing())?;
        if query.reads("members") {
            found.into_iter().map(|group| full(conn, ctx, group)).collect()
        } else {
            Ok(found.into_iter().map(|group| Full { group, members: Vec::new() }).collect())
        }
    }

    fn apply(
        conn: &mut Conn,
        ctx: &Context,
        ns: &str,
        base: &str,
        change: Change,
        condition: Option<&Precondition>,
    ) -> Result<Option<Full>> {
        match change {
            Change::Create(body) => {
                let state = state_of(&body)?;
                let input = GroupCreate { name: state.name.clone(), description: None };
                let group = groups::create_with(conn, ctx, ns, input, state.external_id.clone())?;
                set_members(conn, ctx, ns, group.id, &[], &state.members)?;
                full(conn, ctx, group).map(Some)
            }
            Change::Replace(id, body) => {
                same_id(&body, id)?;
                let state = state_of(&body)?;
                let group = groups::get(conn, ctx, ns, id)?;
                let current = full(conn, ctx, group)?;
                store(conn, ctx, ns, current, state, condition).map(Some)
            }
            Change::Patch(id, operations) => {
                let group = groups::get(conn, ctx, ns, id)?;
                let current = full(conn, ctx, group)?;
                let mut doc = write(&current, base);
                super::patch::apply(&mut doc, &operations, &[], KNOWN)?;
                same_id(&doc, id)?;
                let state = state_of(&doc)?;
                store(conn, ctx, ns, current, state, condition).map(Some)
            }
            Change::Delete(id) => groups::delete(conn, ctx, ns, id, condition).map(|()| None),
        }
    }
}

/// The groups of `namespace` that `narrowing` reads (the caller needs `users:read@<ns>`), each
/// once, in id order, without their members.
fn read_groups(conn: &mut Conn, ctx: &Context, namespace: &str, narrowing: &Narrowing) -> Result<Vec<Group>> {
    ctx.caller.authorize("users", "read", namespace)?;
    let mut lookup = |part: &Narrowing| {
        let external_id = match part {
            // Groups have no sign-in names: no group has that `userName`.
            Narrowing::Id(None) | Narrowing::SignInPrefix(_) => return Ok(Vec::new()),
            Narrowing::Id(Some(id)) => return found(groups::get(conn, ctx, namespace, *id)),
            Narrowing::ExternalId(id) => Some(id.as_str()),
            Narrowing::Everything | Narrowing::Union(_) => None,
        };
        all_pages(|page| groups::list(conn, ctx, namespace, external_id, page))
    };
    narrowing.read(&mut lookup, |group| group.id)
}

/// Writes `state` over group `id`: its name and external id (one `group.update`), then its
/// members.
fn store(
    conn: &mut Conn,
    ctx: &Context,
    ns: &str,
    current: Full,
    state: GroupState,
    condition: Option<&Precondition>,
) -> Result<Full> {
    let id = current.group.id;
    Precondition::check(condition, current.group.version)?;
    let renamed = state.name != current.group.name || state.external_id != current.group.external_id;
    if renamed {
        let patch = GroupPatch { name: Some(state.name.clone()), description: None };
        let read_at = Precondition { any: false, etags: vec![Precondition::etag(current.group.version)] };
        groups::update_with(conn, ctx, ns, id, patch, Some(state.external_id.clone()), Some(&read_at))?;
    }
    set_members(conn, ctx, ns, id, &current.members, &state.members)?;
    let group = groups::find(conn, ns, id)?;
    full(conn, ctx, group)
}
