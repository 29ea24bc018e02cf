//! Reading the audit log: who sees which events.

use gatehouse_api_types::grant::ANY;

use super::audit::StoredEvent;
use super::{Context, PageRequest};
use crate::db::audit::{Filter, Visibility};
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// `audit:read@*` sees everything; otherwise the namespaces the caller holds `audit:read` on,
/// plus the events by or about the caller, its owner account and that account's clients.
pub fn visibility(ctx: &Context) -> Visibility {
    let caller = &ctx.caller;
    if caller.may("audit", "read", ANY) {
        return Visibility::All;
    }
    let namespaces = caller
        .effective
        .iter()
        .map(|g| g.namespace())
        .filter(|ns| *ns != ANY && caller.may("audit", "read", ns))
        .map(str::to_owned)
        .collect();
    let account_id = caller.acting_account_id().to_string();
    let mut own_ids = vec![account_id.clone()];
    if caller.id().to_string() != account_id {
        own_ids.push(caller.id().to_string());
    }
    Visibility::Limited { namespaces, account_id, own_ids }
}

pub fn list(
    conn: &mut Conn,
    ctx: &Context,
    filter: &Filter,
    page: &PageRequest,
) -> Result<(Vec<StoredEvent>, Option<String>)> {
    let before = page
        .after
        .as_deref()
        .map(|s| s.parse::<i64>().map_err(|_| Error::invalid("page_token", "is not a page token from this list")))
        .transpose()?;
    let rows = db::audit::list(conn, &visibility(ctx), filter, before, page.fetch_limit())?;
    Ok(page.finish(rows, |e| e.seq.to_string()))
}
