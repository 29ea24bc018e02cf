//! Power as a finite set, computed by the test alone (not by the server's grant algebra).
//!
//! The universe of one world: 6 resources x 2 actions x 4 namespaces, where the namespaces are
//! `system`, the world's two namespaces, and ⋆, "every other namespace, including the ones that
//! do not exist yet". 48 concrete permissions: one bit each of a `u64`.

use std::fmt;

pub const RESOURCES: [&str; 6] = ["namespaces", "users", "permissions", "clients", "audit", "keys"];
pub const ACTIONS: [&str; 2] = ["read", "write"];
/// Index of ⋆ among a universe's namespaces.
pub const STAR: usize = 3;

/// The namespaces of one world: `system`, its two own, and ⋆.
#[derive(Debug, Clone)]
pub struct Universe {
    pub names: [String; 3],
}

impl Universe {
    pub fn new(a: &str, b: &str) -> Universe {
        Universe { names: ["system".to_owned(), a.to_owned(), b.to_owned()] }
    }

    /// The slug of namespace `i` (0 `system`, 1 and 2 the world's); ⋆ has none.
    pub fn slug(&self, i: usize) -> Option<&str> {
        self.names.get(i).map(String::as_str)
    }

    fn ns_name(&self, i: usize) -> &str {
        if i == STAR {
            "⋆"
        } else {
            &self.names[i]
        }
    }

    /// The concrete permissions a grant string stands for. `*` in resource or action: all of
    /// them; `@*`: every namespace of the universe and ⋆; `@x`: x, or nothing when x is not a
    /// namespace of the universe. A string that is not a grant stands for nothing.
    pub fn expand(&self, grant: &str) -> Power {
        let Some((scope, ns)) = grant.split_once('@') else { return Power::EMPTY };
        let Some((res, act)) = scope.split_once(':') else { return Power::EMPTY };
        let resources: Vec<usize> = match res {
            "*" => (0..RESOURCES.len()).collect(),
            r => RESOURCES.iter().position(|x| *x == r).into_iter().collect(),
        };
        let actions: Vec<usize> = match act {
            "*" => (0..ACTIONS.len()).collect(),
            a => ACTIONS.iter().position(|x| *x == a).into_iter().collect(),
        };
        let namespaces: Vec<usize> = match ns {
            "*" => (0..=STAR).collect(),
            n => self.names.iter().position(|x| x == n).into_iter().collect(),
        };
        let mut power = Power::EMPTY;
        for &r in &resources {
            for &a in &actions {
                for &n in &namespaces {
                    power = power.with(Perm { resource: r, action: a, namespace: n });
                }
            }
        }
        power
    }

    /// The union of the expansions of `grants`.
    pub fn expand_all<'a>(&self, grants: impl IntoIterator<Item = &'a str>) -> Power {
        grants.into_iter().fold(Power::EMPTY, |p, g| p.union(self.expand(g)))
    }

    /// The grants of a JSON array of strings (anything else: none).
    pub fn expand_json(&self, grants: &serde_json::Value) -> Power {
        let list =
            grants.as_array().map(|a| a.iter().filter_map(|g| g.as_str()).collect::<Vec<_>>()).unwrap_or_default();
        self.expand_all(list)
    }

    /// A power written compactly as grants over the universe: `*` in a resource or action for
    /// all of them, `@*` for all four namespaces (the world's, `system` and ⋆).
    pub fn describe(&self, power: Power) -> String {
        if power == Power::EMPTY {
            return "∅".to_owned();
        }
        let namespaces = |mask: u8| -> String {
            if mask == 0b1111 {
                return "*".to_owned();
            }
            let names: Vec<&str> = (0..=STAR).filter(|n| mask & (1 << n) != 0).map(|n| self.ns_name(n)).collect();
            if names.len() == 1 {
                names[0].to_owned()
            } else {
                format!("{{{}}}", names.join(","))
            }
        };
        // The namespaces of each (resource, action).
        let mask = |r: usize, a: usize| -> u8 {
            (0..=STAR)
                .filter(|&n| power.has(Perm { resource: r, action: a, namespace: n }))
                .fold(0u8, |m, n| m | (1 << n))
        };
        let masks: Vec<[u8; 2]> = (0..RESOURCES.len()).map(|r| [mask(r, 0), mask(r, 1)]).collect();
        let mut parts = Vec::new();
        // Namespaces where everything is held: `*:*@…`.
        let everywhere = masks.iter().fold(0b1111u8, |m, [r, w]| m & r & w);
        if everywhere != 0 {
            parts.push(format!("*:*@{}", namespaces(everywhere)));
        }
        for (r, [read, write]) in masks.iter().enumerate() {
            let (read, write) = (read & !everywhere, write & !everywhere);
            let both = read & write;
            if both != 0 {
                parts.push(format!("{}:*@{}", RESOURCES[r], namespaces(both)));
            }
            for (a, only) in [(0, read & !both), (1, write & !both)] {
                if only != 0 {
                    parts.push(format!("{}:{}@{}", RESOURCES[r], ACTIONS[a], namespaces(only)));
                }
            }
        }
        format!("{{{}}}", parts.join(" "))
    }

    pub fn perm_name(&self, p: Perm) -> String {
        format!("{}:{}@{}", RESOURCES[p.resource], ACTIONS[p.action], self.ns_name(p.namespace))
    }
}

/// One concrete permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm {
    pub resource: usize,
    pub action: usize,
    pub namespace: usize,
}

impl Perm {
    fn bit(self) -> u64 {
        1u64 << (self.resource * 8 + self.action * 4 + self.namespace)
    }
}

/// A set of concrete permissions.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Power(pub u64);

impl Power {
    pub const EMPTY: Power = Power(0);

    pub fn with(self, p: Perm) -> Power {
        Power(self.0 | p.bit())
    }
    pub fn has(self, p: Perm) -> bool {
        self.0 & p.bit() != 0
    }
    pub fn union(self, other: Power) -> Power {
        Power(self.0 | other.0)
    }
    pub fn minus(self, other: Power) -> Power {
        Power(self.0 & !other.0)
    }
    pub fn within(self, other: Power) -> bool {
        self.minus(other) == Power::EMPTY
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn perms(self) -> impl Iterator<Item = Perm> {
        (0..RESOURCES.len()).flat_map(move |resource| {
            (0..ACTIONS.len()).flat_map(move |action| {
                (0..=STAR).map(move |namespace| Perm { resource, action, namespace }).filter(move |p| self.has(*p))
            })
        })
    }
}

impl fmt::Debug for Power {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Power({:#x})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_expand_over_the_universe() {
        let u = Universe::new("m1a", "m1b");
        assert_eq!(u.expand("*:*@*").perms().count(), 48);
        assert_eq!(u.expand("users:*@m1a").perms().count(), 2);
        assert_eq!(u.expand("*:read@system").perms().count(), 6);
        assert_eq!(u.expand("users:read@elsewhere"), Power::EMPTY, "a namespace outside the universe is dropped");
        assert!(u.expand("users:read@*").has(Perm { resource: 1, action: 0, namespace: STAR }));
        assert!(!u.expand("users:read@m1b").has(Perm { resource: 1, action: 0, namespace: STAR }));
        assert_eq!(u.describe(u.expand("clients:write@m1b")), "{clients:write@m1b}");
        assert_eq!(u.describe(u.expand("*:*@*")), "{*:*@*}");
        assert_eq!(
            u.describe(u.expand_all(["users:*@system", "users:read@m1a", "*:*@m1b"])),
            "{*:*@m1b users:*@system users:read@m1a}"
        );
        assert!(u.expand("users:read@m1a").within(u.expand("users:*@*")));
        assert!(!u.expand("users:*@*").within(u.expand("users:*@m1a")));
    }
}
