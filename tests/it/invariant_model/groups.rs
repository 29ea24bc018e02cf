//! Groups in the model (issue 17). A group is a principal: its power is its grants, and every
//! member account holds them besides its own. Agents create groups, set their grants, add and
//! remove members and delete groups; the oracle's rules apply as to any other operation (a
//! member gaining a group's grants is an account gaining power; a group gaining grants is a
//! principal gaining power).
//!
//! Measured, then combined by the model's own set algebra: an account's power is the union of
//! the expansions of its own grants and of the grants of each group the server lists it in
//! (`GET …/users/{id}/groups`, each group's `GET …/permissions`), never the server's own union.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::json;

use super::measure::Snapshot;
use super::ops::{ok, Op, Step};
use super::power::Power;
use super::world::{Body, GroupP, World, WorldSpec};

impl World<'_> {
    /// At setup: the spec's groups, with their grants and the accounts of the agents named as
    /// members (set up by the bootstrap client).
    pub(super) fn setup_groups(&mut self, spec: &WorldSpec) {
        for (i, g) in spec.groups.iter().enumerate() {
            let ns = usize::from(g.ns) % 3;
            let label = format!("g{i}");
            let r = self.boot(
                Method::POST,
                &format!("/api/v1/namespaces/{}/groups", self.u.names[ns]),
                Body::Json(&json!({ "name": format!("m{}{label}", self.case) })),
            );
            assert_eq!(r.status, 201, "setup: group {label}: {}", r.text);
            let id = r.json["id"].as_str().unwrap().to_owned();
            let grants = self.grants(&g.grants);
            let r = self.boot(
                Method::PUT,
                &format!("/api/v1/namespaces/{}/groups/{id}/permissions", self.u.names[ns]),
                Body::Json(&json!({ "permissions": grants })),
            );
            assert_eq!(r.status, 200, "setup: grants of group {label}: {}", r.text);
            self.groups.push(GroupP { id, ns, label: label.clone(), members: Vec::new(), deleted: false });
            let group = self.groups.len() - 1;
            let mut names = Vec::new();
            for &m in &g.members {
                let agent = usize::from(m) % self.agents.len();
                let Some(account) = self.agents[agent].account else { continue };
                if self.groups[group].members.contains(&account) {
                    continue;
                }
                let r = self.boot(Method::PUT, &self.member_path(group, account), Body::Empty);
                assert_eq!(r.status, 204, "setup: member of group {label}: {}", r.text);
                self.groups[group].members.push(account);
                names.push(self.accounts[account].label.clone());
            }
            self.setup_log
                .push_str(&format!("  group {label} in {} with {grants:?}, members {names:?}\n", self.u.names[ns]));
        }
    }

    fn group_path(&self, g: usize) -> String {
        format!("/api/v1/namespaces/{}/groups/{}", self.u.names[self.groups[g].ns], self.groups[g].id)
    }

    fn member_path(&self, g: usize, account: usize) -> String {
        format!("{}/members/{}", self.group_path(g), self.accounts[account].id)
    }

    fn live_groups(&self) -> Vec<usize> {
        (0..self.groups.len()).filter(|&g| !self.groups[g].deleted).collect()
    }

    pub(super) fn execute_group(&mut self, op: &Op) -> Step {
        let kind = op.kind();
        let step = self.step_no();
        match op {
            Op::CreateGroup { caller, ns } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let ns = usize::from(*ns) % 3;
                let label = format!("g{step}");
                let path = format!("/api/v1/namespaces/{}/groups", self.u.names[ns]);
                let name = format!("m{}{label}", self.case);
                let r = self.api(x, &key, Method::POST, &path, Some(&json!({ "name": name })));
                let s = self.api_step(kind, x, &key, &r, format!("create group {label} in {}", self.u.names[ns]));
                if r.status == 201 {
                    let id = r.json["id"].as_str().unwrap_or_default().to_owned();
                    self.groups.push(GroupP { id, ns, label, members: Vec::new(), deleted: false });
                }
                s
            }
            Op::SetGroupGrants { caller, group, grants } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(g) = Self::pick(&self.live_groups(), *group) else {
                    return Step::skipped(kind, x, "no group");
                };
                let grants = self.grants(grants);
                let path = format!("{}/permissions", self.group_path(g));
                let r = self.api(x, &key, Method::PUT, &path, Some(&json!({ "permissions": grants })));
                let what = format!("set the grants of group {} to {grants:?}", self.groups[g].label);
                self.api_step(kind, x, &key, &r, what)
            }
            Op::AddMember { caller, group, account } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(g) = Self::pick(&self.live_groups(), *group) else {
                    return Step::skipped(kind, x, "no group");
                };
                let Some(a) = Self::pick(&self.live_accounts(), *account) else {
                    return Step::skipped(kind, x, "no account");
                };
                let r = self.api(x, &key, Method::PUT, &self.member_path(g, a), None);
                let what = format!("add {} to group {}", self.accounts[a].label, self.groups[g].label);
                let s = self.api_step(kind, x, &key, &r, what);
                if ok(&r) && !self.groups[g].members.contains(&a) {
                    self.groups[g].members.push(a);
                }
                s
            }
            Op::RemoveMember { caller, pick } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let pairs: Vec<(usize, usize)> = self
                    .live_groups()
                    .into_iter()
                    .flat_map(|g| self.groups[g].members.iter().map(move |&a| (g, a)))
                    .filter(|&(_, a)| !self.accounts[a].deleted)
                    .collect();
                let Some((g, a)) = Self::pick(&pairs, *pick) else {
                    return Step::skipped(kind, x, "no membership");
                };
                let r = self.api(x, &key, Method::DELETE, &self.member_path(g, a), None);
                let what = format!("remove {} from group {}", self.accounts[a].label, self.groups[g].label);
                let s = self.api_step(kind, x, &key, &r, what);
                if ok(&r) || r.status == 404 {
                    self.groups[g].members.retain(|&m| m != a);
                }
                s
            }
            Op::DeleteGroup { caller, group } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(g) = Self::pick(&self.live_groups(), *group) else {
                    return Step::skipped(kind, x, "no group");
                };
                let r = self.api(x, &key, Method::DELETE, &self.group_path(g), None);
                let s = self.api_step(kind, x, &key, &r, format!("delete group {}", self.groups[g].label));
                if ok(&r) {
                    self.groups[g].deleted = true;
                }
                s
            }
            _ => unreachable!("not a group operation"),
        }
    }

    /// Each group's power (its grants as the bootstrap client reads them), into `snap`; and the
    /// same by group id, for the accounts' measurements.
    pub(super) fn measure_groups(&mut self, snap: &mut Snapshot) -> HashMap<String, Option<Power>> {
        let mut by_id = HashMap::new();
        for g in 0..self.groups.len() {
            let power = if self.groups[g].deleted {
                Some(Power::EMPTY)
            } else {
                let r = self.boot(Method::GET, &format!("{}/permissions", self.group_path(g)), Body::Empty);
                match r.status {
                    200 => Some(self.u.expand_json(&r.json["permissions"])),
                    404 => {
                        self.groups[g].deleted = true;
                        Some(Power::EMPTY)
                    }
                    _ => None,
                }
            };
            by_id.insert(self.groups[g].id.clone(), power);
            snap.groups.push(power);
        }
        by_id
    }

    /// What account `a` holds through its groups, as the server lists them: the union of their
    /// measured powers (`None` when one could not be measured).
    pub(super) fn power_through_groups(
        &mut self,
        ns: &str,
        id: &str,
        groups: &HashMap<String, Option<Power>>,
    ) -> Option<Power> {
        let r =
            self.boot(Method::GET, &format!("/api/v1/namespaces/{ns}/users/{id}/groups?page_size=200"), Body::Empty);
        if r.status != 200 {
            return None;
        }
        let mut power = Power::EMPTY;
        for item in r.json["items"].as_array()? {
            let group = item["group_id"].as_str()?;
            power = power.union(groups.get(group).copied().flatten()?);
        }
        Some(power)
    }
}
