//! Access summaries: successful reads rolled up into one `access.summary` event per actor,
//! action, namespace and target per minute, with the count, the first and last time and the
//! request ids of the first and last read. A minute's summaries are handed to the writer when
//! the minute closes, and all open ones at shutdown; a killed process loses at most the open
//! minute's (ADR 0003).
//!
//! The tallies are sharded by key, so concurrent reads of different things rarely meet on a
//! lock. A shard holding more than [`SHARD_CAPACITY`] keys (a crawler reading every account
//! in a minute) hands its tallies over early: memory stays bounded, and the counts still add
//! up (a key then has more than one summary in that minute).

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::domain::audit::{Actor, NewEvent};

pub const ACTION: &str = "access.summary";
const SHARDS: usize = 16;
const SHARD_CAPACITY: usize = 4096;

/// What reads are summarised by: the minute and everything an event says but its request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    minute: i64,
    actor_kind: &'static str,
    actor_id: Option<String>,
    actor_owner: Option<String>,
    action: String,
    namespace: Option<String>,
    target: Option<(String, String)>,
}

#[derive(Debug, Clone)]
struct Tally {
    count: u64,
    first_time: DateTime<Utc>,
    last_time: DateTime<Utc>,
    first_request_id: Option<String>,
    last_request_id: Option<String>,
}

pub struct Summaries {
    shards: Vec<Mutex<HashMap<Key, Tally>>>,
}

impl Default for Summaries {
    fn default() -> Self {
        Summaries { shards: (0..SHARDS).map(|_| Mutex::default()).collect() }
    }
}

pub fn minute_of(time: DateTime<Utc>) -> i64 {
    time.timestamp().div_euclid(60)
}

impl Summaries {
    /// Counts a successful read at `time`. Returns the summaries a full shard handed over early
    /// (usually none), for the caller to record.
    pub fn add(&self, read: NewEvent, time: DateTime<Utc>) -> Vec<NewEvent> {
        let key = Key {
            minute: minute_of(time),
            actor_kind: read.actor.kind,
            actor_id: read.actor.id,
            actor_owner: read.actor.owner_account_id,
            action: read.action,
            namespace: read.namespace,
            target: read.target,
        };
        let mut shard = self.shard(&key).lock().unwrap_or_else(|p| p.into_inner());
        match shard.entry(key) {
            Entry::Occupied(mut tally) => {
                let tally = tally.get_mut();
                tally.count += 1;
                tally.last_time = tally.last_time.max(time);
                tally.last_request_id = read.request_id;
            }
            Entry::Vacant(slot) => {
                slot.insert(Tally {
                    count: 1,
                    first_time: time,
                    last_time: time,
                    first_request_id: read.request_id.clone(),
                    last_request_id: read.request_id,
                });
            }
        }
        if shard.len() > SHARD_CAPACITY {
            return into_events(shard.drain().collect());
        }
        Vec::new()
    }

    /// Takes the summaries of every minute before `minute` (all of them with `None`), oldest
    /// first.
    pub fn close(&self, before_minute: Option<i64>) -> Vec<NewEvent> {
        let mut closed = Vec::new();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            match before_minute {
                None => closed.extend(shard.drain()),
                Some(minute) => {
                    let keys: Vec<Key> = shard.keys().filter(|k| k.minute < minute).cloned().collect();
                    closed.extend(keys.into_iter().filter_map(|k| shard.remove_entry(&k)));
                }
            }
        }
        into_events(closed)
    }

    fn shard(&self, key: &Key) -> &Mutex<HashMap<Key, Tally>> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        &self.shards[hasher.finish() as usize % SHARDS]
    }
}

fn into_events(mut tallies: Vec<(Key, Tally)>) -> Vec<NewEvent> {
    tallies.sort_by_key(|(_, t)| t.first_time);
    tallies.into_iter().map(|(key, tally)| summary_event(key, tally)).collect()
}

fn summary_event(key: Key, tally: Tally) -> NewEvent {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    let actor = Actor { kind: key.actor_kind, id: key.actor_id, owner_account_id: key.actor_owner };
    let mut event = NewEvent::new(actor, ACTION).changes(json!({
        "action": key.action,
        "count": tally.count,
        "first_time": time(tally.first_time),
        "last_time": time(tally.last_time),
        "first_request_id": tally.first_request_id,
        "last_request_id": tally.last_request_id,
    }));
    event.namespace = key.namespace;
    event.target = key.target;
    event
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn read(actor: &str, target: &str, request: &str) -> NewEvent {
        NewEvent::new(Actor::client(actor.into(), None), "user.read")
            .namespace("system")
            .target("account", target)
            .request(Some(request.into()), None)
    }

    fn at(second: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + second, 0).unwrap()
    }

    #[test]
    fn reads_of_one_thing_in_one_minute_become_one_summary() {
        let summaries = Summaries::default();
        // 1_800_000_000 starts a minute: seconds 0..60 share it.
        for (i, second) in [0, 5, 39].into_iter().enumerate() {
            assert!(summaries.add(read("c1", "a1", &format!("r{i}")), at(second)).is_empty());
        }
        summaries.add(read("c1", "a2", "r9"), at(10));
        summaries.add(read("c2", "a1", "r8"), at(11));
        assert!(summaries.close(Some(minute_of(at(0)))).is_empty(), "the minute is still open");
        let closed = summaries.close(Some(minute_of(at(60))));
        assert_eq!(closed.len(), 3);
        let first = &closed[0];
        assert_eq!(first.action, ACTION);
        assert_eq!(first.actor.id.as_deref(), Some("c1"));
        assert_eq!(first.target, Some(("account".into(), "a1".into())));
        assert_eq!(first.namespace.as_deref(), Some("system"));
        let changes = first.changes.as_ref().unwrap();
        assert_eq!(changes["action"], "user.read");
        assert_eq!(changes["count"], 3);
        assert_eq!(changes["first_request_id"], "r0");
        assert_eq!(changes["last_request_id"], "r2");
        assert_eq!(changes["last_time"], at(39).to_rfc3339_opts(SecondsFormat::Micros, true));
        assert!(summaries.close(None).is_empty(), "closed summaries are handed over once");
    }

    #[test]
    fn a_new_minute_starts_a_new_summary() {
        let summaries = Summaries::default();
        summaries.add(read("c1", "a1", "r1"), at(0));
        summaries.add(read("c1", "a1", "r2"), at(70));
        let closed = summaries.close(None);
        assert_eq!(closed.len(), 2);
        assert!(closed.iter().all(|e| e.changes.as_ref().unwrap()["count"] == 1));
    }

    #[test]
    fn a_full_shard_hands_its_summaries_over_early_and_nothing_is_lost() {
        let summaries = Summaries::default();
        let mut handed = Vec::new();
        let reads = SHARDS * SHARD_CAPACITY * 2;
        for i in 0..reads {
            handed.extend(summaries.add(read("c1", &format!("a{i}"), "r"), at(1)));
        }
        assert!(!handed.is_empty());
        handed.extend(summaries.close(None));
        let total: u64 = handed.iter().map(|e| e.changes.as_ref().unwrap()["count"].as_u64().unwrap()).sum();
        assert_eq!(total, reads as u64);
    }
}
