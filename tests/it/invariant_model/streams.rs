//! Log streams in the model. A stream is a principal: it delivers the audit chain, so its power
//! is `audit:read@*` (a filter only narrows it: the model over-approximates) while the server
//! says it may deliver. Whoever receives at its URL holds it as a key ([`Key::Stream`]); the
//! receivers are agents' own addresses, so creating a stream or pointing one at oneself is
//! taking that power, and the oracle's rules A and B apply to it like to any other.
//!
//! Measured, not computed from the server's rule: a stream delivers while it exists, is enabled,
//! and its owner account (as `GET /api/v1/log-streams/{id}` names it) holds all of
//! `audit:read@*` *as measured* (its grants read by the bootstrap client; nothing when disabled
//! or deleted). The delivery worker's check of the same rule before each batch is tested with a
//! real receiver in tests/it/log_streams.rs.

use reqwest::Method;
use serde_json::{json, Value};

use super::measure::Snapshot;
use super::ops::{Op, Step, StreamChange};
use super::power::Power;
use super::world::{Body, Key, StreamP, World};

impl World<'_> {
    /// At setup: the administrator streams the chain to itself, so that every case has a stream
    /// for others to re-point, re-enable, re-filter or delete.
    pub(super) fn setup_stream(&mut self) {
        let key =
            self.agents[0].keys.iter().find(|k| matches!(k, Key::Secret { .. })).cloned().expect("the admin's secret");
        let body = json!({ "name": "admin's stream", "url": self.agents[0].receiver, "filter": {} });
        let r = self.api(0, &key, Method::POST, "/api/v1/log-streams", Some(&body));
        assert_eq!(r.status, 201, "setup: the admin's log stream: {}", r.text);
        let id = r.json["id"].as_str().unwrap_or_default().to_owned();
        self.streams.push(StreamP { id, label: "admin-stream".into(), deleted: false });
        self.agents[0].learn(Key::Stream { stream: self.streams.len() - 1 });
    }

    pub(super) fn execute_stream(&mut self, op: &Op) -> Step {
        let kind = op.kind();
        let step = self.step_no();
        match op {
            Op::CreateStream { caller, filtered } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let filter = if *filtered { json!({ "namespace": self.u.names[1] }) } else { json!({}) };
                let body = json!({ "name": format!("stream of step {step}"), "url": self.agents[x].receiver, "filter": filter });
                let r = self.api(x, &key, Method::POST, "/api/v1/log-streams", Some(&body));
                let mut s = self.api_step(kind, x, &key, &r, format!("create a log stream to itself, filter {filter}"));
                if r.status == 201 {
                    let id = r.json["id"].as_str().unwrap_or_default().to_owned();
                    self.streams.push(StreamP { id, label: format!("s{step}"), deleted: false });
                    self.agents[x].learn(Key::Stream { stream: self.streams.len() - 1 });
                    s.text.push_str(&format!(" (stream s{step})"));
                }
                s
            }
            Op::PatchStream { caller, stream, change } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let live: Vec<usize> = (0..self.streams.len()).filter(|&s| !self.streams[s].deleted).collect();
                let Some(st) = Self::pick(&live, *stream) else { return Step::skipped(kind, x, "no log stream") };
                let body = match change {
                    StreamChange::PointHere => json!({ "url": self.agents[x].receiver }),
                    StreamChange::Disable => json!({ "disabled": true }),
                    StreamChange::Enable => json!({ "disabled": false }),
                    StreamChange::Filter(true) => json!({ "filter": { "namespace": self.u.names[2] } }),
                    StreamChange::Filter(false) => json!({ "filter": {} }),
                    StreamChange::Rename => json!({ "name": format!("renamed at step {step}") }),
                };
                let path = format!("/api/v1/log-streams/{}", self.streams[st].id);
                let r = self.api(x, &key, Method::PATCH, &path, Some(&body));
                let s = self.api_step(kind, x, &key, &r, format!("PATCH log stream {} {body}", self.streams[st].label));
                if (200..300).contains(&r.status) && matches!(change, StreamChange::PointHere) {
                    self.agents[x].learn(Key::Stream { stream: st });
                }
                s
            }
            Op::DeleteStream { caller, stream } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let live: Vec<usize> = (0..self.streams.len()).filter(|&s| !self.streams[s].deleted).collect();
                let Some(st) = Self::pick(&live, *stream) else { return Step::skipped(kind, x, "no log stream") };
                let path = format!("/api/v1/log-streams/{}", self.streams[st].id);
                let r = self.api(x, &key, Method::DELETE, &path, None);
                let s = self.api_step(kind, x, &key, &r, format!("delete log stream {}", self.streams[st].label));
                if (200..300).contains(&r.status) {
                    self.streams[st].deleted = true;
                }
                s
            }
            _ => unreachable!("not a log stream operation"),
        }
    }

    /// Each stream's power, and the receiver its URL names (`None`: unknown), after the
    /// accounts were measured into `snap`.
    pub(super) fn measure_streams(&mut self, snap: &mut Snapshot) -> Vec<Option<String>> {
        let everything = self.u.expand("audit:read@*");
        let mut receivers = Vec::new();
        for s in 0..self.streams.len() {
            if self.streams[s].deleted {
                snap.streams.push(Some(Power::EMPTY));
                receivers.push(None);
                continue;
            }
            let r = self.boot(Method::GET, &format!("/api/v1/log-streams/{}", self.streams[s].id), Body::Empty);
            let (power, receiver) = match r.status {
                404 => {
                    self.streams[s].deleted = true;
                    (Some(Power::EMPTY), None)
                }
                200 => {
                    let owner = r.json["owner_account_id"].as_str().and_then(|id| self.account_of_id(id));
                    let owner_power = match owner {
                        Some(a) => snap.accounts[a],
                        // No owner: the stream delivers nothing (an owner outside the world
                        // cannot be measured).
                        None if r.json["owner_account_id"].is_null() => Some(Power::EMPTY),
                        None => None,
                    };
                    let power = match owner_power {
                        _ if r.json["disabled"] == Value::Bool(true) => Some(Power::EMPTY),
                        Some(p) if everything.within(p) => Some(everything),
                        Some(_) => Some(Power::EMPTY),
                        None => None,
                    };
                    (power, r.json["url"].as_str().map(str::to_owned))
                }
                _ => (None, None),
            };
            snap.streams.push(power);
            receivers.push(receiver);
        }
        receivers
    }

    /// What receiving at stream `s` gives agent `agent`: the stream's power while its URL is the
    /// agent's receiver.
    pub(super) fn stream_key_power(
        &self,
        agent: usize,
        s: usize,
        snap: &Snapshot,
        receivers: &[Option<String>],
    ) -> Option<Power> {
        if self.streams[s].deleted {
            return Some(Power::EMPTY);
        }
        match receivers.get(s) {
            Some(Some(url)) if *url == self.agents[agent].receiver => snap.streams[s],
            Some(Some(_)) => Some(Power::EMPTY),
            _ => None,
        }
    }
}
