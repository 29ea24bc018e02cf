//! The stored form of an audit event ([`Row`]) and its one conversion to and from
//! [`StoredEvent`] (ADR 0008). The chain hashes the textual record, never this form: every
//! encoding here round-trips exactly to the text the hash was computed over, and falls back to
//! that text whenever a compact form would not reproduce it byte for byte.
//!
//! - ids, request ids: a canonical (lowercase, hyphenated) UUID as its 16 bytes;
//! - IP addresses: 4 or 16 bytes when the text is the address's canonical form;
//! - anything else: `0xFF` and the UTF-8 text. No compact form starts with `0xFF` (a UUID or an
//!   address whose first byte is `0xFF` is kept as text), so the first byte tells them apart;
//! - `changes`: the JSON text with its most common fragments replaced by one control byte each,
//!   and quoted UUIDs and 22-character base64url tokens (`jti`) by their 16 bytes ([`pack_json`]);
//! - times: microseconds since the epoch (events are sealed at microsecond precision);
//! - actor type and outcome: small codes; the hash: its 32 bytes;
//! - actor, owner and target ids, actions, namespaces and target types: codes of
//!   `audit_names` (ADR 0010, [`super::names`]);
//! - the id: nothing, when it is the one [`derived_id`] gives (every event appended since
//!   ADR 0010), else as ids are.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use uuid::Uuid;

use super::names::{Kind, Name};
use super::StoredEvent;
use crate::db::schema::audit_events;
use crate::error::{Error, Result};

/// Marks a value kept as text.
const TEXT: u8 = 0xFF;

/// `None` is inserted as NULL, not as `DEFAULT` (no column has another default): a one-row
/// insert then has the same text on every call, and diesel keeps it prepared.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub(super) struct Row {
    pub seq: i64,
    pub time: i64,
    /// Codes of `audit_names` ([`names`]).
    pub actor: Option<i32>,
    pub actor_owner: Option<i32>,
    pub target: Option<i32>,
    pub action: i32,
    pub namespace: Option<i32>,
    pub target_type: Option<i32>,
    pub actor_type: i16,
    pub outcome: i16,
    /// `None` when the id is the one [`derived_id`] gives (every event appended since ADR 0010).
    pub id: Option<Vec<u8>>,
    pub request_id: Option<Vec<u8>>,
    pub ip: Option<Vec<u8>>,
    pub changes: Option<Vec<u8>>,
    pub hash: Vec<u8>,
}

const ACTOR_TYPES: [&str; 4] = ["client", "account", "system", "anonymous"];
const OUTCOMES: [&str; 3] = ["success", "denied", "failure"];

pub(super) fn actor_type_code(kind: &str) -> Result<i16> {
    code_of(&ACTOR_TYPES, kind, "actor type")
}

pub(super) fn outcome_code(outcome: &str) -> Result<i16> {
    code_of(&OUTCOMES, outcome, "outcome")
}

/// Codes count from 1 in the lists' order (the migration's `CASE`s agree).
fn code_of(names: &[&str], name: &str, what: &str) -> Result<i16> {
    names
        .iter()
        .position(|n| *n == name)
        .map(|i| i as i16 + 1)
        .ok_or_else(|| Error::Internal(format!("audit event with unknown {what} {name:?}")))
}

fn name_of(names: &[&'static str], code: i16, what: &str) -> Result<String> {
    usize::try_from(code - 1)
        .ok()
        .and_then(|i| names.get(i))
        .map(|n| (*n).to_owned())
        .ok_or_else(|| Error::Internal(format!("stored audit event with unknown {what} code {code}")))
}

/// An id as stored: its 16 bytes when it is a canonical UUID, else tagged text.
pub(super) fn pack_id(text: &str) -> Vec<u8> {
    match Uuid::parse_str(text) {
        Ok(uuid) if uuid.as_bytes()[0] != TEXT && uuid.hyphenated().to_string() == text => uuid.as_bytes().to_vec(),
        _ => tagged(text),
    }
}

pub(super) fn unpack_id(bytes: &[u8]) -> Result<String> {
    match bytes {
        [TEXT, text @ ..] => utf8(text),
        _ => Uuid::from_slice(bytes).map(|u| u.hyphenated().to_string()).map_err(|_| corrupt("id")),
    }
}

pub(super) fn pack_ip(text: &str) -> Vec<u8> {
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) if v4.octets()[0] != TEXT && v4.to_string() == text => v4.octets().to_vec(),
        Ok(IpAddr::V6(v6)) if v6.octets()[0] != TEXT && v6.to_string() == text => v6.octets().to_vec(),
        _ => tagged(text),
    }
}

fn unpack_ip(bytes: &[u8]) -> Result<String> {
    match bytes {
        [TEXT, text @ ..] => utf8(text),
        _ => match <[u8; 4]>::try_from(bytes) {
            Ok(v4) => Ok(IpAddr::from(v4).to_string()),
            Err(_) => <[u8; 16]>::try_from(bytes).map(|v6| IpAddr::from(v6).to_string()).map_err(|_| corrupt("ip")),
        },
    }
}

fn tagged(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.push(TEXT);
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

fn utf8(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| corrupt("text"))
}

fn corrupt(what: &str) -> Error {
    Error::Internal(format!("stored audit event has an unreadable {what}"))
}

/// Fragments of the events' JSON, most frequent first; byte `i + 1` stands for `FRAGMENTS[i]`.
/// Append only: stored events name fragments by position.
const FRAGMENTS: [&str; 29] = [
    "{\"grant_type\":\"",
    "client_credentials",
    "\",\"jti\":\"",
    "\",\"scope\":\"",
    "\"}",
    "{\"before\":",
    ",\"after\":",
    "{\"detail\":\"",
    "\",\"missing_grant\":\"",
    "{\"action\":\"",
    "\",\"count\":",
    ",\"first_request_id\":\"",
    "\",\"first_time\":\"",
    "\",\"last_request_id\":\"",
    "\",\"last_time\":\"",
    "refresh_token",
    "authorization_code",
    "password",
    "\"namespace\":\"",
    "\"username\":\"",
    "\"email\":\"",
    "\"email_verified\":",
    "\"permissions\":[",
    "\"disabled\":",
    "\"id\":\"",
    "null",
    "false",
    "true",
    "\",\"",
];
/// The fragments by their first two bytes (every fragment has two or more), hashed into 256
/// slots (bit `i` for `FRAGMENTS[i]`): packing tries at each position only the few whose first
/// two bytes may match (fifteen fragments start with `"`).
const FRAGMENTS_BY_FIRST_TWO: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < FRAGMENTS.len() {
        let bytes = FRAGMENTS[i].as_bytes();
        table[first_two_slot(bytes[0], bytes[1])] |= 1 << i;
        i += 1;
    }
    table
};

const fn first_two_slot(first: u8, second: u8) -> usize {
    (first as usize * 31 + second as usize) & 255
}

/// Followed by 16 bytes: a base64url (unpadded) token of 16 bytes, 22 characters.
const TOKEN16: u8 = 0x1E;
/// Followed by 16 bytes: a UUID in its canonical text.
const UUID16: u8 = 0x1F;
/// Followed by the text as it is (it holds control characters of its own).
const RAW: u8 = 0x00;

/// JSON text in fewer bytes. JSON text never holds a raw control character (they are escaped
/// inside strings), so control bytes are free to stand for fragments; a text that does hold one
/// is stored as it is behind [`RAW`].
pub(super) fn pack_json(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    if bytes.iter().any(|b| *b < 0x20) {
        let mut out = Vec::with_capacity(bytes.len() + 1);
        out.push(RAW);
        out.extend_from_slice(bytes);
        return out;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // A whole quoted string that is a UUID or a 16-byte token: its bytes.
        if i > 0 && bytes[i - 1] == b'"' {
            if let Some(uuid) =
                quoted(bytes, i, 36).and_then(|s| Uuid::parse_str(s).ok().filter(|u| u.to_string() == s))
            {
                out.push(UUID16);
                out.extend_from_slice(uuid.as_bytes());
                i += 36;
                continue;
            }
            if let Some(raw) = quoted(bytes, i, 22).and_then(|s| {
                URL_SAFE_NO_PAD.decode(s).ok().filter(|raw| raw.len() == 16 && URL_SAFE_NO_PAD.encode(raw) == s)
            }) {
                out.push(TOKEN16);
                out.extend_from_slice(&raw);
                i += 22;
                continue;
            }
        }
        match longest_fragment(&bytes[i..]) {
            Some((index, fragment)) => {
                out.push(index as u8 + 1);
                i += fragment.len();
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// The longest fragment `rest` starts with, among those that may start with its first two bytes.
fn longest_fragment(rest: &[u8]) -> Option<(usize, &'static str)> {
    let [first, second, ..] = rest else { return None };
    let mut candidates = FRAGMENTS_BY_FIRST_TWO[first_two_slot(*first, *second)];
    let mut longest: Option<(usize, &'static str)> = None;
    while candidates != 0 {
        let index = candidates.trailing_zeros() as usize;
        candidates &= candidates - 1;
        let fragment = FRAGMENTS[index];
        if rest.starts_with(fragment.as_bytes()) && longest.is_none_or(|(_, l)| fragment.len() > l.len()) {
            longest = Some((index, fragment));
        }
    }
    longest
}

/// `len` bytes at `at` that end before a closing quote.
fn quoted(bytes: &[u8], at: usize, len: usize) -> Option<&str> {
    (bytes.get(at + len) == Some(&b'"')).then(|| std::str::from_utf8(&bytes[at..at + len]).ok()).flatten()
}

pub(super) fn unpack_json(bytes: &[u8]) -> Result<String> {
    if let [RAW, text @ ..] = bytes {
        return utf8(text);
    }
    let mut out = Vec::with_capacity(bytes.len() * 2);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            UUID16 | TOKEN16 => {
                let raw = bytes.get(i + 1..i + 17).ok_or_else(|| corrupt("changes"))?;
                if b == UUID16 {
                    out.extend_from_slice(
                        Uuid::from_slice(raw).map_err(|_| corrupt("changes"))?.to_string().as_bytes(),
                    );
                } else {
                    out.extend_from_slice(URL_SAFE_NO_PAD.encode(raw).as_bytes());
                }
                i += 17;
            }
            0x01..=0x1D => {
                out.extend_from_slice(FRAGMENTS[b as usize - 1].as_bytes());
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    utf8(&out)
}

/// The id of the event at `seq`, sealed at `time`, in the database whose salt is `salt`: a UUID
/// v7 whose timestamp is the event's time (in milliseconds) and whose other bits come from the
/// salt and `seq`. The 64 bits of `seq` pass through a bijection (an odd multiplier, then a
/// salt-derived mask) into bits the version and variant leave alone, so no two seqs of one
/// database share an id; the salt keeps databases' ids apart.
pub(super) fn derived_id(salt: &[u8], seq: i64, time: DateTime<Utc>) -> String {
    let key = Sha256::digest(salt);
    let mask = u64::from_be_bytes(key[..8].try_into().unwrap_or_default());
    let scrambled = (seq as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ mask;
    let bits = scrambled.to_be_bytes();
    // Bytes 6..16 of the UUID: the version takes the high half of the first, the variant the
    // two high bits of the third; the rest is `bits`, whole, and the salt's.
    let mut random = [0u8; 10];
    random[0] = key[8];
    random[1] = bits[0];
    random[2] = key[9];
    random[3..].copy_from_slice(&bits[1..]);
    let millis = u64::try_from(time.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid().hyphenated().to_string()
}

/// The names an event needs codes for ([`Row::pack`]).
pub(super) fn names_of(e: &StoredEvent) -> Vec<Name> {
    let mut wanted = vec![(Kind::Action, e.action.as_bytes().to_vec())];
    for id in [&e.actor_id, &e.actor_owner_account_id, &e.target_id].into_iter().flatten() {
        wanted.push((Kind::Id, pack_id(id)));
    }
    if let Some(namespace) = &e.namespace {
        wanted.push((Kind::Namespace, namespace.as_bytes().to_vec()));
    }
    if let Some(target_type) = &e.target_type {
        wanted.push((Kind::TargetType, target_type.as_bytes().to_vec()));
    }
    wanted
}

impl Row {
    /// `codes` holds the code of each of [`names_of`]`(e)`; `salt` is the database's.
    /// `changes` is `e.changes` packed ([`pack_json`]), done before the chain's head was locked.
    pub(super) fn pack(
        e: &StoredEvent,
        changes: Option<Vec<u8>>,
        codes: &HashMap<Name, i32>,
        salt: &[u8],
    ) -> Result<Row> {
        let code = |kind: Kind, value: Vec<u8>| {
            codes.get(&(kind, value)).copied().ok_or_else(|| Error::Internal("an audit name has no code".into()))
        };
        let id = |text: &Option<String>| text.as_deref().map(|t| code(Kind::Id, pack_id(t))).transpose();
        let text = |kind: Kind, t: &Option<String>| t.as_deref().map(|t| code(kind, t.as_bytes().to_vec())).transpose();
        Ok(Row {
            seq: e.seq,
            time: e.time.timestamp_micros(),
            actor: id(&e.actor_id)?,
            actor_owner: id(&e.actor_owner_account_id)?,
            target: id(&e.target_id)?,
            action: code(Kind::Action, e.action.as_bytes().to_vec())?,
            namespace: text(Kind::Namespace, &e.namespace)?,
            target_type: text(Kind::TargetType, &e.target_type)?,
            actor_type: actor_type_code(&e.actor_type)?,
            outcome: outcome_code(&e.outcome)?,
            id: (e.id != derived_id(salt, e.seq, e.time)).then(|| pack_id(&e.id)),
            request_id: e.request_id.as_deref().map(pack_id),
            ip: e.ip.as_deref().map(pack_ip),
            changes,
            hash: hex::decode(&e.hash).map_err(|_| Error::Internal("an audit hash is not hex".into()))?,
        })
    }

    /// The codes this row names.
    pub(super) fn codes(&self) -> impl Iterator<Item = i32> + '_ {
        [self.actor, self.actor_owner, self.target, Some(self.action), self.namespace, self.target_type]
            .into_iter()
            .flatten()
    }

    /// The event this row stores, given the hash of the event before it (not stored: it is the
    /// previous row's hash, or the chain's anchor for the first kept row), the names of its
    /// codes and the database's salt.
    pub(super) fn unpack(self, prev_hash: String, names: &HashMap<i32, Name>, salt: &[u8]) -> Result<StoredEvent> {
        let name = |kind: Kind, code: i32| match names.get(&code) {
            Some((k, value)) if *k == kind => Ok(value.as_slice()),
            _ => Err(corrupt("name")),
        };
        let id = |code: Option<i32>| code.map(|c| name(Kind::Id, c).and_then(unpack_id)).transpose();
        let text = |kind: Kind, code: Option<i32>| code.map(|c| name(kind, c).and_then(utf8)).transpose();
        let time = DateTime::<Utc>::from_timestamp_micros(self.time).ok_or_else(|| corrupt("time"))?;
        Ok(StoredEvent {
            seq: self.seq,
            id: match &self.id {
                Some(bytes) => unpack_id(bytes)?,
                None => derived_id(salt, self.seq, time),
            },
            time,
            actor_type: name_of(&ACTOR_TYPES, self.actor_type, "actor type")?,
            actor_id: id(self.actor)?,
            actor_owner_account_id: id(self.actor_owner)?,
            action: text(Kind::Action, Some(self.action))?.unwrap_or_default(),
            target_type: text(Kind::TargetType, self.target_type)?,
            target_id: id(self.target)?,
            namespace: text(Kind::Namespace, self.namespace)?,
            outcome: name_of(&OUTCOMES, self.outcome, "outcome")?,
            request_id: self.request_id.as_deref().map(unpack_id).transpose()?,
            ip: self.ip.as_deref().map(unpack_ip).transpose()?,
            changes: self.changes.as_deref().map(unpack_json).transpose()?,
            prev_hash,
            hash: hex::encode(&self.hash),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_exactly() {
        for text in [
            "0192f1a2-7b3c-7def-8123-456789abcdef",
            "0192F1A2-7B3C-7DEF-8123-456789ABCDEF",
            "0192f1a27b3c7def8123456789abcdef",
            "ff92f1a2-7b3c-7def-8123-456789abcdef",
            "signing-key-1",
            "",
            "é",
        ] {
            let packed = pack_id(text);
            assert_eq!(unpack_id(&packed).unwrap(), text);
        }
        assert_eq!(pack_id("0192f1a2-7b3c-7def-8123-456789abcdef").len(), 16);
    }

    #[test]
    fn addresses_round_trip_exactly() {
        for text in ["127.0.0.1", "255.1.2.3", "::1", "2001:db8::1", "2001:DB8::1", "ff02::1", "010.0.0.1", "abc", ""] {
            assert_eq!(unpack_ip(&pack_ip(text)).unwrap(), text, "{text}");
        }
        assert_eq!(pack_ip("10.1.2.3").len(), 4);
        assert_eq!(pack_ip("2001:db8::1").len(), 16);
    }

    /// The fragments packing tries at a position, found by their first two bytes, give what a scan of
    /// all of them gives: the same choice at every position of these texts.
    #[test]
    fn the_longest_fragment_is_found_by_first_two_bytes_as_by_a_scan_of_all() {
        let every_fragment = FRAGMENTS.join("");
        let texts = [
            every_fragment.as_str(),
            r#"{"before":null,"after":{"id":"0192f1a2-7b3c-7def-8123-456789abcdef","namespace":"shop","username":"ada","email":"a@x.io","email_verified":false,"permissions":["users:read@shop"],"disabled":true}}"#,
            r#"{"grant_type":"refresh_token","jti":"3q2-7wAAAAAAAAAAAAAAAA","scope":"openid"}"#,
            r#"{"detail":"you lack password","missing_grant":"users:write@shop","action":"a","count":1}"#,
            "nullfalsetrue\",\"client_credentials authorization_code",
        ];
        for text in texts {
            for at in 0..text.len() {
                let rest = &text.as_bytes()[at..];
                let scan = FRAGMENTS
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| rest.starts_with(f.as_bytes()))
                    .max_by_key(|(_, f)| f.len())
                    .map(|(i, f)| (i, *f));
                assert_eq!(longest_fragment(rest), scan, "{text} at {at}");
            }
            assert_eq!(unpack_json(&pack_json(text)).unwrap(), text);
        }
    }

    #[test]
    fn json_round_trips_exactly_and_shrinks() {
        let grant = r#"{"grant_type":"client_credentials","jti":"3q2-7wAAAAAAAAAAAAAAAA","scope":"users:read@acme"}"#;
        let summary = r#"{"action":"user.read","count":12,"first_request_id":"0192f1a2-7b3c-7def-8123-456789abcdef","first_time":"2026-12-05T22:00:01.000001Z","last_request_id":"req-1","last_time":"2026-12-05T22:00:59.5Z"}"#;
        for text in [
            grant,
            summary,
            r#"{"before":null,"after":{"id":"x","disabled":false}}"#,
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\"\u{1f}\"}",
            "\u{1e}",
            r#"{"jti":"3q2-7wAAAAAAAAAAAAAAAB"}"#,
            r#""0192f1a2-7b3c-7def-8123-456789abcdef"#,
            "",
            "é\"",
        ] {
            assert_eq!(unpack_json(&pack_json(text)).unwrap(), text, "{text}");
        }
        assert!(pack_json(grant).len() < 40, "{}", pack_json(grant).len());
    }

    #[test]
    fn derived_ids_are_uuid_v7_of_the_time_and_differ_by_seq_and_salt() {
        let time = DateTime::<Utc>::from_timestamp_micros(1_796_000_000_123_456).unwrap();
        let mut seen = std::collections::HashSet::new();
        for seq in (1..5000).chain([i64::MAX, 1 << 40, (1 << 40) + 1]) {
            let id = derived_id(b"salt-one", seq, time);
            let uuid = Uuid::parse_str(&id).unwrap();
            assert_eq!(uuid.get_version_num(), 7);
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
            let (secs, nanos) = uuid.get_timestamp().unwrap().to_unix();
            assert_eq!(secs * 1000 + u64::from(nanos) / 1_000_000, 1_796_000_000_123);
            assert_eq!(derived_id(b"salt-one", seq, time), id, "the same inputs, the same id");
            assert!(seen.insert(id), "seq {seq}: ids differ");
        }
        assert_ne!(derived_id(b"salt-one", 7, time), derived_id(b"salt-two", 7, time));
    }

    #[test]
    fn codes_round_trip() {
        for kind in ACTOR_TYPES {
            assert_eq!(name_of(&ACTOR_TYPES, actor_type_code(kind).unwrap(), "").unwrap(), kind);
        }
        for outcome in OUTCOMES {
            assert_eq!(name_of(&OUTCOMES, outcome_code(outcome).unwrap(), "").unwrap(), outcome);
        }
        assert!(actor_type_code("robot").is_err());
    }
}
