//! The log streams' delivery worker, one on every replica (ADR 0009). Like the outbox
//! ([`crate::outbox`]) it claims a due stream with an expiry, so two replicas never deliver one
//! stream at once and a crashed replica's claim lapses; unlike the outbox it queues nothing:
//! the audit chain is already an ordered, durable log, and each stream keeps only a cursor into
//! it. A batch is the next events after the cursor that match the stream's filter, in chain
//! order, POSTed as `{"events": […]}` and signed the Standard Webhooks way. A 2xx moves the
//! cursor to the batch's last event (in the statement that releases the claim); anything else
//! records the error and retries the same batch, with the same `webhook-id`, after an
//! exponential back-off. So delivery is at least once, in order, with nothing skipped, and a
//! batch comes twice only when its acknowledgement was lost.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::db::audit::Visibility;
use crate::db::log_streams::Failure;
use crate::db::{self, Conn, Db};
use crate::domain::crypto::MasterKey;
use crate::domain::log_streams::{self, LogStream};
use crate::error::{Error, Result};

/// Events per batch, at most.
pub const BATCH_SIZE: i64 = 100;
/// How long a claim holds: well beyond one request's timeout.
const CLAIM: chrono::Duration = chrono::Duration::seconds(60);
/// How long one delivery may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait between two attempts of a failing stream.
const MAX_BACKOFF_MS: i64 = 300_000;
/// How often an idle worker looks for new events.
const POLL: Duration = Duration::from_secs(1);

/// Starts the worker on a thread of its own.
pub fn start(db: Db, master: MasterKey) -> Result<()> {
    // Never follows a redirect: a receiver that moved is an error to fix, not a hop to take
    // with the audit log.
    let agent = ureq::AgentBuilder::new().redirects(0).timeout(REQUEST_TIMEOUT).user_agent("Gatehouse").build();
    std::thread::Builder::new()
        .name("log-streams".into())
        .spawn(move || loop {
            match deliver_due(&db, &master, &agent) {
                // Work was done: look again at once (a backlog drains batch after batch).
                Ok(progress) if progress > 0 => continue,
                Ok(_) => {}
                Err(e) => log::warn!("log streams: {e}"),
            }
            std::thread::sleep(POLL);
        })
        .map_err(Error::internal)?;
    Ok(())
}

/// One pass over the due streams; returns how many moved their cursor.
fn deliver_due(db: &Db, master: &MasterKey, agent: &ureq::Agent) -> Result<usize> {
    let mut conn = db.get()?;
    let now = db::now();
    let mut progress = 0;
    for id in db::log_streams::due(&mut conn, now, 20)? {
        // Claim it: another replica may be looking at the same stream.
        if !db::log_streams::claim(&mut conn, id, now, db::now() + CLAIM)? {
            continue;
        }
        match deliver_next(&mut conn, master, agent, id) {
            Ok(true) => progress += 1,
            Ok(false) => {}
            Err(e) => {
                log::warn!("log stream {id}: {e}");
                db::log_streams::release(&mut conn, id)?;
            }
        }
    }
    Ok(progress)
}

/// Delivers the claimed stream's next batch; true when its cursor moved. Releases the claim
/// unless it fails.
fn deliver_next(conn: &mut Conn, master: &MasterKey, agent: &ureq::Agent, id: Uuid) -> Result<bool> {
    let Some(stream) = db::log_streams::get(conn, id)? else {
        return Ok(false);
    };
    // A stream reads the whole chain: only for as long as its owner may (ADR 0009).
    if let Some(refusal) = log_streams::refusal(conn, &stream)? {
        let now = db::now();
        let failure = Failure {
            pending_last_seq: stream.pending_last_seq,
            attempts: stream.attempts,
            next_attempt_at: now + chrono::Duration::milliseconds(MAX_BACKOFF_MS),
            error: refusal,
            failing_since: stream.failing_since.unwrap_or(now),
        };
        db::log_streams::record_failure(conn, id, failure, now)?;
        return Ok(false);
    }
    // The head first: events commit in chain order, so every event up to it is visible to the
    // query that follows, and one that matched would be in the batch.
    let head = log_streams::chain_head(conn)?;
    let filter = log_streams::audit_filter(&stream.filter);
    let mut events = db::audit::list_after(conn, &Visibility::All, &filter, stream.cursor_seq, BATCH_SIZE)?;
    let mut whole = (events.len() as i64) < BATCH_SIZE;
    if let Some(pending) = stream.pending_last_seq {
        // A retry: the batch that failed, not one grown by the events appended since.
        events.retain(|e| e.seq <= pending);
        whole = false;
    }
    let (Some(first), Some(last)) = (events.first().map(|e| e.seq), events.last().map(|e| e.seq)) else {
        // Nothing matches up to the head: the cursor passes over what did not match.
        let moved =
            head > stream.cursor_seq && db::log_streams::advance(conn, id, stream.cursor_seq, head, false, db::now())?;
        if !moved {
            db::log_streams::release(conn, id)?;
        }
        return Ok(moved);
    };
    let batch: Vec<_> = events.into_iter().map(crate::domain::audit::to_api).collect::<Result<_>>()?;
    let body = serde_json::to_vec(&json!({ "events": batch })).map_err(Error::internal)?;
    let message_id = log_streams::batch_id(id, first, last);
    match post(agent, master, &stream, &message_id, &body) {
        Ok(()) => {
            // A batch that held every match up to the head also covers the events after it.
            let to = if whole { last.max(head) } else { last };
            let moved = db::log_streams::advance(conn, id, stream.cursor_seq, to, true, db::now())?;
            if !moved {
                // Not where the batch was read: leave the cursor to whoever moved it.
                db::log_streams::release(conn, id)?;
            }
            Ok(moved)
        }
        Err(error) => {
            let now = db::now();
            let attempts = stream.attempts.saturating_add(1);
            let backoff =
                chrono::Duration::milliseconds((500i64 << attempts.clamp(1, 20).saturating_sub(1)).min(MAX_BACKOFF_MS));
            log::warn!(
                "log stream {id}: batch {message_id} failed (attempt {attempts}), retrying in {} ms: {error}",
                backoff.num_milliseconds()
            );
            let error: String = error.chars().take(500).collect();
            let failure = Failure {
                pending_last_seq: Some(last),
                attempts,
                next_attempt_at: now + backoff,
                error: &error,
                failing_since: stream.failing_since.unwrap_or(now),
            };
            db::log_streams::record_failure(conn, id, failure, now)?;
            Ok(false)
        }
    }
}

/// POSTs one signed batch; the error says what went wrong, in words fit for the stream's status
/// (never the secret or the body).
fn post(
    agent: &ureq::Agent,
    master: &MasterKey,
    stream: &LogStream,
    message_id: &str,
    body: &[u8],
) -> Result<(), String> {
    let key = log_streams::signing_key(master, stream).map_err(|e| format!("cannot open the stream's secret: {e}"))?;
    let timestamp = chrono::Utc::now().timestamp();
    let signature = log_streams::signature(&key, message_id, timestamp, body);
    let response = agent
        .post(&stream.url)
        .set("content-type", "application/json")
        .set("webhook-id", message_id)
        .set("webhook-timestamp", &timestamp.to_string())
        .set("webhook-signature", &signature)
        .send_bytes(body);
    match response {
        Ok(response) if (200..300).contains(&response.status()) => Ok(()),
        Ok(response) => Err(format!("the receiver answered {} (redirects are not followed)", response.status())),
        Err(ureq::Error::Status(status, _)) => Err(format!("the receiver answered {status}")),
        Err(ureq::Error::Transport(transport)) => Err(format!("cannot reach the receiver: {transport}")),
    }
}
