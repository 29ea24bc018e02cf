//! The transactional outbox. A message (a one-time code, a notice, a logout token) is written in
//! the same transaction as the change that needs it, so none is sent for a rolled-back
//! registration and none is lost when a sender is down. A worker on every replica claims due
//! messages (a claim expires, so a crashed replica's messages are picked up again), sends them
//! by SMTP, to an SMS webhook or (logout tokens, [`backchannel_logout`]) to a client's
//! `backchannel_logout_uri`, and retries with back-off. Mail and SMS bodies are sealed with the
//! master key at rest; every body is erased once sent. Each logout token's delivery, and each
//! failed attempt, is an `oauth.backchannel_logout` audit event.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::db::outbox::{DueMessage, NewMessage};
use crate::db::{self, Conn, Db};
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::domain::backchannel_logout;
use crate::domain::crypto::MasterKey;
use crate::domain::signing_keys::{jwt_algorithm, KeyStore};
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
    let message = NewMessage { id: &id, channel: channel.as_str(), recipient, subject, body: sealed };
    db::outbox::insert(conn, message, db::now())
}

/// How long a delivered message's row (recipient, subject, time, attempts; the body is already
/// erased) stays, to answer "was my code sent?".
pub const KEEP_DELIVERED: chrono::Duration = chrono::Duration::days(7);

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

/// What delivering logout tokens needs: the keys that sign ID tokens, and the issuer.
pub struct LogoutSigner {
    pub keys: KeyStore,
    pub issuer: String,
}

/// Starts the delivery worker; `wake` makes it look at once (after a commit that queued).
pub fn start(db: Db, master: MasterKey, senders: Senders, logout: LogoutSigner) -> Result<Arc<tokio::sync::Notify>> {
    let wake = Arc::new(tokio::sync::Notify::new());
    let notified = wake.clone();
    // Never follows a redirect: a logout token goes to the registered URI only.
    let agent = ureq::AgentBuilder::new().redirects(0).timeout(Duration::from_secs(10)).user_agent("Gatehouse").build();
    let logout = (logout, agent);
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
                match deliver_due(&db, &master, &senders, mailer.as_ref(), &logout) {
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
    logout: &(LogoutSigner, ureq::Agent),
) -> Result<usize> {
    let mut conn = db.get()?;
    let now = db::now();
    let mut sent = 0;
    for message in db::outbox::due(&mut conn, now, 20)? {
        // Claim it: another replica may be looking at the same row.
        if !db::outbox::claim(&mut conn, &message.id, now, now + chrono::Duration::seconds(60))? {
            continue;
        }
        let outcome = if message.channel == backchannel_logout::CHANNEL {
            send_logout_token(&mut conn, logout, &message)
        } else {
            send(master, senders, mailer, &message)
        };
        if message.channel == backchannel_logout::CHANNEL {
            audit_logout_delivery(db, &mut conn, &message, &outcome)?;
        }
        match outcome {
            Ok(()) => {
                db::outbox::mark_sent(&mut conn, &message.id, db::now())?;
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
                let error = e.to_string().chars().take(500).collect::<String>();
                db::outbox::schedule_retry(&mut conn, &message.id, attempts, db::now() + backoff, error)?;
            }
        }
    }
    Ok(sent)
}

fn send(
    master: &MasterKey,
    senders: &Senders,
    mailer: Option<&lettre::SmtpTransport>,
    message: &DueMessage,
) -> Result<()> {
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

/// Signs a queued logout token (with the ID tokens' key) and POSTs it as `logout_token=` form;
/// any 2xx acknowledges it.
fn send_logout_token(
    conn: &mut Conn,
    (signer, agent): &(LogoutSigner, ureq::Agent),
    message: &DueMessage,
) -> Result<()> {
    let claims = backchannel_logout::claims(&message.body, &signer.issuer, db::now())?;
    let key = signer.keys.signing(conn, gatehouse_api_types::SigningAlg::RS256)?;
    let mut header = jsonwebtoken::Header::new(jwt_algorithm(key.alg));
    header.kid = Some(key.kid.clone());
    header.typ = Some(backchannel_logout::TYP.into());
    let token = key.sign(&header, &claims)?;
    match agent.post(&message.recipient).send_form(&[("logout_token", token.as_str())]) {
        Ok(response) if (200..300).contains(&response.status()) => Ok(()),
        Ok(response) => Err(Error::Unavailable(format!("the client answered {}", response.status()))),
        Err(ureq::Error::Status(status, _)) => Err(Error::Unavailable(format!("the client answered {status}"))),
        Err(e) => Err(Error::Unavailable(format!("cannot reach the client: {e}"))),
    }
}

/// Puts a logout token's delivery (or failed attempt) on record.
fn audit_logout_delivery(db: &Db, conn: &mut Conn, message: &DueMessage, outcome: &Result<()>) -> Result<()> {
    let (client, mut changes) = backchannel_logout::described(&message.subject, &message.body);
    changes["attempt"] = json!(message.attempts + 1);
    changes["backchannel_logout_uri"] = json!(message.recipient);
    let mut event = NewEvent::new(Actor::system(), "oauth.backchannel_logout");
    if let Some(client) = client {
        event = event.target("client", client);
    }
    event = match outcome {
        Ok(()) => event,
        Err(e) => {
            changes["error"] = json!(e.to_string().chars().take(300).collect::<String>());
            event.outcome(Outcome::Failure)
        }
    };
    let event = event.changes(changes);
    db.write_blocking(conn, |conn| db::audit::append(conn, vec![event]))
}

/// An address or number shortened for logs.
fn redact(recipient: &str) -> String {
    let keep: String = recipient.chars().take(3).collect();
    format!("{keep}***")
}
