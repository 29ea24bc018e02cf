//! Permission grants `<resource>:<action>@<namespace>` and their algebra.
//!
//! Every part may be `*`. A grant *covers* another when each of its parts is `*` or equal to
//! the other's part. The *meet* of two grants is the largest grant both cover (component-wise:
//! `users:*@*` ∧ `users:read@customers` = `users:read@customers`), or nothing when they are
//! disjoint. A client's effective permissions are the meets of its grants with its owner's.

use std::fmt;
use std::str::FromStr;

pub const RESOURCES: [&str; 6] = ["namespaces", "users", "permissions", "clients", "audit", "keys"];
pub const ACTIONS: [&str; 2] = ["read", "write"];
pub const ANY: &str = "*";

/// One grant. Construct it with [`Grant::parse`] or [`Grant::new`] so that every part is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grant {
    resource: String,
    action: String,
    namespace: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantError(pub String);

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GrantError {}

/// A namespace slug: `^[a-z][a-z0-9-]{1,62}$`.
pub fn is_namespace_slug(s: &str) -> bool {
    let bytes = s.as_bytes();
    (2..=63).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes[1..].iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

impl Grant {
    pub fn new(resource: &str, action: &str, namespace: &str) -> Result<Self, GrantError> {
        if resource != ANY && !RESOURCES.contains(&resource) {
            return Err(GrantError(format!(
                "unknown resource '{resource}' (expected one of {} or *)",
                RESOURCES.join(", ")
            )));
        }
        if action != ANY && !ACTIONS.contains(&action) {
            return Err(GrantError(format!("unknown action '{action}' (expected read, write or *)")));
        }
        if namespace != ANY && !is_namespace_slug(namespace) {
            return Err(GrantError(format!("'{namespace}' is not a namespace slug or *")));
        }
        Ok(Grant { resource: resource.into(), action: action.into(), namespace: namespace.into() })
    }

    /// Parses `<resource>:<action>@<namespace>`.
    pub fn parse(text: &str) -> Result<Self, GrantError> {
        let malformed =
            || GrantError(format!("'{}' is not of the form <resource>:<action>@<namespace>", truncate(text)));
        let (scope, namespace) = text.split_once('@').ok_or_else(malformed)?;
        let (resource, action) = scope.split_once(':').ok_or_else(malformed)?;
        if namespace.contains('@') || action.contains(':') {
            return Err(malformed());
        }
        Grant::new(resource, action, namespace)
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }
    pub fn action(&self) -> &str {
        &self.action
    }
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// True when every part of `self` is `*` or equal to the same part of `other`.
    pub fn covers(&self, other: &Grant) -> bool {
        part_covers(&self.resource, &other.resource)
            && part_covers(&self.action, &other.action)
            && part_covers(&self.namespace, &other.namespace)
    }

    /// The largest grant covered by both, if any.
    pub fn meet(&self, other: &Grant) -> Option<Grant> {
        Some(Grant {
            resource: part_meet(&self.resource, &other.resource)?,
            action: part_meet(&self.action, &other.action)?,
            namespace: part_meet(&self.namespace, &other.namespace)?,
        })
    }

    /// The concrete (wildcard-free in resource and action) grants this one stands for.
    fn expand(&self) -> impl Iterator<Item = Grant> + '_ {
        expand_part(&self.resource, &RESOURCES).flat_map(move |resource| {
            expand_part(&self.action, &ACTIONS).map(move |action| Grant {
                resource: resource.to_owned(),
                action: action.to_owned(),
                namespace: self.namespace.clone(),
            })
        })
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

fn part_covers(mine: &str, theirs: &str) -> bool {
    mine == ANY || mine == theirs
}

fn part_meet(a: &str, b: &str) -> Option<String> {
    if a == ANY {
        Some(b.to_owned())
    } else if b == ANY || a == b {
        Some(a.to_owned())
    } else {
        None
    }
}

fn expand_part<'a>(part: &'a str, universe: &'a [&'static str]) -> Box<dyn Iterator<Item = &'a str> + 'a> {
    if part == ANY {
        Box::new(universe.iter().copied())
    } else {
        Box::new(std::iter::once(part))
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}@{}", self.resource, self.action, self.namespace)
    }
}

impl FromStr for Grant {
    type Err = GrantError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Grant::parse(s)
    }
}

/// Parses a list of grant strings, naming the first bad one.
pub fn parse_all<S: AsRef<str>>(texts: &[S]) -> Result<Vec<Grant>, GrantError> {
    texts.iter().map(|t| Grant::parse(t.as_ref())).collect()
}

/// True when the set of grants `held` allows everything `wanted` allows: each concrete
/// resource/action that `wanted` stands for is covered by some held grant.
pub fn holds(held: &[Grant], wanted: &Grant) -> bool {
    missing(held, wanted).is_none()
}

/// The first concrete part of `wanted` (wildcard resource and action spelled out) that `held`
/// does not cover.
pub fn missing(held: &[Grant], wanted: &Grant) -> Option<Grant> {
    wanted.expand().find(|concrete| !held.iter().any(|h| h.covers(concrete)))
}

/// True when `held` allows `<resource>:<action>@<namespace>`.
pub fn allows(held: &[Grant], resource: &str, action: &str, namespace: &str) -> bool {
    held.iter().any(|g| {
        part_covers(&g.resource, resource) && part_covers(&g.action, action) && part_covers(&g.namespace, namespace)
    })
}

/// Removes duplicates and grants covered by another grant of the set; sorted for stable output.
pub fn normalize(grants: impl IntoIterator<Item = Grant>) -> Vec<Grant> {
    let mut all: Vec<Grant> = grants.into_iter().collect();
    all.sort();
    all.dedup();
    let kept: Vec<Grant> =
        all.iter().filter(|g| !all.iter().any(|other| other != *g && other.covers(g))).cloned().collect();
    kept
}

/// The effective permissions of a client: the meets of its grants with its owner's.
pub fn effective(granted: &[Grant], owner: &[Grant]) -> Vec<Grant> {
    normalize(granted.iter().flat_map(|g| owner.iter().filter_map(move |o| g.meet(o))))
}

/// A granted permission that the client does not (fully) have, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub grant: Grant,
    pub reason: String,
}

/// Why each of a client's grants is not fully effective under its owner's grants.
pub fn dropped(granted: &[Grant], owner: &[Grant]) -> Vec<Dropped> {
    granted
        .iter()
        .filter(|g| !holds(owner, g))
        .map(|g| {
            let narrowed: Vec<String> =
                normalize(owner.iter().filter_map(|o| g.meet(o))).iter().map(Grant::to_string).collect();
            let reason = if narrowed.is_empty() {
                format!("the owner holds nothing of {g}")
            } else {
                format!("narrowed to {} because the owner holds only that part of {g}", narrowed.join(", "))
            };
            Dropped { grant: g.clone(), reason }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Grant {
        Grant::parse(s).unwrap()
    }

    #[test]
    fn parses_and_prints_round_trip() {
        for s in ["users:read@customers", "*:*@*", "audit:read@*", "keys:write@system"] {
            assert_eq!(g(s).to_string(), s);
        }
    }

    #[test]
    fn rejects_malformed_grants() {
        for s in [
            "",
            "users",
            "users:read",
            "users@x",
            "users:read@",
            "user:read@x",
            "users:delete@x",
            "users:read@X",
            "users:read@a@b",
            "users:read:x@ab",
            "users:read@-ab",
        ] {
            assert!(Grant::parse(s).is_err(), "{s} should be rejected");
        }
    }

    #[test]
    fn meet_is_component_wise() {
        assert_eq!(g("users:*@*").meet(&g("users:read@customers")), Some(g("users:read@customers")));
        assert_eq!(g("*:read@*").meet(&g("users:*@shop")), Some(g("users:read@shop")));
        assert_eq!(g("users:read@a1").meet(&g("users:read@b1")), None);
        assert_eq!(g("users:read@*").meet(&g("clients:read@*")), None);
    }

    #[test]
    fn holds_expands_wildcards_over_known_resources_and_actions() {
        let held = [g("users:read@*"), g("users:write@*")];
        assert!(holds(&held, &g("users:*@*")));
        assert!(holds(&held, &g("users:*@shop")));
        assert!(!holds(&held, &g("*:read@shop")));
        assert!(!holds(&[g("users:*@shop")], &g("users:read@*")));
        assert_eq!(missing(&held, &g("*:read@shop")), Some(g("namespaces:read@shop")));
        assert_eq!(missing(&[g("users:read@*")], &g("users:*@shop")), Some(g("users:write@shop")));
    }

    #[test]
    fn effective_is_meet_of_client_and_owner() {
        let eff = effective(&[g("users:*@*"), g("audit:read@*")], &[g("users:read@customers"), g("clients:write@*")]);
        assert_eq!(eff, vec![g("users:read@customers")]);
        assert!(effective(&[g("*:*@*")], &[]).is_empty());
        assert_eq!(effective(&[g("*:*@*")], &[g("*:*@*")]), vec![g("*:*@*")]);
    }

    #[test]
    fn dropped_explains_narrowed_and_missing_grants() {
        let d = dropped(&[g("users:*@*"), g("audit:read@*"), g("users:read@shop")], &[g("users:read@*")]);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].grant, g("users:*@*"));
        assert!(d[0].reason.contains("narrowed to users:read@*"), "{}", d[0].reason);
        assert_eq!(d[1].grant, g("audit:read@*"));
        assert!(d[1].reason.contains("holds nothing"), "{}", d[1].reason);
    }

    #[test]
    fn normalize_drops_covered_grants() {
        assert_eq!(normalize([g("users:read@a1"), g("users:*@a1"), g("users:*@a1")]), vec![g("users:*@a1")]);
    }

    #[test]
    fn allows_checks_one_concrete_permission() {
        let held = [g("users:*@customers")];
        assert!(allows(&held, "users", "write", "customers"));
        assert!(!allows(&held, "users", "write", "staff"));
    }

    #[test]
    fn slug_rule_matches_contract() {
        assert!(is_namespace_slug("system"));
        assert!(is_namespace_slug("a1"));
        assert!(!is_namespace_slug("a"));
        assert!(!is_namespace_slug("1abc"));
        assert!(!is_namespace_slug(&"a".repeat(64)));
        assert!(is_namespace_slug(&"a".repeat(63)));
        assert!(!is_namespace_slug("Abc"));
    }
}
