//! The transactional outbox. A message (a one-time code, a notice) is written in the same
//! transaction as the change that needs it, so none is sent for a rolled-back registration and
//! none is lost when a sender is down. A worker on every replica claims due messages (a
//! claim expires, so a crashed replica's messages are picked up again), sends them by SMTP or
//! to an SMS webhook, and retries with back-off. Bodies are sealed with the master key at rest
//! and erased once sent.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::db::schema::outbox;
use crate::db::{self, Conn, Db};
use crate::domain::crypto::MasterKey;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// Queues a message inside the caller's transaction.
pub fn enqueue(
    conn: &mut Conn,
    master: &MasterKey,
    channel: Channel,
    recipient: &str,
    subject: &str,
    body: &str,
) -> Result<()> {
    let id = uuid::Uuid::now_v7().to_string();
    let sealed = master.seal(&format!("outbox:{id}"), body.as_bytes())?;
    let now = db::to_db_time(db::now());
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&id),
            outbox::channel.eq(channel.as_str()),
            outbox::recipient.eq(recipient),
            outbox::subject.eq(subject),
            outbox::body.eq(sealed),
            outbox::created_at.eq(now),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// How long a delivered message's row (recipient, subject, time, attempts; the body is already
/// erased) stays, to answer "was my code sent?".
pub const KEEP_DELIVERED: chrono::Duration = chrono::Duration::days(7);

/// Deletes up to `limit` messages delivered before `before`; returns how many.
/// Safe: the worker only reads undelivered messages, and those are never deleted, however old.
pub fn delete_delivered(conn: &mut Conn, before: chrono::DateTime<chrono::Utc>, limit: i64) -> Result<usize> {
    let delivered = outbox::sent_at.lt(db::to_db_time(before));
    db::delete_batch!(conn, outbox, id, delivered, limit)
}

/// Where messages go.
#[derive(Debug, Clone, Default)]
pub struct Senders {
    /// `smtp://[user:password@]host:port` (plain, e.g. a local relay), `smtp://…?tls=required`
    /// (STARTTLS) or `smtps://…`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Receives `POST {"to": "+1…", "body": "…"}`.
    pub sms_webhook: Option<String>,
    pub sms_webhook_token: Option<String>,
}

struct Due {
    id: String,
    channel: String,
    recipient: String,
    subject: String,
    body: Vec<u8>,
    attempts: i32,
}

/// Starts the delivery worker; `wake` makes it look at once (after a commit that queued).
pub fn start(db: Db, master: MasterKey, senders: Senders) -> Result<Arc<tokio::sync::Notify>> {
    let wake = Arc::new(tokio::sync::Notify::new());
    let notified = wake.clone();
    let mailer = match &senders.smtp_url {
        Some(url) => Some(
            lettre::SmtpTransport::from_url(url)
                .map_err(|e| Error::bad_request(format!("invalid --smtp-url: {e}")))?
                .timeout(Some(Duration::from_secs(10)))
                .build(),
        ),
        None => None,
    };
    std::thread::Builder::new()
        .name("outbox".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("outbox runtime");
            loop {
                match deliver_due(&db, &master, &senders, mailer.as_ref()) {
                    Ok(0) | Err(_) => {}
                    Ok(n) => log::info!("outbox: delivered {n} message(s)"),
                }
                runtime.block_on(async {
                    let _ = tokio::time::timeout(Duration::from_secs(1), notified.notified()).await;
                });
            }
        })
        .map_err(Error::internal)?;
    Ok(wake)
}

/// Sends what is due; returns how many were sent.
fn deliver_due(
    db: &Db,
    master: &MasterKey,
    senders: &Senders,
    mailer: Option<&lettre::SmtpTransport>,
) -> Result<usize> {
    let mut conn = db.get()?;
    let now = db::now();
    let now_db = db::to_db_time(now);
    let due: Vec<(String, String, String, String, Vec<u8>, i32)> = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::next_attempt_at.le(now_db))
        .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.lt(now_db)))
        .order(outbox::next_attempt_at.asc())
        .limit(20)
        .select((outbox::id, outbox::channel, outbox::recipient, outbox::subject, outbox::body, outbox::attempts))
        .load(&mut conn)?;
    let mut sent = 0;
    for (id, channel, recipient, subject, body, attempts) in due {
        // Claim it: another replica may be looking at the same row.
        let claim_until: NaiveDateTime = db::to_db_time(now + chrono::Duration::seconds(60));
        let claimed = diesel::update(
            outbox::table
                .find(&id)
                .filter(outbox::sent_at.is_null())
                .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.lt(now_db))),
        )
        .set(outbox::claimed_until.eq(claim_until))
        .execute(&mut conn)?;
        if claimed == 0 {
            continue;
        }
        let message = Due { id, channel, recipient, subject, body, attempts };
        match send(master, senders, mailer, &message) {
            Ok(()) => {
                diesel::update(outbox::table.find(&message.id))
                    .set((
                        outbox::sent_at.eq(db::to_db_time(db::now())),
                        outbox::body.eq(Vec::<u8>::new()),
                        outbox::last_error.eq(None::<String>),
                    ))
                    .execute(&mut conn)?;
                sent += 1;
            }
            Err(e) => {
                let attempts = message.attempts + 1;
                let backoff = chrono::Duration::seconds(2i64.pow(attempts.clamp(0, 9) as u32).min(600));
                log::warn!(
                    "outbox: {} to {} failed (attempt {attempts}), retrying in {}s: {e}",
                    message.channel,
                    redact(&message.recipient),
                    backoff.num_seconds()
                );
                diesel::update(outbox::table.find(&message.id))
                    .set((
                        outbox::attempts.eq(attempts),
                        outbox::next_attempt_at.eq(db::to_db_time(db::now() + backoff)),
                        outbox::claimed_until.eq(None::<NaiveDateTime>),
                        outbox::last_error.eq(Some(e.to_string().chars().take(500).collect::<String>())),
                    ))
                    .execute(&mut conn)?;
            }
        }
    }
    Ok(sent)
}

fn send(master: &MasterKey, senders: &Senders, mailer: Option<&lettre::SmtpTransport>, message: &Due) -> Result<()> {
    let body =
        String::from_utf8(master.open(&format!("outbox:{}", message.id), &message.body)?).map_err(Error::internal)?;
    match message.channel.as_str() {
        "email" => {
            let mailer = mailer.ok_or_else(|| Error::Unavailable("no SMTP server configured (--smtp-url)".into()))?;
            let email = lettre::Message::builder()
                .from(senders.mail_from.parse().map_err(|e| Error::bad_request(format!("invalid --mail-from: {e}")))?)
                .to(message.recipient.parse().map_err(|e| Error::bad_request(format!("invalid recipient: {e}")))?)
                .subject(&message.subject)
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(body)
                .map_err(Error::internal)?;
            use lettre::Transport;
            mailer.send(&email).map_err(|e| Error::Unavailable(format!("SMTP: {e}")))?;
            Ok(())
        }
        "sms" => {
            let url = senders
                .sms_webhook
                .as_deref()
                .ok_or_else(|| Error::Unavailable("no SMS webhook configured (--sms-webhook-url)".into()))?;
            let mut request = ureq::post(url).timeout(Duration::from_secs(10));
            if let Some(token) = &senders.sms_webhook_token {
                request = request.set("Authorization", &format!("Bearer {token}"));
            }
            request
                .send_json(json!({ "to": message.recipient, "body": body }))
                .map_err(|e| Error::Unavailable(format!("SMS webhook: {e}")))?;
            Ok(())
        }
        other => Err(Error::internal(format!("unknown outbox channel {other}"))),
    }
}

/// An address or number shortened for logs.
fn redact(recipient: &str) -> String {
    let keep: String = recipient.chars().take(3).collect();
    format!("{keep}***")
}
