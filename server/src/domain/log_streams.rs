//! Log streams: the audit chain pushed to a receiver (a SIEM, a log pipeline) in batches signed
//! the Standard Webhooks way. Here are the rules of managing a stream (who may, what a URL and a
//! filter may be, what goes on record), its secret and how a batch is signed; the stored rows
//! are [`crate::db::log_streams`]'s and the delivery worker is [`crate::log_streams`].
//!
//! Reading a stream needs `audit:read@*` and changing one `audit:write@*`: a stream receives
//! every event of the chain (its filter narrows, never widens), so it is for those who may read
//! all of them. Whoever points a stream somewhere (creates it, changes its URL or filter,
//! enables it) must hold `audit:read@*` too, and becomes its owner: the stream delivers only
//! while its owner account holds `audit:read@*` and is enabled, so that losing the grant stops
//! the events, as it stops the owner's clients (nobody keeps power they no longer hold).

use base64::Engine;
use gatehouse_api_types::grant::{self, ANY};
use gatehouse_api_types::{
    LogStream as ApiLogStream, LogStreamCreate, LogStreamFilter, LogStreamPatch, LogStreamStatus,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

use super::audit::{NewEvent, REDACTED};
use super::crypto::MasterKey;
use super::{Context, PageRequest};
use crate::db::audit::{Filter, Visibility};
pub use crate::db::log_streams::LogStream;
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// The prefix of a Standard Webhooks secret; the rest is the base64 of the key.
const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// What the secret is sealed to: a sealed secret copied to another stream's row does not open.
fn seal_context(id: Uuid) -> String {
    format!("log_stream:{id}")
}

/// The stream's signing key (the bytes behind `whsec_`).
pub fn signing_key(master: &MasterKey, stream: &LogStream) -> Result<Vec<u8>> {
    let secret = String::from_utf8(master.open(&seal_context(stream.id), &stream.secret)?).map_err(Error::internal)?;
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| Error::internal("a stream secret lacks whsec_"))?;
    base64::engine::general_purpose::STANDARD.decode(encoded).map_err(Error::internal)
}

/// `webhook-signature`: `v1,` and the base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`.
pub fn signature(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(format!("{message_id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// `webhook-id` of the batch of events `first..=last`: the same on every retry of that batch, so
/// a receiver can drop a batch it already has.
pub fn batch_id(stream: Uuid, first: i64, last: i64) -> String {
    format!("{stream}:{first}-{last}")
}

/// The audit query of a stream's filter.
pub fn audit_filter(filter: &LogStreamFilter) -> Filter {
    Filter {
        actor: filter.actor.clone(),
        target: filter.target.clone(),
        action: filter.action.clone(),
        namespace: filter.namespace.clone(),
        outcome: filter.outcome.clone(),
        ..Filter::default()
    }
}

/// The sequence number of the newest event of the chain (0 when it is empty).
pub fn chain_head(conn: &mut Conn) -> Result<i64> {
    let newest = db::audit::list(conn, &Visibility::All, &Filter::default(), None, 1)?;
    Ok(newest.first().map(|e| e.seq).unwrap_or(0))
}

/// Why a stream may not deliver now, if it may not: its owner account is gone, disabled, or no
/// longer holds `audit:read@*`.
pub fn refusal(conn: &mut Conn, stream: &LogStream) -> Result<Option<&'static str>> {
    let Some(owner) = stream.owner_account_id else {
        return Ok(Some("the stream's owner account no longer exists (a caller holding audit:read@* takes it over by setting its url)"));
    };
    Ok(match db::accounts::get(conn, db::ids::AccountId(owner))? {
        None => Some("the stream's owner account no longer exists (a caller holding audit:read@* takes it over by setting its url)"),
        Some(account) if account.disabled => Some("the stream's owner account is disabled"),
        Some(account) if !grant::allows(&account.power(), "audit", "read", ANY) => {
            Some("the stream's owner no longer holds audit:read@*")
        }
        Some(_) => None,
    })
}

pub fn to_api(stream: &LogStream) -> ApiLogStream {
    ApiLogStream {
        id: stream.id,
        name: stream.name.clone(),
        owner_account_id: stream.owner_account_id,
        url: stream.url.clone(),
        filter: stream.filter.clone(),
        disabled: stream.disabled,
        created_at: stream.created_at,
        updated_at: stream.updated_at,
        status: LogStreamStatus {
            last_delivered_seq: stream.cursor_seq,
            last_attempt_at: stream.last_attempt_at,
            last_success_at: stream.last_success_at,
            last_error: stream.last_error.clone(),
            failing_since: stream.failing_since,
            attempts: stream.attempts,
            next_attempt_at: stream.next_attempt_at,
        },
    }
}

/// What the audit log records of a stream: never its secret.
fn audit_view(stream: &LogStream) -> Value {
    json!({
        "name": stream.name,
        "owner_account_id": stream.owner_account_id,
        "url": stream.url,
        "filter": stream.filter,
        "disabled": stream.disabled,
    })
}

fn event(ctx: &Context, action: &str, id: Uuid) -> NewEvent {
    ctx.event(action).target("log_stream", id)
}

fn not_found(id: Uuid) -> Error {
    Error::NotFound(format!("no log stream {id}"))
}

/// The URL a batch goes to: checked again with a real URL parser (the request type's check is
/// a first pass shared with the console).
fn check_url(url: &str) -> Result<()> {
    gatehouse_api_types::stream_url(url)
        .map_err(|e| Error::invalid("url", e.message.map(|m| m.to_string()).unwrap_or_else(|| "is invalid".into())))?;
    let parsed = url::Url::parse(url).map_err(|e| Error::invalid("url", format!("is not a URL: {e}")))?;
    if parsed.host().is_none() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid("url", "must name a host and carry no credentials"));
    }
    Ok(())
}

/// A filter's action must be an action or a prefix of one (`x.` or `x*`).
fn check_filter(filter: &LogStreamFilter) -> Result<()> {
    if let Some(action) = &filter.action {
        let name = action.strip_suffix('*').unwrap_or(action);
        let valid = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !valid {
            return Err(Error::invalid(
                "filter.action",
                "must be an action such as user.create, or a prefix ending in . or *",
            ));
        }
    }
    Ok(())
}

/// Creates a stream with `secret` (sealed here). It starts after `start_after_seq`, or at the
/// chain's current head: it receives what happens from now on, its own creation first.
pub fn create(
    conn: &mut Conn,
    ctx: &Context,
    master: &MasterKey,
    input: LogStreamCreate,
    secret: &str,
) -> Result<LogStream> {
    ctx.caller.authorize("audit", "write", ANY)?;
    ctx.caller.authorize("audit", "read", ANY)?;
    check_url(&input.url)?;
    check_filter(&input.filter)?;
    let head = chain_head(conn)?;
    let cursor_seq = match input.start_after_seq {
        Some(seq) if seq > head => {
            return Err(Error::invalid("start_after_seq", format!("is beyond the chain's head ({head})")))
        }
        Some(seq) => seq,
        None => head,
    };
    let id = Uuid::now_v7();
    let now = db::now();
    let stream = LogStream {
        id,
        name: input.name,
        owner_account_id: Some(ctx.caller.acting_account_id()),
        url: input.url,
        filter: input.filter,
        secret: master.seal(&seal_context(id), secret.as_bytes())?,
        disabled: false,
        created_at: now,
        updated_at: now,
        cursor_seq,
        pending_last_seq: None,
        attempts: 0,
        next_attempt_at: now,
        last_attempt_at: None,
        last_success_at: None,
        failing_since: None,
        last_error: None,
    };
    db::log_streams::insert(conn, &stream)?;
    let mut after = audit_view(&stream);
    after["secret"] = json!(REDACTED);
    after["start_after_seq"] = json!(cursor_seq);
    db::audit::append(conn, vec![event(ctx, "log_stream.create", id).diff(None, Some(after))])?;
    Ok(stream)
}

pub fn get(conn: &mut Conn, ctx: &Context, id: Uuid) -> Result<LogStream> {
    ctx.caller.authorize("audit", "read", ANY)?;
    db::log_streams::get(conn, id)?.ok_or_else(|| not_found(id))
}

pub fn list(conn: &mut Conn, ctx: &Context, page: &PageRequest) -> Result<(Vec<LogStream>, Option<String>)> {
    ctx.caller.authorize("audit", "read", ANY)?;
    let rows = db::log_streams::list(conn, page.after.as_deref(), page.fetch_limit())?;
    Ok(page.finish(rows, |s| s.id.to_string()))
}

/// Changes name, URL, filter or `disabled`. Re-enabling (or a new URL) retries at once, from
/// the cursor: nothing is skipped.
pub fn update(conn: &mut Conn, ctx: &Context, id: Uuid, patch: LogStreamPatch) -> Result<LogStream> {
    ctx.caller.authorize("audit", "write", ANY)?;
    let mut stream = db::log_streams::get(conn, id)?.ok_or_else(|| not_found(id))?;
    let before = audit_view(&stream);
    let enabling = stream.disabled && patch.disabled == Some(false);
    if patch.url.is_some() || patch.filter.is_some() || enabling {
        // Where the events go, and which: the caller must be able to read them all itself.
        ctx.caller.authorize("audit", "read", ANY)?;
        stream.owner_account_id = Some(ctx.caller.acting_account_id());
    }
    if let Some(url) = patch.url {
        check_url(&url)?;
        stream.url = url;
        stream.attempts = 0;
    }
    if let Some(filter) = patch.filter {
        check_filter(&filter)?;
        stream.filter = filter;
        // The failed batch was of the old filter: the next one is read afresh.
        stream.pending_last_seq = None;
    }
    if let Some(name) = patch.name {
        stream.name = name;
    }
    if let Some(disabled) = patch.disabled {
        if stream.disabled && !disabled {
            stream.attempts = 0;
        }
        stream.disabled = disabled;
    }
    let after = audit_view(&stream);
    if before == after {
        return Ok(stream);
    }
    stream.updated_at = db::now();
    if stream.attempts == 0 {
        stream.next_attempt_at = stream.updated_at;
    }
    db::log_streams::update(conn, &stream)?;
    db::audit::append(conn, vec![event(ctx, "log_stream.update", id).diff(Some(before), Some(after))])?;
    Ok(stream)
}

pub fn delete(conn: &mut Conn, ctx: &Context, id: Uuid) -> Result<()> {
    ctx.caller.authorize("audit", "write", ANY)?;
    let stream = db::log_streams::get(conn, id)?.ok_or_else(|| not_found(id))?;
    db::log_streams::delete(conn, id)?;
    db::audit::append(conn, vec![event(ctx, "log_stream.delete", id).diff(Some(audit_view(&stream)), None)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn signatures_follow_standard_webhooks() {
        let key = base64::engine::general_purpose::STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_whsec_with_a_32_byte_key() {
        let secret = new_secret();
        let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 32);
        assert_ne!(secret, new_secret());
    }
}
