//! Verifying an archive directory: offline, every segment on its own (its manifest's
//! signature, its file's SHA-256, its events' chain) and the segments together (they cover the
//! chain from its first event with no gap, overlap or break); then, against a database, that
//! they are the segments it archived, signed by its keys, and that the live chain follows the
//! last of them. Every problem names the segment it is in.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

use super::segment::{self, file_names, Manifest};
use crate::db::audit_archive::{self, ArchiveRow};
use crate::db::Conn;
use crate::domain::audit::{ChainCheck, GENESIS_HASH};
use crate::domain::audit_keys::{self, ALGORITHM};
use crate::error::Result;

/// A segment that verified on its own.
#[derive(Debug, Clone)]
pub struct VerifiedSegment {
    /// The segment's name without extensions (`audit-<first>-<last>`).
    pub name: String,
    pub manifest: Manifest,
    pub manifest_sha256: String,
}

/// An archive directory whose segments verified and link up.
#[derive(Debug, Clone, Default)]
pub struct VerifiedArchive {
    /// In chain order.
    pub segments: Vec<VerifiedSegment>,
    pub events: i64,
}

fn base_name(file_name: &str) -> &str {
    file_name.split('.').next().unwrap_or(file_name)
}

/// Verifies every segment in `dir` and how they link; the first problem, naming its segment.
pub fn verify_dir(dir: &Path) -> std::result::Result<VerifiedArchive, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read the archive directory {}: {e}", dir.display()))?;
    let (mut manifests, mut segments) = (BTreeSet::new(), BTreeSet::new());
    for entry in entries {
        let name = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.file_name();
        let name = name.to_string_lossy().into_owned();
        if !name.starts_with("audit-") {
            continue;
        }
        if name.ends_with(".manifest.json") {
            manifests.insert(name);
        } else if name.ends_with(".ndjson.zst") {
            segments.insert(name);
        }
    }
    for name in &segments {
        if !manifests.contains(&format!("{}.manifest.json", base_name(name))) {
            return Err(format!("segment {}: its manifest is missing", base_name(name)));
        }
    }
    let mut verified = Vec::new();
    for name in &manifests {
        let base = base_name(name);
        verified.push(verify_segment(dir, name).map_err(|problem| format!("segment {base}: {problem}"))?);
    }
    verified.sort_by_key(|s| s.manifest.first_seq);
    let (mut next_seq, mut prev_hash, mut prev_name) = (1i64, GENESIS_HASH.to_owned(), "the chain's start".to_owned());
    let mut events = 0;
    for s in &verified {
        let m = &s.manifest;
        if m.first_seq > next_seq {
            let (missing, _, _) = file_names(next_seq, m.first_seq - 1);
            return Err(format!(
                "segment {}: it is missing (no segment holds events {next_seq}..{}, between {prev_name} and segment {})",
                base_name(&missing),
                m.first_seq - 1,
                s.name
            ));
        }
        if m.first_seq < next_seq {
            return Err(format!("segment {}: it overlaps {prev_name} (both hold event {})", s.name, m.first_seq));
        }
        if m.first_prev_hash != prev_hash {
            return Err(format!(
                "segment {}: it does not follow {prev_name} (its first event's prev_hash is not the hash of event {})",
                s.name,
                next_seq - 1
            ));
        }
        (next_seq, prev_hash, prev_name) =
            (m.last_seq.saturating_add(1), m.last_hash.clone(), format!("segment {}", s.name));
        events += m.events;
    }
    Ok(VerifiedArchive { segments: verified, events })
}

/// One segment on its own: signature, names, file hash, chain.
fn verify_segment(dir: &Path, manifest_name: &str) -> std::result::Result<VerifiedSegment, String> {
    let base = base_name(manifest_name);
    let bytes = segment::read_small(&dir.join(manifest_name))?;
    let signature_name = format!("{manifest_name}.sig");
    let signature = segment::read_small(&dir.join(&signature_name))
        .map_err(|_| format!("its signature file {signature_name} is missing or unreadable"))?;
    let manifest = segment::parse_manifest(&bytes)?;
    if manifest.algorithm != ALGORITHM {
        return Err(format!("its manifest is signed with {:?}, not {ALGORITHM}", manifest.algorithm));
    }
    if audit_keys::key_id(&manifest.public_key) != manifest.key_id {
        return Err("its manifest's key id is not its public key's".into());
    }
    audit_keys::verify(&manifest.public_key, &bytes, &String::from_utf8_lossy(&signature))
        .map_err(|reason| format!("its manifest's signature is not valid ({reason}): the manifest was altered"))?;
    let (segment_name, expected_manifest, _) = file_names(manifest.first_seq, manifest.last_seq);
    if expected_manifest != manifest_name || manifest.segment != segment_name {
        return Err(format!(
            "its signed manifest is for events {}..{} ({}): the files were renamed or reordered",
            manifest.first_seq,
            manifest.last_seq,
            base_name(&segment_name)
        ));
    }
    let segment_path = dir.join(&segment_name);
    if !segment_path.exists() {
        return Err(format!("its segment file {segment_name} is missing"));
    }
    if segment::file_sha256(&segment_path)? != manifest.segment_sha256 {
        return Err(format!(
            "its segment file {segment_name} was altered or replaced (its SHA-256 is not the signed manifest's)"
        ));
    }
    let file = File::open(&segment_path).map_err(|e| format!("cannot read {segment_name}: {e}"))?;
    let mut check = ChainCheck::after(manifest.first_seq - 1, manifest.first_prev_hash.clone());
    let count = segment::read_events(file, manifest.events, |event| check.next(&event))
        .map_err(|reason| format!("its events do not verify: {reason}"))?;
    if count != manifest.events {
        return Err(format!("it holds {count} events, its manifest {}", manifest.events));
    }
    check
        .finish(manifest.last_seq, &manifest.last_hash)
        .map_err(|reason| format!("its events do not verify: {reason}"))?;
    Ok(VerifiedSegment {
        name: base.to_owned(),
        manifest_sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
        manifest,
    })
}

/// Checks a verified archive against the database: it holds exactly the segments the database
/// recorded (none missing, none foreign), each signed by one of its audit signing keys. The
/// live chain's own check ([`crate::db::audit::verify`]) starts where the last one ends.
pub fn link_to_database(conn: &mut Conn, archive: &VerifiedArchive) -> Result<std::result::Result<(), String>> {
    let recorded = audit_archive::archives(conn)?;
    let keys: BTreeSet<String> = audit_keys::list(conn)?.into_iter().map(|k| k.kid).collect();
    Ok(compare(&recorded, &keys, archive))
}

fn compare(
    recorded: &[ArchiveRow],
    keys: &BTreeSet<String>,
    archive: &VerifiedArchive,
) -> std::result::Result<(), String> {
    for row in recorded {
        let name = base_name(&row.segment);
        match archive.segments.iter().find(|s| s.manifest.first_seq == row.first_seq) {
            None => {
                return Err(format!(
                    "segment {name}: it is missing (the database archived events {}..{} into it)",
                    row.first_seq, row.last_seq
                ))
            }
            Some(s) if s.manifest_sha256 != row.manifest_sha256 => {
                return Err(format!("segment {name}: it is not the segment the database archived (another manifest)"))
            }
            Some(_) => {}
        }
    }
    for s in &archive.segments {
        if !recorded.iter().any(|r| r.first_seq == s.manifest.first_seq) {
            return Err(format!("segment {}: the database archived no such segment", s.name));
        }
        if !keys.contains(&s.manifest.key_id) {
            return Err(format!(
                "segment {}: it is signed by key {}, which is not an audit signing key of this database",
                s.name, s.manifest.key_id
            ));
        }
    }
    Ok(())
}
