//! Bulk import of accounts: a JSON array or NDJSON, up to 100,000 rows. Every row is checked
//! on its own and reported by index when it fails; the good rows are created in chunks of one
//! transaction each, a few multi-row statements per chunk that skip a row whose sign-in name is
//! taken (as if each row were inserted alone), so one bad row never fails the others.

use std::collections::VecDeque;
use std::sync::Arc;

use gatehouse_api_types::{AccountImport, FieldError, ImportResult, ImportRowError};
use serde::de::DeserializeOwned;
use validator::Validate;

use super::accounts::{self, row_error, ImportRow};
use super::hashing::HashPool;
use super::password;
use super::Context;
use crate::db::{self, Db};
use crate::error::{Error, Result};

pub const MEDIA_TYPES: [&str; 4] =
    ["application/json", "application/x-ndjson", "application/ndjson", "application/jsonl"];
pub const MAX_ROWS: usize = 100_000;
/// Plain passwords cost an argon2 hash each (tens of milliseconds); bulk loads bring hashes.
pub const MAX_PLAIN_PASSWORDS: usize = 1_000;
const CHUNK: usize = 1_000;
const HASH_CONCURRENCY: usize = 32;

/// One input row: its position, and the row or why it cannot be read.
pub struct Parsed {
    pub index: u64,
    pub row: std::result::Result<AccountImport, Vec<FieldError>>,
}

/// `rows` in chunks of [`CHUNK`], in order.
fn chunks_of(rows: Vec<ImportRow>) -> impl Iterator<Item = Vec<ImportRow>> {
    let mut rest = rows.into_iter().peekable();
    std::iter::from_fn(move || rest.peek().is_some().then(|| rest.by_ref().take(CHUNK).collect()))
}

/// Splits the body into rows (0-based array positions, or lines for NDJSON) and checks each.
pub fn parse(body: &[u8], ndjson: bool) -> Result<Vec<Parsed>> {
    let rows: Vec<Parsed> = if ndjson {
        body.split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
            .map(|(index, line)| Parsed { index: index as u64, row: read_line(line) })
            .collect()
    } else {
        let values: Vec<serde_json::Value> = serde_json::from_slice(body)
            .map_err(|e| Error::invalid("body", format!("must be a JSON array of accounts (or NDJSON): {e}")))?;
        values
            .into_iter()
            .enumerate()
            .map(|(index, value)| Parsed { index: index as u64, row: read_row(value) })
            .collect()
    };
    if rows.len() > MAX_ROWS {
        return Err(Error::invalid("body", format!("at most {MAX_ROWS} accounts per import")));
    }
    Ok(rows)
}

fn read_line(line: &[u8]) -> std::result::Result<AccountImport, Vec<FieldError>> {
    let value: serde_json::Value = serde_json::from_slice(line)
        .map_err(|e| vec![FieldError { field: "row".into(), message: format!("is not valid JSON ({e})") }])?;
    read_row(value)
}

fn read_row<'de, D: serde::Deserializer<'de>>(source: D) -> std::result::Result<AccountImport, Vec<FieldError>>
where
    AccountImport: DeserializeOwned,
{
    let row: AccountImport = serde_path_to_error::deserialize(source).map_err(|e| {
        let field = match e.path().to_string() {
            path if path == "." || path == "?" => "row".to_owned(),
            path => path,
        };
        vec![FieldError { field, message: without_position(&e.into_inner().to_string()) }]
    })?;
    if let Err(e) = row.validate() {
        return Err(row_error(0, Error::from(e)).errors);
    }
    if row.password.is_some() && row.password_hash.is_some() {
        return Err(vec![FieldError {
            field: "password_hash".into(),
            message: "give password or password_hash, not both".into(),
        }]);
    }
    if let Some(hash) = &row.password_hash {
        password::check_importable(hash)
            .map_err(|message| vec![FieldError { field: "password_hash".into(), message }])?;
    }
    Ok(row)
}

fn without_position(message: &str) -> String {
    message.find(" at line ").map(|i| message[..i].to_owned()).unwrap_or_else(|| message.to_owned())
}

/// A chunk's outcome: how many accounts it created, and the rows it refused.
type Written = (u64, Vec<ImportRowError>);

pub async fn run(
    db: &Db,
    hasher: &HashPool,
    ctx: Arc<Context>,
    namespace: &str,
    rows: Vec<Parsed>,
) -> Result<ImportResult> {
    let mut errors = Vec::new();
    let mut ready = Vec::with_capacity(rows.len());
    let mut plain = Vec::new();
    for parsed in rows {
        match parsed.row {
            Err(field_errors) => errors.push(ImportRowError { index: parsed.index, errors: field_errors }),
            Ok(row) => match &row.password {
                Some(_) if plain.len() >= MAX_PLAIN_PASSWORDS => errors.push(ImportRowError {
                    index: parsed.index,
                    errors: vec![FieldError {
                        field: "password".into(),
                        message: format!(
                            "at most {MAX_PLAIN_PASSWORDS} plain passwords per import; send password_hash instead"
                        ),
                    }],
                }),
                Some(secret) => plain.push((parsed.index, row.account(), secret.clone())),
                None => ready.push(ImportRow {
                    index: parsed.index,
                    account: row.account(),
                    password_hash: row.password_hash,
                }),
            },
        }
    }
    for group in plain.chunks(HASH_CONCURRENCY) {
        let hashes =
            futures_util::future::join_all(group.iter().map(|(_, _, secret)| hasher.hash(secret.clone()))).await;
        for ((index, account, _), hash) in group.iter().zip(hashes) {
            ready.push(ImportRow { index: *index, account: account.clone(), password_hash: Some(hash?) });
        }
    }
    ready.sort_by_key(|r| r.index);

    // Each chunk is made ready (its accounts and events built) on one blocking thread while the
    // chunks before it are written: the server's work and the database's overlap.
    let prepare = |rows: Vec<ImportRow>| {
        let (ctx, ns) = (ctx.clone(), namespace.to_owned());
        db::blocking(move || accounts::prepare_import(&ctx, &ns, rows))
    };
    let mut created = 0;
    let mut chunks = chunks_of(ready);
    let mut prepared = match chunks.next() {
        Some(rows) => Some(prepare(rows).await?),
        None => None,
    };
    // Chunks are written in order, two at a time at most (`Db::write_chunk`): the next one's
    // accounts go in while this one appends its events and commits.
    let mut writing: VecDeque<db::ChunkDone<Written>> = VecDeque::new();
    let mut previous = None;
    while let Some(current) = prepared.take() {
        let (ctx, ns) = (ctx.clone(), namespace.to_owned());
        let chunk = db
            .write_chunk(
                previous.take(),
                move |conn| accounts::insert_prepared(conn, &ctx, &ns, current),
                accounts::record_inserted,
            )
            .await?;
        previous = Some(chunk.committed);
        writing.push_back(chunk.done);
        let next = match chunks.next() {
            Some(rows) => Some(prepare(rows).await?),
            None => None,
        };
        // The next chunk starts once this one's accounts are in and the one before it is done.
        // A chunk that failed before its accounts were in is awaited too: its error answers.
        let keep = usize::from(chunk.inserted.await.is_ok());
        while writing.len() > keep {
            let (made, failed) = writing.pop_front().expect("a chunk is being written").await?;
            created += made;
            errors.extend(failed);
        }
        prepared = next;
    }
    while let Some(done) = writing.pop_front() {
        let (made, failed) = done.await?;
        created += made;
        errors.extend(failed);
    }
    errors.sort_by_key(|e| e.index);
    let failed = errors.len() as u64;
    let summary = ctx
        .event("user.import")
        .namespace(namespace)
        .changes(serde_json::json!({ "created": created, "failed": failed }));
    db.write(move |conn| db::audit::append(conn, vec![summary])).await?;
    Ok(ImportResult { created, failed, errors })
}
