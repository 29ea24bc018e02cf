//! Namespaces: the slug-keyed rows accounts live in, and their record, [`Namespace`] (its rules
//! are the domain's).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use gatehouse_api_types::MfaPolicy;

use super::schema::namespaces;
use super::{from_db_time, to_db_time, Conn, Unique};
use crate::error::{Error, Result};

/// A namespace: an isolated set of accounts, addressed by a slug that never changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    pub slug: String,
    pub display_name: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether its accounts must sign in with a second factor.
    pub mfa: MfaPolicy,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = namespaces)]
struct Row {
    slug: String,
    display_name: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    mfa: String,
}

impl From<Row> for Namespace {
    fn from(r: Row) -> Self {
        Namespace {
            slug: r.slug,
            display_name: r.display_name,
            version: r.version,
            created_at: from_db_time(r.created_at),
            updated_at: from_db_time(r.updated_at),
            mfa: MfaPolicy::from_stored(&r.mfa),
        }
    }
}

impl From<&Namespace> for Row {
    fn from(n: &Namespace) -> Self {
        Row {
            slug: n.slug.clone(),
            display_name: n.display_name.clone(),
            version: n.version,
            created_at: to_db_time(n.created_at),
            updated_at: to_db_time(n.updated_at),
            mfa: n.mfa.as_str().to_owned(),
        }
    }
}

pub fn insert(conn: &mut Conn, namespace: &Namespace) -> Result<()> {
    diesel::insert_into(namespaces::table).values(Row::from(namespace)).execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut Conn, slug: &str) -> Result<Option<Namespace>> {
    let row = namespaces::table.find(slug).select(Row::as_select()).unique(conn)?;
    Ok(row.map(Namespace::from))
}

pub fn list(conn: &mut Conn, only: Option<&[String]>, after: Option<&str>, limit: i64) -> Result<Vec<Namespace>> {
    let mut query = namespaces::table.select(Row::as_select()).order(namespaces::slug.asc()).limit(limit).into_boxed();
    if let Some(slugs) = only {
        query = query.filter(namespaces::slug.eq_any(slugs));
    }
    if let Some(after) = after {
        query = query.filter(namespaces::slug.gt(after));
    }
    Ok(query.load(conn)?.into_iter().map(Namespace::from).collect())
}

/// Writes `namespace` if its stored version is still `expected_version`.
pub fn update(conn: &mut Conn, namespace: &Namespace, expected_version: i64) -> Result<()> {
    let changed =
        diesel::update(namespaces::table.find(&namespace.slug).filter(namespaces::version.eq(expected_version)))
            .set(Row::from(namespace))
            .execute(conn)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    Ok(())
}

pub fn delete(conn: &mut Conn, slug: &str) -> Result<()> {
    diesel::delete(namespaces::table.find(slug)).execute(conn)?;
    Ok(())
}
