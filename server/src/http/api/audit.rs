use actix_web::HttpResponse;
use gatehouse_api_types::{AuditEvent, AuditListParams, AuditVerification, Page};

use crate::db::audit::{ChainStatus, Filter};
use crate::domain::audit;
use crate::domain::{audit_access, PageRequest};
use crate::error::{Error, Result};
use crate::http::auth::Api;
use crate::http::extract::Query;

/// Audit events, newest first. With `audit:read@*` all of them; otherwise those in namespaces
/// the caller holds `audit:read` on, and always those by or about the caller and its clients.
#[utoipa::path(
    get,
    path = "/api/v1/audit-events",
    tag = "audit",
    operation_id = "list_audit_events",
    params(AuditListParams),
    responses((status = 200, body = Page<AuditEvent>))
)]
pub async fn list(api: Api, query: Query<AuditListParams>) -> Result<HttpResponse> {
    let q = query.0;
    let page = PageRequest::new(q.page_size, q.page_token.as_deref())?;
    if let Some(outcome) = &q.outcome {
        if !matches!(outcome.as_str(), "success" | "denied" | "failure") {
            return Err(Error::invalid("outcome", "must be success, denied or failure"));
        }
    }
    let filter = Filter {
        actor: q.actor,
        target: q.target,
        action: q.action,
        namespace: q.namespace,
        outcome: q.outcome,
        since: q.since,
        until: q.until,
        involving: q.involving,
    };
    // Events of requests already answered by this replica may still be queued: commit them
    // first, so that a caller always finds the events of its own earlier requests.
    api.state.audit.flush().await?;
    let (events, next_page_token) = api.read(move |conn, ctx| audit_access::list(conn, ctx, &filter, &page)).await?;
    Ok(HttpResponse::Ok()
        .json(Page { items: events.into_iter().map(audit::to_api).collect::<Result<Vec<_>>>()?, next_page_token }))
}

/// Walks the whole hash chain (needs `audit:read@*`), as `gatehouse audit verify` does.
#[utoipa::path(
    get,
    path = "/api/v1/audit-events:verify",
    tag = "audit",
    operation_id = "verify_audit_chain",
    responses((status = 200, body = AuditVerification))
)]
pub async fn verify(api: Api) -> Result<HttpResponse> {
    api.state.audit.flush().await?;
    let status = api
        .read(|conn, ctx| {
            ctx.caller.authorize("audit", "read", "*")?;
            crate::db::audit::verify(conn)
        })
        .await?;
    Ok(HttpResponse::Ok().json(match status {
        ChainStatus::Intact { events } => {
            AuditVerification { intact: true, events_verified: events, first_broken_link: None }
        }
        ChainStatus::Broken { checked, reason } => {
            AuditVerification { intact: false, events_verified: checked, first_broken_link: Some(reason) }
        }
    }))
}

/// Audit events in chain order as NDJSON (one event per line, as the list shows them), for bulk
/// pulls: after `after_seq`, with the list's filters and the same visibility. Read from the
/// database a page at a time while the response is sent, so memory stays bounded whatever the
/// size of the log; resume an interrupted pull with the `seq` of the last line received.
#[utoipa::path(
    get,
    path = "/api/v1/audit-events:export",
    tag = "audit",
    operation_id = "export_audit_events",
    params(gatehouse_api_types::AuditExportParams),
    responses((status = 200, description = "One audit event per line", content_type = "application/x-ndjson", body = AuditEvent))
)]
pub async fn export(api: Api, query: Query<gatehouse_api_types::AuditExportParams>) -> Result<HttpResponse> {
    /// Events read and serialised per step of the response.
    const PAGE: i64 = 1000;
    let q = query.0;
    let filter = Filter {
        actor: q.actor,
        target: q.target,
        action: q.action,
        namespace: q.namespace,
        outcome: q.outcome,
        since: q.since,
        until: q.until,
        involving: q.involving,
    };
    api.state.audit.flush().await?;
    let visibility = audit_access::visibility(&*api.context().await?);
    let db = api.state.db.clone();
    let pages = futures_util::stream::unfold(Some(q.after_seq.unwrap_or(0)), move |after| {
        let (db, visibility, filter) = (db.clone(), visibility.clone(), filter.clone());
        async move {
            let after = after?;
            let page = db
                .run(move |conn| {
                    let events = crate::db::audit::list_after(conn, &visibility, &filter, after, PAGE)?;
                    let next = if events.len() < PAGE as usize { None } else { events.last().map(|e| e.seq) };
                    let mut lines = Vec::with_capacity(events.len() * 512);
                    for event in events {
                        serde_json::to_writer(&mut lines, &audit::to_api(event)?).map_err(Error::internal)?;
                        lines.push(b'\n');
                    }
                    Ok((lines, next))
                })
                .await;
            match page {
                Ok((lines, _)) if lines.is_empty() => None,
                Ok((lines, next)) => Some((Ok(actix_web::web::Bytes::from(lines)), next)),
                // The status line is gone: the response ends short, and the client resumes.
                Err(error) => {
                    log::warn!("audit export stopped after event {after}: {error}");
                    Some((Err(error), None))
                }
            }
        }
    });
    Ok(HttpResponse::Ok().content_type("application/x-ndjson").streaming(pages))
}
