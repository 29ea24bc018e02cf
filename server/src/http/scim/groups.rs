//! `/scim/v2/{ns}/Groups`: Gatehouse groups (ADR 0015) through `domain::groups`. `displayName`
//! is the group's name, `members` its members by account id (accounts of any namespace; a
//! member's `$ref` points into its own namespace's `Users`). Every membership change is the
//! domain's `add_member`/`remove_member`, one member at a time: it needs `permissions:write`,
//! every grant of the group and `users:read` over the member's namespace, and is audited
//! `group.member.add`/`group.member.remove` — a directory grants nothing its client does not hold.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use gatehouse_api_types::{GroupCreate, GroupPatch};
use serde_json::{json, Map, Value};
use uuid::Uuid;
use validator::Validate;

use super::filter::{member, GROUP_SCHEMA};
use super::list::{Narrowing, Projection, Query};
use super::user_doc::namespace_base;
use super::users::Change;
use super::{base_url, if_match, parse_id, read_json, respond, scim_error, time, version_tag, ScimType};
use crate::db::Conn;
use crate::domain::groups::{self, Group};
use crate::domain::{Context, PageRequest, Precondition};
use crate::error::{Error, Result};
use crate::http::auth::Api;
use crate::http::extract::Path;

const KNOWN: &[&str] = &["displayName", "members", "value", "type", "$ref", "externalId"];

/// A group with its members (account id, namespace).
pub(super) struct Full {
    pub(super) group: Group,
    members: Vec<(Uuid, String)>,
}

/// Every member of `group` (the caller needs `users:read@<ns>`), through the domain.
fn full(conn: &mut Conn, ctx: &Context, group: Group) -> Result<Full> {
    let mut members = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = PageRequest::new(Some(200), token.as_deref())?;
        let (rows, next) = groups::members(conn, ctx, &group.namespace, group.id, &page)?;
        members.extend(rows.into_iter().map(|m| (m.account_id, m.namespace)));
        match next {
            Some(next) => token = Some(next),
            None => return Ok(Full { group, members }),
        }
    }
}

pub(super) fn write(full: &Full, base: &str) -> Value {
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

fn read(doc: &Value) -> Result<GroupState> {
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

/// The groups of `namespace` that `narrowing` reads (the caller needs `users:read@<ns>`), each
/// once, in id order, without their members.
fn read_groups(conn: &mut Conn, ctx: &Context, namespace: &str, narrowing: &Narrowing) -> Result<Vec<Group>> {
    let mut found = match narrowing {
        Narrowing::Everything => every(conn, ctx, namespace, None)?,
        Narrowing::ExternalId(external_id) => every(conn, ctx, namespace, Some(external_id))?,
        Narrowing::Id(id) => {
            ctx.caller.authorize("users", "read", namespace)?;
            match id.map(|id| groups::get(conn, ctx, namespace, id)) {
                Some(Ok(group)) => vec![group],
                None | Some(Err(Error::NotFound(_))) => Vec::new(),
                Some(Err(other)) => return Err(other),
            }
        }
        // Groups have no sign-in names: no group has that `userName`.
        Narrowing::SignInPrefix(_) => {
            ctx.caller.authorize("users", "read", namespace)?;
            Vec::new()
        }
        Narrowing::Union(parts) => {
            let mut all = Vec::new();
            for part in parts {
                all.extend(read_groups(conn, ctx, namespace, part)?);
            }
            all
        }
    };
    found.sort_by_key(|g| g.id);
    found.dedup_by_key(|g| g.id);
    Ok(found)
}

/// Every group of `namespace` (with that `external_id`), page by page.
fn every(conn: &mut Conn, ctx: &Context, namespace: &str, external_id: Option<&str>) -> Result<Vec<Group>> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = PageRequest::new(Some(200), token.as_deref())?;
        let (items, next) = groups::list(conn, ctx, namespace, external_id, &page)?;
        all.extend(items);
        match next {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

async fn query(api: Api, ns: String, query: Query) -> Result<HttpResponse> {
    let base = base_url(&api.req, &ns);
    let narrowing = query.narrowing();
    // Entra ID looks groups up by name without their members: a member list nobody reads is
    // not read.
    let with_members = query.reads("members");
    let all = api
        .read(move |conn, ctx| {
            let found = read_groups(conn, ctx, &ns, &narrowing)?;
            if with_members {
                found.into_iter().map(|group| full(conn, ctx, group)).collect()
            } else {
                Ok(found.into_iter().map(|group| Full { group, members: Vec::new() }).collect::<Vec<_>>())
            }
        })
        .await?;
    let docs = all.iter().map(|g| write(g, &base)).collect();
    Ok(respond(StatusCode::OK, &query.answer(docs), None, None))
}

pub async fn list(api: Api, path: Path<String>) -> Result<HttpResponse> {
    api.context().await?;
    let parsed = Query::from_query(api.req.query_string())?;
    query(api, path.into_inner(), parsed).await
}

pub async fn search(api: Api, path: Path<String>, payload: web::Payload) -> Result<HttpResponse> {
    let body = read_json(&api, payload).await?;
    let parsed = Query::from_search(&body)?;
    query(api, path.into_inner(), parsed).await
}

fn answer(full: &Full, base: &str, status: StatusCode) -> HttpResponse {
    let location = format!("{base}/Groups/{}", full.group.id);
    let created = status == StatusCode::CREATED;
    respond(status, &write(full, base), Some(&version_tag(full.group.version)), created.then_some(location.as_str()))
}

/// Makes `change` through the domain, in the caller's transaction; the group after it (none
/// once deleted).
pub(super) fn apply(
    conn: &mut Conn,
    ctx: &Context,
    ns: &str,
    base: &str,
    change: Change,
    condition: Option<&Precondition>,
) -> Result<Option<Full>> {
    match change {
        Change::Create(body) => {
            let state = read(&body)?;
            let input = GroupCreate { name: state.name.clone(), description: None };
            let group = groups::create_with(conn, ctx, ns, input, state.external_id.clone())?;
            set_members(conn, ctx, ns, group.id, &[], &state.members)?;
            full(conn, ctx, group).map(Some)
        }
        Change::Replace(id, body) => {
            same_id(&body, id)?;
            let state = read(&body)?;
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
            let state = read(&doc)?;
            store(conn, ctx, ns, current, state, condition).map(Some)
        }
        Change::Delete(id) => groups::delete(conn, ctx, ns, id, condition).map(|()| None),
    }
}

/// Runs `change` in one write transaction and answers it.
async fn answer_change(api: Api, ns: String, change: Change, condition: Option<Precondition>) -> Result<HttpResponse> {
    let base = base_url(&api.req, &ns);
    let status = if matches!(change, Change::Create(_)) { StatusCode::CREATED } else { StatusCode::OK };
    let written = base.clone();
    let full = api.write(move |conn, ctx| apply(conn, ctx, &ns, &written, change, condition.as_ref())).await?;
    Ok(match full {
        Some(full) => answer(&full, &base, status),
        None => HttpResponse::NoContent().finish(),
    })
}

pub async fn create(api: Api, path: Path<String>, payload: web::Payload) -> Result<HttpResponse> {
    let ns = path.into_inner();
    let body = read_json(&api, payload).await?;
    answer_change(api, ns, Change::Create(body), None).await
}

pub async fn get(api: Api, path: Path<(String, String)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    api.context().await?;
    let projection = Projection::from_query(api.req.query_string())?;
    let id = parse_id(&id, "group")?;
    let base = base_url(&api.req, &ns);
    let full = api
        .read(move |conn, ctx| {
            let group = groups::get(conn, ctx, &ns, id)?;
            full(conn, ctx, group)
        })
        .await?;
    let doc = projection.apply(write(&full, &base));
    Ok(respond(StatusCode::OK, &doc, Some(&version_tag(full.group.version)), None))
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

fn same_id(body: &Value, id: Uuid) -> Result<()> {
    match member(body, "id").and_then(Value::as_str) {
        Some(given) if given != id.to_string() => {
            Err(scim_error(ScimType::Mutability, "id is read-only and names this resource"))
        }
        _ => Ok(()),
    }
}

pub async fn replace(api: Api, path: Path<(String, String)>, payload: web::Payload) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let body = read_json(&api, payload).await?;
    let id = parse_id(&id, "group")?;
    let condition = if_match(&api).await?;
    answer_change(api, ns, Change::Replace(id, body), condition).await
}

pub async fn patch(api: Api, path: Path<(String, String)>, payload: web::Payload) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    let body = read_json(&api, payload).await?;
    let operations = super::patch::parse_request(&body)?;
    let id = parse_id(&id, "group")?;
    let condition = if_match(&api).await?;
    answer_change(api, ns, Change::Patch(id, operations), condition).await
}

pub async fn delete(api: Api, path: Path<(String, String)>) -> Result<HttpResponse> {
    let (ns, id) = path.into_inner();
    api.context().await?;
    let id = parse_id(&id, "group")?;
    let condition = if_match(&api).await?;
    answer_change(api, ns, Change::Delete(id), condition).await
}
