//! The grant picker: what it offers, and the client-side check of a typed grant.
//!
//! The picker offers only what the caller holds (its effective permissions), each spelled out
//! per resource and action, and accepts any narrower grant typed by hand. The server checks
//! again; this only saves a round trip and explains the refusal early.

use gatehouse_api_types::grant::{self, Grant, ACTIONS, ANY, RESOURCES};

fn parse_held(held: &[String]) -> Vec<Grant> {
    held.iter().filter_map(|g| Grant::parse(g).ok()).collect()
}

/// The grants offered for `typed`: each held grant and its narrowings over resource and action
/// (same namespace), those containing `typed` (case-insensitive), at most `limit`.
pub fn offered(held: &[String], typed: &str, limit: usize) -> Vec<String> {
    let needle = typed.trim().to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    for g in parse_held(held) {
        let resources: Vec<&str> =
            if g.resource() == ANY { std::iter::once(ANY).chain(RESOURCES).collect() } else { vec![g.resource()] };
        let actions: Vec<&str> =
            if g.action() == ANY { std::iter::once(ANY).chain(ACTIONS).collect() } else { vec![g.action()] };
        for r in &resources {
            for a in &actions {
                let text = format!("{r}:{a}@{}", g.namespace());
                if text.contains(&needle) && !out.contains(&text) {
                    out.push(text);
                }
            }
        }
    }
    out.truncate(limit);
    out
}

/// Checks a typed grant against what the caller holds; the canonical text when it may be
/// granted, else why not.
pub fn check(held: &[String], typed: &str) -> Result<String, String> {
    let wanted = Grant::parse(typed.trim()).map_err(|e| e.0)?;
    let held = parse_held(held);
    match grant::missing(&held, &wanted) {
        None => Ok(wanted.to_string()),
        Some(missing) if missing == wanted => Err(format!("you do not hold {wanted}, so you cannot grant it")),
        Some(missing) => Err(format!("you do not hold {missing}, so you cannot grant {wanted}")),
    }
}

/// The list with `grant` added at the end, unless already there.
pub fn with_grant(list: &[String], grant: &str) -> Vec<String> {
    let mut out = list.to_vec();
    if !out.iter().any(|g| g == grant) {
        out.push(grant.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn offers_held_grants_and_their_narrowings() {
        let held = s(&["users:*@customers"]);
        assert_eq!(offered(&held, "", 50), s(&["users:*@customers", "users:read@customers", "users:write@customers"]));
        assert_eq!(offered(&held, "WRITE", 50), s(&["users:write@customers"]));
        let all = offered(&s(&["*:*@*"]), "", 100);
        assert_eq!(all.len(), 7 * 3);
        assert!(all.contains(&"keys:write@*".to_owned()));
        assert_eq!(offered(&s(&["*:*@*"]), "", 5).len(), 5);
    }

    #[test]
    fn offers_nothing_twice_and_ignores_garbage() {
        let held = s(&["users:read@a1", "users:*@a1", "not a grant"]);
        let got = offered(&held, "read", 50);
        assert_eq!(got, s(&["users:read@a1"]));
    }

    #[test]
    fn accepts_narrower_grants_typed_by_hand() {
        let held = s(&["users:*@*", "audit:read@*"]);
        assert_eq!(check(&held, " users:write@customers "), Ok("users:write@customers".to_owned()));
        assert_eq!(check(&held, "audit:read@shop"), Ok("audit:read@shop".to_owned()));
    }

    #[test]
    fn refuses_what_the_caller_does_not_hold() {
        let held = s(&["users:read@*"]);
        let e = check(&held, "users:*@shop").unwrap_err();
        assert!(e.contains("users:write@shop"), "{e}");
        let e = check(&held, "keys:write@*").unwrap_err();
        assert_eq!(e, "you do not hold keys:write@*, so you cannot grant it");
        assert!(check(&held, "users:delete@x").unwrap_err().contains("unknown action"));
    }

    #[test]
    fn adds_each_grant_once() {
        let list = s(&["users:read@a1"]);
        assert_eq!(with_grant(&list, "users:read@a1"), list);
        assert_eq!(with_grant(&list, "audit:read@*"), s(&["users:read@a1", "audit:read@*"]));
    }
}
