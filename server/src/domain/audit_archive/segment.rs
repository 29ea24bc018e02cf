//! The files of an archive: a segment (zstd-compressed NDJSON, one event a line with every
//! field the chain's hash covers, so that it verifies without the database), its manifest
//! (JSON: what the segment holds and how it links into the chain) and the manifest's detached
//! Ed25519 signature. Reading treats every file as untrusted: bounded sizes, unknown fields
//! refused, every problem a message that names the file.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::audit::StoredEvent;
use crate::error::{Error, Result};

/// The `format` of every manifest this version writes.
pub const FORMAT: &str = "gatehouse.audit-segment.v1";
/// The most bytes a manifest or signature file may have.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;
/// The longest line of a segment (an event's changes are bounded by the API's body limit).
const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;
/// zstd level: 3 (zstd's default) compresses audit NDJSON about tenfold at well over
/// 100 MB/s, so compression never bounds an archive run; higher levels gain little on it.
const ZSTD_LEVEL: i32 = 3;

/// One event, one line of a segment: `StoredEvent` field for field, `changes` as the JSON text
/// that was hashed, `time` as hashed (RFC 3339, microseconds, `Z`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivedEvent {
    pub seq: i64,
    pub id: String,
    pub time: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_owner_account_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub namespace: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub changes: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&StoredEvent> for ArchivedEvent {
    fn from(e: &StoredEvent) -> Self {
        ArchivedEvent {
            seq: e.seq,
            id: e.id.clone(),
            time: e.time.to_rfc3339_opts(SecondsFormat::Micros, true),
            actor_type: e.actor_type.clone(),
            actor_id: e.actor_id.clone(),
            actor_owner_account_id: e.actor_owner_account_id.clone(),
            action: e.action.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            namespace: e.namespace.clone(),
            outcome: e.outcome.clone(),
            request_id: e.request_id.clone(),
            ip: e.ip.clone(),
            changes: e.changes.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

impl ArchivedEvent {
    pub fn into_stored(self) -> std::result::Result<StoredEvent, String> {
        let time = DateTime::parse_from_rfc3339(&self.time)
            .map_err(|_| format!("event {} has no valid time", self.seq))?
            .with_timezone(&Utc);
        Ok(StoredEvent {
            seq: self.seq,
            id: self.id,
            time,
            actor_type: self.actor_type,
            actor_id: self.actor_id,
            actor_owner_account_id: self.actor_owner_account_id,
            action: self.action,
            target_type: self.target_type,
            target_id: self.target_id,
            namespace: self.namespace,
            outcome: self.outcome,
            request_id: self.request_id,
            ip: self.ip,
            changes: self.changes,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// What a segment holds and where it sits in the chain; signed as the exact bytes written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// The segment's file name, in the manifest's directory.
    pub segment: String,
    /// SHA-256 (hex) of the segment file as written (compressed).
    pub segment_sha256: String,
    pub first_seq: i64,
    pub last_seq: i64,
    /// The hash of the event before the first (the previous segment's `last_hash`).
    pub first_prev_hash: String,
    pub last_hash: String,
    pub events: i64,
    pub created_at: DateTime<Utc>,
    pub key_id: String,
    pub algorithm: String,
    /// The Ed25519 public key that signed this manifest, base64url.
    pub public_key: String,
}

/// The file names of the segment holding `first..=last`: zero-padded, so that names sort in
/// chain order. (segment, manifest, signature)
pub fn file_names(first: i64, last: i64) -> (String, String, String) {
    let base = format!("audit-{first:015}-{last:015}");
    (format!("{base}.ndjson.zst"), format!("{base}.manifest.json"), format!("{base}.manifest.json.sig"))
}

/// Writes a segment: compresses events as they come and hashes the compressed bytes.
pub struct SegmentWriter {
    encoder: zstd::Encoder<'static, HashingFile>,
    path: PathBuf,
    line: Vec<u8>,
}

/// A file that hashes what is written to it.
pub struct HashingFile {
    file: std::io::BufWriter<File>,
    hasher: Sha256,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::bad_request(format!("cannot {what} {}: {e}", path.display()))
}

impl SegmentWriter {
    /// Starts a segment at `path` (a temporary name; [`SegmentWriter::finish`] fsyncs it).
    pub fn create(path: PathBuf) -> Result<SegmentWriter> {
        let file = File::create(&path).map_err(|e| io_error(&path, "create", e))?;
        let sink = HashingFile { file: std::io::BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new() };
        let encoder = zstd::Encoder::new(sink, ZSTD_LEVEL).map_err(|e| io_error(&path, "compress", e))?;
        Ok(SegmentWriter { encoder, path, line: Vec::with_capacity(1024) })
    }

    pub fn push(&mut self, event: &StoredEvent) -> Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, &ArchivedEvent::from(event)).map_err(Error::internal)?;
        self.line.push(b'\n');
        self.encoder.write_all(&self.line).map_err(|e| io_error(&self.path, "write", e))
    }

    /// Ends the stream, fsyncs the file; returns its SHA-256 (hex).
    pub fn finish(self) -> Result<String> {
        let path = self.path;
        let sink = self.encoder.finish().map_err(|e| io_error(&path, "write", e))?;
        let file = sink.file.into_inner().map_err(|e| io_error(&path, "write", e.into_error()))?;
        file.sync_all().map_err(|e| io_error(&path, "fsync", e))?;
        Ok(hex::encode(sink.hasher.finalize()))
    }
}

/// Writes `bytes` to `path` durably: a temporary file, fsynced, renamed into place.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension("partial");
    let mut file = File::create(&temporary).map_err(|e| io_error(&temporary, "create", e))?;
    file.write_all(bytes).map_err(|e| io_error(&temporary, "write", e))?;
    file.sync_all().map_err(|e| io_error(&temporary, "fsync", e))?;
    fs::rename(&temporary, path).map_err(|e| io_error(path, "rename into", e))
}

/// Makes the renames in `dir` durable (POSIX: an fsync of the directory).
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, "fsync", e))
}

/// Reads a small file whole, refusing one larger than a manifest can be.
pub fn read_small(path: &Path) -> std::result::Result<Vec<u8>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(format!("{} is larger than a manifest can be", path.display()));
    }
    Ok(bytes)
}

/// Parses a manifest (untrusted bytes).
pub fn parse_manifest(bytes: &[u8]) -> std::result::Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| format!("its manifest is not valid: {e}"))?;
    if manifest.format != FORMAT {
        return Err(format!("its manifest has format {:?}, not {FORMAT:?}", manifest.format));
    }
    if manifest.first_seq < 1 || manifest.last_seq < manifest.first_seq {
        return Err("its manifest's sequence numbers are not a range".into());
    }
    if manifest.last_seq.checked_sub(manifest.first_seq).and_then(|d| d.checked_add(1)) != Some(manifest.events) {
        return Err("its manifest's event count does not match its range".into());
    }
    Ok(manifest)
}

/// SHA-256 (hex) of a file, streamed.
pub fn file_sha256(path: &Path) -> std::result::Result<String, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Reads the events of a segment (untrusted) one at a time, handing each to `each`; stops at
/// the first problem. At most `limit` events are read: a segment holding more than its
/// manifest says is refused without decompressing the rest.
pub fn read_events(
    reader: impl Read,
    limit: i64,
    mut each: impl FnMut(StoredEvent) -> std::result::Result<(), String>,
) -> std::result::Result<i64, String> {
    let decoder = zstd::Decoder::new(reader).map_err(|e| format!("it is not zstd: {e}"))?;
    let mut lines = BufReader::with_capacity(1 << 20, decoder);
    let mut line = Vec::new();
    let mut count = 0i64;
    loop {
        line.clear();
        let read = (&mut lines)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("it does not decompress: {e}"))?;
        if read == 0 {
            return Ok(count);
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(format!("line {} is longer than an event can be", count + 1));
        }
        if line.last() != Some(&b'\n') {
            return Err(format!("line {} is cut off", count + 1));
        }
        count += 1;
        if count > limit {
            return Err(format!("it holds more events than its manifest's {limit}"));
        }
        let event: ArchivedEvent =
            serde_json::from_slice(&line).map_err(|e| format!("line {count} is not an archived event: {e}"))?;
        each(event.into_stored()?)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, NewEvent, GENESIS_HASH};

    fn events(n: i64) -> Vec<StoredEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let event = NewEvent::new(Actor::system(), "user.create").changes(serde_json::json!({ "n": seq }));
                let stored = StoredEvent::seal(event, seq, format!("id-{seq}"), crate::db::now(), prev.clone());
                prev = stored.hash.clone();
                stored
            })
            .collect()
    }

    fn written(events: &[StoredEvent]) -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segment");
        let mut writer = SegmentWriter::create(path.clone()).unwrap();
        for e in events {
            writer.push(e).unwrap();
        }
        let sha = writer.finish().unwrap();
        (dir, path, sha)
    }

    #[test]
    fn a_segment_reads_back_every_event_unchanged_and_hashes_as_written() {
        let original = events(7);
        let (_dir, path, sha) = written(&original);
        assert_eq!(file_sha256(&path).unwrap(), sha);
        let mut read = Vec::new();
        let count = read_events(File::open(&path).unwrap(), 7, |e| {
            read.push(e);
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 7);
        assert_eq!(read, original);
        assert!(read.iter().all(|e| e.compute_hash() == e.hash));
    }

    #[test]
    fn a_segment_with_more_events_than_its_manifest_is_refused() {
        let (_dir, path, _) = written(&events(4));
        let err = read_events(File::open(&path).unwrap(), 3, |_| Ok(())).unwrap_err();
        assert!(err.contains("more events"), "{err}");
        assert!(read_events(&b"not zstd"[..], 3, |_| Ok(())).is_err());
    }

    #[test]
    fn a_manifest_with_an_inconsistent_range_is_refused() {
        let manifest = |first: i64, last: i64, events: i64| {
            serde_json::json!({
                "format": FORMAT, "segment": "s", "segment_sha256": "x", "first_seq": first, "last_seq": last,
                "first_prev_hash": "p", "last_hash": "h", "events": events, "created_at": "2026-01-01T00:00:00Z",
                "key_id": "k", "algorithm": "Ed25519", "public_key": "pk"
            })
            .to_string()
        };
        assert!(parse_manifest(manifest(1, 5, 5).as_bytes()).is_ok());
        assert!(parse_manifest(manifest(1, 5, 4).as_bytes()).is_err());
        assert!(parse_manifest(manifest(6, 5, 0).as_bytes()).is_err());
        assert!(parse_manifest(manifest(0, i64::MAX, i64::MAX).as_bytes()).is_err());
        assert!(parse_manifest(manifest(1, 5, 5).replace('}', r#","extra":1}"#).as_bytes()).is_err());
    }
}
