//! Retention with signed archives. An archive run moves the oldest events of the live chain
//! into segment files (see [`segment`]) that verify offline, then, in one transaction, records
//! the archive, appends an `audit.archive` checkpoint event to the live chain and deletes the
//! archived rows. Files are fsynced before that transaction, so a crash at any point leaves
//! nothing deleted that is not on disk (at worst a segment on disk that no archive records,
//! which the next run writes again). The live chain then starts after the last archived event
//! (its anchor), and [`verify`] checks that the segments link to each other and to it.
//!
//! One replica archives at a time (a lease row: whoever holds it runs, the others skip), and
//! each segment's transaction checks that the anchor has not moved since the segment was read.

pub mod segment;
pub mod verify;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;

use self::segment::{file_names, Manifest, SegmentWriter, FORMAT};
use crate::db::audit::{Filter, Visibility};
use crate::db::audit_archive::{self, ArchiveRow};
use crate::db::{self, to_db_time, Conn, Db};
use crate::domain::audit::{Actor, ChainCheck, NewEvent};
use crate::domain::audit_keys::{self, AuditSigner, ALGORITHM};
use crate::domain::crypto::MasterKey;
use crate::error::{Error, Result};

/// Events per segment: about 10 MB compressed at today's event size, small enough to hold one
/// segment's deletion in one transaction.
pub const SEGMENT_EVENTS: i64 = 100_000;
/// Events read from the live chain per query.
const PAGE: i64 = 2_000;
/// How long a replica holds the archiving lease without renewing it (renewed per segment).
/// A replica that died mid-run blocks the others for at most this long.
const LEASE: Duration = Duration::from_secs(600);

/// What an archive run is asked to do.
#[derive(Debug, Clone)]
pub struct ArchiveRequest {
    /// Archive the events older than this.
    pub before: DateTime<Utc>,
    pub dir: PathBuf,
    pub segment_events: i64,
}

/// A segment written and recorded.
#[derive(Debug, Clone)]
pub struct ArchivedSegment {
    pub segment: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub events: i64,
}

#[derive(Debug)]
pub enum ArchiveRun {
    Done {
        segments: Vec<ArchivedSegment>,
        elapsed: Duration,
    },
    /// Another replica holds the lease.
    Busy,
}

/// Runs an archive (blocking: call it on a blocking thread).
pub fn archive(db: &Db, master: &MasterKey, request: &ArchiveRequest) -> Result<ArchiveRun> {
    if request.segment_events < 1 {
        return Err(Error::bad_request("a segment must hold at least one event"));
    }
    std::fs::create_dir_all(&request.dir)
        .map_err(|e| Error::bad_request(format!("cannot create {}: {e}", request.dir.display())))?;
    let started = Instant::now();
    // Never past the run's own start: the checkpoint events it appends are newer, so a run
    // ends even when asked for everything.
    let request = &ArchiveRequest { before: request.before.min(db::now()), ..request.clone() };
    let holder = uuid::Uuid::now_v7().to_string();
    let mut conn = db.get()?;
    if !db.write_blocking(&mut conn, |c| renew_lease(c, &holder))? {
        return Ok(ArchiveRun::Busy);
    }
    let outcome = archive_segments(db, &mut conn, master, request, &holder);
    if let Err(e) = db.write_blocking(&mut conn, |c| audit_archive::release_lease(c, &holder)) {
        log::warn!("audit archive: cannot release the lease (it expires by itself): {e}");
    }
    Ok(ArchiveRun::Done { segments: outcome?, elapsed: started.elapsed() })
}

fn renew_lease(conn: &mut Conn, holder: &str) -> Result<bool> {
    let now = db::now();
    audit_archive::take_lease(conn, holder, now, now + chrono::Duration::from_std(LEASE).map_err(Error::internal)?)
}

fn archive_segments(
    db: &Db,
    conn: &mut Conn,
    master: &MasterKey,
    request: &ArchiveRequest,
    holder: &str,
) -> Result<Vec<ArchivedSegment>> {
    let signer = db.write_blocking(conn, |c| audit_keys::signer(c, master))?;
    let mut done = Vec::new();
    loop {
        let anchor = db::audit::anchor(conn)?;
        let Some(written) = write_segment(conn, request, &signer, holder, &anchor)? else {
            break;
        };
        let full = written.row.events == request.segment_events;
        db.write_blocking(conn, |c| commit_segment(c, holder, &anchor, &written))?;
        log::info!(
            "audit archive: events {}..{} archived into {} and removed from the live chain",
            written.row.first_seq,
            written.row.last_seq,
            written.row.segment
        );
        done.push(ArchivedSegment {
            segment: written.row.segment.clone(),
            first_seq: written.row.first_seq,
            last_seq: written.row.last_seq,
            events: written.row.events,
        });
        if !full {
            break;
        }
    }
    Ok(done)
}

/// A segment on disk, durable, not yet recorded.
struct WrittenSegment {
    row: ArchiveRow,
}

/// Writes the next segment: the events after `anchor` older than the cut and delivered to every
/// enabled log stream, in chain order, at most a segment's worth; checks their chain as it goes (a broken chain is never archived:
/// that would hide the break). `None` when there is nothing to archive.
fn write_segment(
    conn: &mut Conn,
    request: &ArchiveRequest,
    signer: &AuditSigner,
    holder: &str,
    anchor: &(i64, String),
) -> Result<Option<WrittenSegment>> {
    remove_unrecorded(&request.dir, anchor.0 + 1)?;
    let temporary = request.dir.join(format!(".segment-{holder}.partial"));
    let mut writer: Option<SegmentWriter> = None;
    let mut check = ChainCheck::after(anchor.0, anchor.1.clone());
    let (mut after, mut count, mut last_hash) = (anchor.0, 0i64, anchor.1.clone());
    // An enabled log stream has yet to deliver the events after its cursor: they stay live.
    let undelivered_after = db::log_streams::slowest_cursor(conn)?;
    'pages: while count < request.segment_events {
        let limit = PAGE.min(request.segment_events - count);
        let page = db::audit::list_after(conn, &Visibility::All, &Filter::default(), after, limit)?;
        let short = (page.len() as i64) < limit;
        for event in page {
            if event.time >= request.before || undelivered_after.is_some_and(|cursor| event.seq > cursor) {
                break 'pages;
            }
            check.next(&event).map_err(|reason| {
                Error::Conflict(format!("the live audit chain is broken, so it is not archived: {reason}"))
            })?;
            if writer.is_none() {
                writer = Some(SegmentWriter::create(temporary.clone())?);
            }
            writer.as_mut().map(|w| w.push(&event)).transpose()?;
            (after, count, last_hash) = (event.seq, count + 1, event.hash);
        }
        if short {
            break;
        }
    }
    let Some(writer) = writer else {
        return Ok(None);
    };
    let segment_sha256 = writer.finish()?;
    let (first_seq, last_seq) = (anchor.0 + 1, after);
    let (segment_name, manifest_name, signature_name) = file_names(first_seq, last_seq);
    std::fs::rename(&temporary, request.dir.join(&segment_name))
        .map_err(|e| Error::bad_request(format!("cannot rename {}: {e}", temporary.display())))?;
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        segment: segment_name.clone(),
        segment_sha256: segment_sha256.clone(),
        first_seq,
        last_seq,
        first_prev_hash: anchor.1.clone(),
        last_hash: last_hash.clone(),
        events: count,
        created_at: db::now(),
        key_id: signer.kid.clone(),
        algorithm: ALGORITHM.to_owned(),
        public_key: signer.public_key.clone(),
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(Error::internal)?;
    manifest_bytes.push(b'\n');
    segment::write_durably(&request.dir.join(&manifest_name), &manifest_bytes)?;
    let signature = signer.sign(&manifest_bytes) + "\n";
    segment::write_durably(&request.dir.join(signature_name), signature.as_bytes())?;
    segment::sync_dir(&request.dir)?;
    Ok(Some(WrittenSegment {
        row: ArchiveRow {
            first_seq,
            last_seq,
            first_prev_hash: anchor.1.clone(),
            last_hash,
            events: count,
            segment: segment_name,
            segment_sha256,
            manifest_sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&manifest_bytes)),
            kid: signer.kid.clone(),
            created_at: to_db_time(manifest.created_at),
        },
    }))
}

/// Removes the files of a segment starting at `first_seq`, the first unarchived event: a run
/// that crashed after writing them and before recording the archive left them, and this run's
/// segment may end elsewhere (so would overlap them). Under the lease, no one else writes them.
fn remove_unrecorded(dir: &std::path::Path, first_seq: i64) -> Result<()> {
    let prefix = format!("audit-{first_seq:015}-");
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::bad_request(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            log::warn!("audit archive: removing {} (written by a run that did not finish)", entry.path().display());
            std::fs::remove_file(entry.path())
                .map_err(|e| Error::bad_request(format!("cannot remove {}: {e}", entry.path().display())))?;
        }
    }
    Ok(())
}

/// In one transaction: the archive's row, the checkpoint event, the deletion of the archived
/// rows. Refused (and so rolled back whole) if the lease was lost or the anchor moved.
fn commit_segment(conn: &mut Conn, holder: &str, anchor: &(i64, String), written: &WrittenSegment) -> Result<()> {
    if !renew_lease(conn, holder)? {
        return Err(Error::Conflict("another replica took the audit archiving lease".into()));
    }
    if &db::audit::anchor(conn)? != anchor {
        return Err(Error::Conflict("another archive run archived these events first".into()));
    }
    let row = &written.row;
    audit_archive::insert_archive(conn, row)?;
    db::audit::append(conn, vec![checkpoint_event(row)])?;
    let deleted = audit_archive::delete_archived(conn, row.first_seq, row.last_seq, &row.last_hash)? as i64;
    if deleted != row.events {
        return Err(Error::Internal(format!(
            "archiving events {}..{} deleted {deleted} rows, not {}",
            row.first_seq, row.last_seq, row.events
        )));
    }
    Ok(())
}

/// The `audit.archive` event: names the segment and the last archived event, so that the live
/// chain itself records where it was cut and what hash it was cut at.
fn checkpoint_event(row: &ArchiveRow) -> NewEvent {
    NewEvent::new(Actor::system(), "audit.archive").target("audit_archive", &row.segment).changes(json!({
        "first_seq": row.first_seq,
        "last_seq": row.last_seq,
        "last_hash": row.last_hash,
        "events": row.events,
        "segment": row.segment,
        "segment_sha256": row.segment_sha256,
        "manifest_sha256": row.manifest_sha256,
        "key_id": row.kid,
    }))
}
