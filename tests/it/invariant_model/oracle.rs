//! The two rules, checked after every step that sent a request that may change something.
//!
//! Rule A: what the step's agent reaches (the union of its keys' powers) does not grow.
//! Rule B: no principal gains a permission the step's own credential (P0) did not hold before
//! the step; a principal the step created has no permission P0 did not hold.
//!
//! Besides, while measuring (`measure.rs`, reported as rule "replicas"): the oracle measures through
//! a second replica on the same database; a client's secret acts with exactly what the database
//! says the client may do now, and what the replica lets a credential do the server that made
//! the changes answers alike (ADR 0020: a stale credential cache would show here).

use super::measure::Snapshot;
use super::ops::Step;
use super::power::Power;
use super::world::{Principal, World};

#[derive(Debug, Clone)]
pub struct Violation {
    pub rule: &'static str,
    pub text: String,
}

pub fn check(w: &World<'_>, step: &Step, before: &Snapshot, after: &Snapshot) -> Vec<Violation> {
    let mut found = Vec::new();
    let x = step.agent;
    let agent = &w.agents[x].name;

    // Rule A.
    let (rb, ra) = (before.reach(x), after.reach(x));
    if !rb.unknown {
        let gained = ra.power.minus(rb.power);
        if !gained.is_empty() {
            let through: Vec<String> = after.keys[x]
                .iter()
                .filter(|(_, p)| p.is_some_and(|p| !p.minus(rb.power).is_empty()))
                .map(|(k, p)| format!("{} = {}", w.describe_key(k), w.u.describe(p.unwrap())))
                .collect();
            found.push(Violation {
                rule: "A",
                text: format!(
                    "rule A: {agent} reached {} before and now also {}, through {}",
                    w.u.describe(rb.power),
                    w.u.describe(gained),
                    through.join("; ")
                ),
            });
        }
    }

    // Rule B.
    let Some(p0) = step.p0 else { return found };
    let Some(p0_power) = before.principal(p0) else { return found };
    let p0_name = w.describe_principal(p0);
    let mut check = |p: Principal, was: Option<Option<Power>>, now: Option<Power>| {
        let Some(now) = now else { return };
        let gained = match was {
            Some(Some(was)) => now.minus(was),
            Some(None) => return,
            None => now,
        };
        let beyond = gained.minus(p0_power);
        if !beyond.is_empty() {
            let how = if was.is_some() { "gained" } else { "was created with" };
            found.push(Violation {
                rule: "B",
                text: format!(
                    "rule B: {} {how} {}, beyond what the step's credential ({p0_name}, {}) held",
                    w.describe_principal(p),
                    w.u.describe(beyond),
                    w.u.describe(p0_power)
                ),
            });
        }
    };
    for (a, now) in after.accounts.iter().enumerate() {
        check(Principal::Account(a), before.accounts.get(a).copied(), *now);
    }
    for (c, now) in after.clients.iter().enumerate() {
        check(Principal::Client(c), before.clients.get(c).copied(), *now);
    }
    for (t, now) in after.tokens.iter().enumerate() {
        check(Principal::Token(t), before.tokens.get(t).copied(), *now);
    }
    for (s, now) in after.streams.iter().enumerate() {
        check(Principal::Stream(s), before.streams.get(s).copied(), *now);
    }
    for (g, now) in after.groups.iter().enumerate() {
        check(Principal::Group(g), before.groups.get(g).copied(), *now);
    }
    found
}
