//! Queries of a SCIM collection (RFC 7644 §3.4.2, §3.4.3): `filter`, `sortBy`/`sortOrder`,
//! `startIndex`/`count`, `attributes`/`excludedAttributes`, from the query string of a `GET` or
//! the body of a `POST …/.search`; the `ListResponse`; and the projection of one resource.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use super::filter::{self, member, AttrPath, CompValue, Filter, Op};
use super::{scim_error, ScimType};
use crate::domain::PageRequest;
use crate::error::{Error, Result};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// `count` when the request names none, and the most one page holds.
pub const DEFAULT_COUNT: usize = 100;
pub const MAX_COUNT: usize = 1000;

#[derive(Debug, Default, Clone)]
pub struct Query {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
}

/// `attributes` / `excludedAttributes`.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

fn paths(text: &str, field: &str) -> Result<Vec<AttrPath>> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| filter::parse_attr_path(p).map_err(|e| scim_error(ScimType::InvalidPath, format!("{field}: {}", e.0))))
        .collect()
}

fn number(text: &str, field: &str) -> Result<i64> {
    text.trim().parse().map_err(|_| scim_error(ScimType::InvalidValue, format!("{field} must be an integer")))
}

impl Projection {
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection> {
        Ok(Projection {
            attributes: attributes.map(|a| paths(a, "attributes")).transpose()?.unwrap_or_default(),
            excluded: excluded.map(|e| paths(e, "excludedAttributes")).transpose()?.unwrap_or_default(),
        })
    }

    /// Whether the projected resource holds the core attribute `name` (when it has one).
    pub fn returns(&self, name: &str) -> bool {
        let named = |p: &AttrPath| p.name.eq_ignore_ascii_case(name) && p.uri.as_deref().is_none_or(filter::is_core);
        (self.attributes.is_empty() || self.attributes.iter().any(named))
            && !self.excluded.iter().any(|p| named(p) && p.sub.is_none())
    }

    /// From a query string (a `GET` of one resource).
    pub fn from_query(query: &str) -> Result<Projection> {
        let pairs = pairs(query)?;
        let get = |name: &str| pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        Projection::parse(get("attributes"), get("excludedAttributes"))
    }

    /// `doc` with only what was asked for: `id` and `schemas` always, `attributes` (with their
    /// sub-attributes) when named, less `excludedAttributes`.
    pub fn apply(&self, doc: Value) -> Value {
        let Value::Object(mut all) = doc else { return doc };
        if !self.attributes.is_empty() {
            let mut kept = Map::new();
            for always in ["id", "schemas"] {
                if let Some(v) = all.get(always) {
                    kept.insert(always.to_owned(), v.clone());
                }
            }
            for path in &self.attributes {
                copy(&all, &mut kept, path);
            }
            all = kept;
        }
        for path in &self.excluded {
            if ["id", "schemas"].iter().any(|a| a.eq_ignore_ascii_case(&path.name)) && path.uri.is_none() {
                continue;
            }
            remove(&mut all, path);
        }
        Value::Object(all)
    }
}

/// The object holding `path`'s attribute: the resource, or its extension's member.
fn holder_key(all: &Map<String, Value>, path: &AttrPath) -> Option<Option<String>> {
    match &path.uri {
        Some(uri) if !filter::is_core(uri) => all.keys().find(|k| k.eq_ignore_ascii_case(uri)).cloned().map(Some),
        _ => Some(None),
    }
}

fn copy(all: &Map<String, Value>, kept: &mut Map<String, Value>, path: &AttrPath) {
    let Some(holder) = holder_key(all, path) else { return };
    let source = match &holder {
        Some(key) => match all.get(key).and_then(Value::as_object) {
            Some(object) => object,
            None => return,
        },
        None => all,
    };
    let Some((name, value)) = source.iter().find(|(k, _)| k.eq_ignore_ascii_case(&path.name)) else { return };
    let value = match (&path.sub, value) {
        (None, v) => v.clone(),
        (Some(sub), Value::Object(o)) => match o.iter().find(|(k, _)| k.eq_ignore_ascii_case(sub)) {
            Some((k, v)) => single(k, v),
            None => return,
        },
        (Some(sub), Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter_map(|item| {
                    let (k, v) = item.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(sub))?;
                    Some(single(k, v))
                })
                .collect(),
        ),
        (Some(_), _) => return,
    };
    let target = match holder {
        Some(key) => kept.entry(key).or_insert_with(|| json!({})).as_object_mut().expect("an object"),
        None => kept,
    };
    if let (Some(Value::Object(existing)), Value::Object(more)) = (target.get_mut(name), &value) {
        existing.extend(more.clone());
        return;
    }
    target.insert(name.clone(), value);
}

fn single(key: &str, value: &Value) -> Value {
    let mut object = Map::new();
    object.insert(key.to_owned(), value.clone());
    Value::Object(object)
}

fn remove(all: &mut Map<String, Value>, path: &AttrPath) {
    let Some(holder) = holder_key(all, path) else { return };
    let source = match holder {
        Some(key) => match all.get_mut(&key).and_then(Value::as_object_mut) {
            Some(object) => object,
            None => return,
        },
        None => all,
    };
    let Some(name) = source.keys().find(|k| k.eq_ignore_ascii_case(&path.name)).cloned() else { return };
    match &path.sub {
        None => {
            source.remove(&name);
        }
        Some(sub) => match source.get_mut(&name) {
            Some(Value::Object(o)) => o.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Some(o) = item.as_object_mut() {
                        o.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    }
                }
            }
            _ => {}
        },
    }
}

fn pairs(query: &str) -> Result<Vec<(String, String)>> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .map(actix_web::web::Query::into_inner)
        .map_err(|_| scim_error(ScimType::InvalidSyntax, "the query string is malformed"))
}

impl Query {
    fn build(
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
        start_index: Option<i64>,
        count: Option<i64>,
        projection: Projection,
    ) -> Result<Query> {
        let filter = filter
            .filter(|f| !f.trim().is_empty())
            .map(|f| filter::parse(f).map_err(|e| scim_error(ScimType::InvalidFilter, format!("filter: {}", e.0))))
            .transpose()?;
        let sort_by = sort_by
            .filter(|s| !s.trim().is_empty())
            .map(|s| filter::parse_attr_path(s.trim()))
            .transpose()
            .map_err(|e| scim_error(ScimType::InvalidPath, format!("sortBy: {}", e.0)))?;
        let descending = match sort_order.map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(_) => return Err(scim_error(ScimType::InvalidValue, "sortOrder is ascending or descending")),
        };
        // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
        let start_index = start_index.unwrap_or(1).max(1) as usize;
        let count = count.map_or(DEFAULT_COUNT, |c| c.clamp(0, MAX_COUNT as i64) as usize);
        Ok(Query { filter, sort_by, descending, start_index, count, projection })
    }

    /// From a `GET` query string.
    pub fn from_query(query: &str) -> Result<Query> {
        let pairs = pairs(query)?;
        let get = |name: &str| pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let start = get("startIndex").map(|v| number(v, "startIndex")).transpose()?;
        let count = get("count").map(|v| number(v, "count")).transpose()?;
        let projection = Projection::parse(get("attributes"), get("excludedAttributes"))?;
        Query::build(get("filter"), get("sortBy"), get("sortOrder"), start, count, projection)
    }

    /// From a `SearchRequest` body (`POST …/.search`).
    pub fn from_search(body: &Value) -> Result<Query> {
        let text = |name: &str| -> Result<Option<String>> {
            match member(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => {
                    Ok(Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")))
                }
                Some(_) => Err(scim_error(ScimType::InvalidValue, format!("{name} must be a string"))),
            }
        };
        let int = |name: &str| -> Result<Option<i64>> {
            match member(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| scim_error(ScimType::InvalidValue, format!("{name} must be an integer"))),
            }
        };
        let projection = Projection::parse(text("attributes")?.as_deref(), text("excludedAttributes")?.as_deref())?;
        Query::build(
            text("filter")?.as_deref(),
            text("sortBy")?.as_deref(),
            text("sortOrder")?.as_deref(),
            int("startIndex")?,
            int("count")?,
            projection,
        )
    }

    /// Which resources the database must read to answer.
    pub fn narrowing(&self) -> Narrowing {
        narrowing(self.filter.as_ref())
    }

    /// Whether the answer depends on the core attribute `name` (its filter or order reads
    /// it, or its projection returns it): an expensive attribute nobody asked for is not read.
    pub fn reads(&self, name: &str) -> bool {
        self.filter.as_ref().is_some_and(|f| f.reads(name))
            || self.sort_by.as_ref().is_some_and(|p| p.name.eq_ignore_ascii_case(name))
            || self.projection.returns(name)
    }

    /// The `ListResponse` of `docs` (every resource of the collection): filtered, sorted,
    /// paged and projected.
    pub fn answer(&self, docs: Vec<Value>) -> Value {
        let mut matching: Vec<Value> =
            docs.into_iter().filter(|d| self.filter.as_ref().is_none_or(|f| f.matches(d))).collect();
        if let Some(sort_by) = &self.sort_by {
            matching.sort_by(|a, b| {
                let ordering = compare(sort_key(a, sort_by), sort_key(b, sort_by));
                if self.descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
        }
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(self.start_index - 1)
            .take(self.count)
            .map(|d| self.projection.apply(d))
            .collect();
        json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": total,
            "startIndex": self.start_index,
            "itemsPerPage": page.len(),
            "Resources": page,
        })
    }
}

/// Which resources the database reads for a filter: a superset of those it matches, found
/// through indexes. The filter itself, evaluated on each document, decides; a filter the
/// database cannot narrow reads the whole namespace.
#[derive(Debug, Clone, PartialEq)]
pub enum Narrowing {
    Everything,
    /// Accounts with a sign-in name starting with this (`userName eq`: the fold of a name
    /// equal without case starts with the fold of the other); no group.
    SignInPrefix(String),
    /// Resources a directory knows by this `externalId` (compared exactly, as SCIM does).
    ExternalId(String),
    /// The resource with this id; nothing when it is not an id.
    Id(Option<uuid::Uuid>),
    /// Every resource any of these reads.
    Union(Vec<Narrowing>),
}

impl Narrowing {
    /// What the narrowing reads: `lookup` of each of its parts that is not a union, each
    /// resource once, in the order of `key`.
    pub fn read<T, K: Ord>(
        &self,
        lookup: &mut impl FnMut(&Narrowing) -> Result<Vec<T>>,
        key: impl Fn(&T) -> K + Copy,
    ) -> Result<Vec<T>> {
        let mut found = match self {
            Narrowing::Union(parts) => {
                let mut all = Vec::new();
                for part in parts {
                    all.extend(part.read(lookup, key)?);
                }
                all
            }
            part => lookup(part)?,
        };
        found.sort_by_key(key);
        found.dedup_by(|a, b| key(a) == key(b));
        Ok(found)
    }
}

/// One resource read by id, as a list: empty when there is none.
pub fn found<T>(read: Result<T>) -> Result<Vec<T>> {
    match read {
        Ok(one) => Ok(vec![one]),
        Err(Error::NotFound(_)) => Ok(Vec::new()),
        Err(other) => Err(other),
    }
}

/// Every item of a paged domain list, 200 at a time.
pub fn all_pages<T>(mut page: impl FnMut(&PageRequest) -> Result<(Vec<T>, Option<String>)>) -> Result<Vec<T>> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (items, next) = page(&PageRequest::new(Some(200), token.as_deref())?)?;
        all.extend(items);
        match next {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

fn is_core_attribute(path: &AttrPath, name: &str) -> bool {
    path.name.eq_ignore_ascii_case(name) && path.sub.is_none() && path.uri.as_deref().is_none_or(filter::is_core)
}

/// The narrowing of `filter`: an equality on `userName`, `externalId` or `id`, the narrower
/// side of an `and`, both sides of an `or`.
fn narrowing(filter: Option<&Filter>) -> Narrowing {
    match filter {
        Some(Filter::Compare(path, Op::Eq, CompValue::Str(value))) => {
            if is_core_attribute(path, "userName") {
                Narrowing::SignInPrefix(value.clone())
            } else if is_core_attribute(path, "externalId") {
                Narrowing::ExternalId(value.clone())
            } else if is_core_attribute(path, "id") {
                Narrowing::Id(uuid::Uuid::parse_str(value).ok().filter(|id| id.to_string() == *value))
            } else {
                Narrowing::Everything
            }
        }
        Some(Filter::And(left, right)) => match narrowing(Some(left)) {
            Narrowing::Everything => narrowing(Some(right)),
            narrower => narrower,
        },
        Some(Filter::Or(left, right)) => match (narrowing(Some(left)), narrowing(Some(right))) {
            (Narrowing::Everything, _) | (_, Narrowing::Everything) => Narrowing::Everything,
            (left, right) => Narrowing::Union(vec![left, right]),
        },
        _ => Narrowing::Everything,
    }
}

/// What a resource is sorted by: the attribute's (primary, else first) value.
fn sort_key(doc: &Value, path: &AttrPath) -> Option<Value> {
    let value = filter::resolve(doc, path)?;
    let pick = |v: &Value| match (v, &path.sub) {
        (Value::Object(_), Some(sub)) => member(v, sub).cloned(),
        (Value::Object(_), None) => member(v, "value").cloned(),
        (other, _) => Some(other.clone()),
    };
    match value {
        Value::Array(items) => {
            let primary = items.iter().find(|i| member(i, "primary").and_then(Value::as_bool) == Some(true));
            primary.or(items.first()).and_then(pick)
        }
        other => pick(other),
    }
}

/// Values in order; resources without one sort last (RFC 7644 §3.4.2.3).
fn compare(a: Option<Value>, b: Option<Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Value::String(a)), Some(Value::String(b))) => a.to_lowercase().cmp(&b.to_lowercase()),
        (Some(Value::Number(a)), Some(Value::Number(b))) => {
            a.as_f64().partial_cmp(&b.as_f64()).unwrap_or(Ordering::Equal)
        }
        (Some(Value::Bool(a)), Some(Value::Bool(b))) => a.cmp(&b),
        (Some(a), Some(b)) => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

    fn docs() -> Vec<Value> {
        vec![
            json!({ "id": "1", "userName": "carol", "name": { "givenName": "C" }, "emails": [{ "value": "c@x" }] }),
            json!({ "id": "2", "userName": "Alice", "name": { "givenName": "A" } }),
            json!({ "id": "3", "userName": "bob" }),
        ]
    }

    fn ids(list: &Value) -> Vec<&str> {
        list["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect()
    }

    #[test]
    fn filters_sorts_pages_and_projects() {
        let q = Query::from_query("sortBy=userName&sortOrder=descending").unwrap();
        assert_eq!(ids(&q.answer(docs())), ["1", "3", "2"]);
        let q = Query::from_query("sortBy=name.givenName").unwrap();
        assert_eq!(ids(&q.answer(docs())), ["2", "1", "3"], "without a value, last");
        let q = Query::from_query("filter=userName+sw+%22a%22+or+userName+eq+%22BOB%22&sortBy=userName").unwrap();
        let list = q.answer(docs());
        assert_eq!(ids(&list), ["2", "3"]);
        assert_eq!(list["totalResults"], 2);
        let q = Query::from_query("startIndex=2&count=1").unwrap();
        let list = q.answer(docs());
        assert_eq!(ids(&list), ["2"]);
        assert_eq!((list["totalResults"].as_u64(), list["itemsPerPage"].as_u64()), (Some(3), Some(1)));
        let q = Query::from_query("startIndex=0&count=-4").unwrap();
        assert_eq!(ids(&q.answer(docs())), Vec::<&str>::new());
        let q = Query::from_query("attributes=name.givenName").unwrap();
        assert_eq!(q.answer(docs())["Resources"][0], json!({ "id": "1", "name": { "givenName": "C" } }));
        let q = Query::from_query("excludedAttributes=emails,id").unwrap();
        assert_eq!(
            q.answer(docs())["Resources"][0],
            json!({ "id": "1", "userName": "carol", "name": { "givenName": "C" } })
        );
        assert!(Query::from_query("filter=userName+eq").is_err());
        assert!(Query::from_query("count=x").is_err());
        assert!(Query::from_query("sortOrder=up").is_err());
        let body =
            json!({ "schemas": [SEARCH_REQUEST_SCHEMA], "filter": "userName eq \"bob\"", "attributes": ["userName"] });
        let list = Query::from_search(&body).unwrap().answer(docs());
        assert_eq!(list["Resources"], json!([{ "id": "3", "userName": "bob" }]));
    }

    fn narrowing_of(filter: &str) -> Narrowing {
        let query = format!("filter={}", filter.replace(' ', "+").replace('"', "%22"));
        Query::from_query(&query).unwrap().narrowing()
    }

    #[test]
    fn the_database_reads_a_superset_of_what_a_filter_matches() {
        let id = "2819c223-7f76-453a-919d-413861904646";
        assert_eq!(narrowing_of(r#"userName eq "Bjensen""#), Narrowing::SignInPrefix("Bjensen".into()));
        assert_eq!(narrowing_of(r#"externalId eq "e-1""#), Narrowing::ExternalId("e-1".into()));
        assert_eq!(
            narrowing_of(&format!(r#"urn:ietf:params:scim:schemas:core:2.0:User:id eq "{id}""#)),
            Narrowing::Id(Some(id.parse().unwrap()))
        );
        assert_eq!(narrowing_of(&format!(r#"id eq "{}""#, id.to_uppercase())), Narrowing::Id(None), "ids are exact");
        assert_eq!(narrowing_of(r#"title eq "x" and externalId eq "e""#), Narrowing::ExternalId("e".into()));
        assert_eq!(
            narrowing_of(r#"externalId eq "a" or userName eq "b""#),
            Narrowing::Union(vec![Narrowing::ExternalId("a".into()), Narrowing::SignInPrefix("b".into())])
        );
        for everything in [
            r#"externalId eq "a" or title eq "b""#,
            r#"not (externalId eq "a")"#,
            r#"externalId ne "a""#,
            r#"userName sw "a""#,
            r#"emails[value eq "a@b"]"#,
            r#"name.givenName eq "a""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:externalId eq "a""#,
        ] {
            assert_eq!(narrowing_of(everything), Narrowing::Everything, "{everything}");
        }
    }

    #[test]
    fn an_attribute_is_read_when_the_filter_the_order_or_the_projection_needs_it() {
        let reads = |query: &str| Query::from_query(query).unwrap().reads("members");
        assert!(reads(""));
        assert!(!reads("excludedAttributes=members"));
        assert!(!reads("attributes=displayName"));
        assert!(reads("attributes=members.value"));
        assert!(reads("excludedAttributes=members.display"), "a sub-attribute excluded leaves the others");
        assert!(reads("excludedAttributes=members&filter=members%5Bvalue+eq+%22x%22%5D"));
        assert!(reads("attributes=displayName&sortBy=members.value"));
    }
}
