//! Namespaces: isolated sets of accounts, addressed by slug. The slug never changes (grants
//! name it); the display name does. The record ([`Namespace`]) is stored by
//! [`crate::db::namespaces`]; its rules are here.

use gatehouse_api_types::grant::{Grant, ANY};
use gatehouse_api_types::{Namespace as ApiNamespace, NamespaceCreate, NamespacePatch};
use serde_json::{json, Value};

use super::{Context, PageRequest, Precondition};
pub use crate::db::namespaces::Namespace;
use crate::db::{self, Conn};
use crate::error::{Error, Result};

impl Namespace {
    pub fn to_api(&self) -> ApiNamespace {
        ApiNamespace {
            slug: self.slug.clone(),
            display_name: self.display_name.clone(),
            mfa: self.mfa,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    fn audit_view(&self) -> Value {
        json!({ "slug": self.slug, "display_name": self.display_name, "mfa": self.mfa.as_str() })
    }
}

pub fn create(conn: &mut Conn, ctx: &Context, input: NamespaceCreate) -> Result<Namespace> {
    ctx.caller.authorize("namespaces", "write", &input.slug)?;
    let now = db::now();
    let namespace = Namespace {
        slug: input.slug,
        display_name: input.display_name,
        version: 1,
        created_at: now,
        updated_at: now,
        mfa: Default::default(),
    };
    db::namespaces::insert(conn, &namespace).map_err(|e| match e {
        Error::Conflict(_) => Error::Conflict(format!("namespace {} already exists", namespace.slug)),
        other => other,
    })?;
    db::audit::append(
        conn,
        vec![ctx
            .event("namespace.create")
            .target("namespace", &namespace.slug)
            .namespace(&namespace.slug)
            .diff(None, Some(namespace.audit_view()))],
    )?;
    Ok(namespace)
}

pub fn get(conn: &mut Conn, ctx: &Context, slug: &str) -> Result<Namespace> {
    ctx.caller.authorize("namespaces", "read", slug)?;
    find(conn, slug)
}

/// The namespace, or a 404 naming it.
pub fn find(conn: &mut Conn, slug: &str) -> Result<Namespace> {
    db::namespaces::get(conn, slug)?.ok_or_else(|| Error::NotFound(format!("namespace {slug} does not exist")))
}

/// The namespaces the caller may read: all of them with `namespaces:read@*`, else those its
/// grants name.
pub fn list(conn: &mut Conn, ctx: &Context, page: &PageRequest) -> Result<(Vec<Namespace>, Option<String>)> {
    let visible = if ctx.caller.may("namespaces", "read", ANY) {
        None
    } else {
        let named: Vec<String> = ctx
            .caller
            .effective
            .iter()
            .filter(|g| g.namespace() != ANY && ctx.caller.may("namespaces", "read", g.namespace()))
            .map(Grant::namespace)
            .map(str::to_owned)
            .collect();
        if named.is_empty() {
            return Err(Error::missing_grant("namespaces:read@*".into()));
        }
        Some(named)
    };
    let rows = db::namespaces::list(conn, visible.as_deref(), page.after.as_deref(), page.fetch_limit())?;
    Ok(page.finish(rows, |n| n.slug.clone()))
}

pub fn update(
    conn: &mut Conn,
    ctx: &Context,
    slug: &str,
    patch: NamespacePatch,
    condition: Option<&Precondition>,
) -> Result<Namespace> {
    ctx.caller.authorize("namespaces", "write", slug)?;
    let before = find(conn, slug)?;
    Precondition::check(condition, before.version)?;
    let mut after = before.clone();
    if let Some(display_name) = patch.display_name {
        after.display_name = display_name;
    }
    if let Some(mfa) = patch.mfa {
        after.mfa = mfa;
    }
    after.version += 1;
    after.updated_at = db::now();
    db::namespaces::update(conn, &after, before.version)?;
    db::audit::append(
        conn,
        vec![ctx
            .event("namespace.update")
            .target("namespace", slug)
            .namespace(slug)
            .diff(Some(before.audit_view()), Some(after.audit_view()))],
    )?;
    Ok(after)
}

pub fn delete(conn: &mut Conn, ctx: &Context, slug: &str, condition: Option<&Precondition>) -> Result<()> {
    ctx.caller.authorize("namespaces", "write", slug)?;
    let before = find(conn, slug)?;
    Precondition::check(condition, before.version)?;
    let accounts = db::accounts::count_in_namespace(conn, slug)?;
    if accounts > 0 {
        return Err(Error::Conflict(format!("namespace {slug} still holds {accounts} account(s); delete them first")));
    }
    let groups = db::groups::count_in_namespace(conn, slug)?;
    if groups > 0 {
        return Err(Error::Conflict(format!("namespace {slug} still holds {groups} group(s); delete them first")));
    }
    let clients = db::clients::count_signing_into(conn, slug)?;
    if clients > 0 {
        return Err(Error::Conflict(format!(
            "{clients} client(s) sign users into namespace {slug}; change their user_namespace first"
        )));
    }
    db::namespaces::delete(conn, slug)?;
    db::audit::append(
        conn,
        vec![ctx
            .event("namespace.delete")
            .target("namespace", slug)
            .namespace(slug)
            .diff(Some(before.audit_view()), None)],
    )?;
    Ok(())
}
