//! The audit log: filters, keyset paging, event detail with a before/after diff, and the
//! hash chain's verification.

use gatehouse_api_types::{AuditEvent, AuditVerification};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{self, ApiError};
use crate::components::pager::{Pager, PagerFooter};
use crate::components::{ErrorBanner, FieldErrors, TextField};
use crate::logic::audit::{action_label, audit_query, AuditFilter, OUTCOMES};
use crate::logic::diff::{before_after, diff};
use crate::logic::format;
use crate::paths;
use crate::tasks::Res;

#[component]
pub fn AuditLog() -> impl IntoView {
    let query_map = use_query_map();
    let initial = |key: &str| query_map.with_untracked(|q| q.get(key)).unwrap_or_default();
    let actor = RwSignal::new(initial("actor"));
    let target = RwSignal::new(initial("target"));
    let action = RwSignal::new(initial("action"));
    let namespace = RwSignal::new(initial("namespace"));
    let outcome = RwSignal::new(initial("outcome"));
    let since = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let filter_error = RwSignal::new(None::<ApiError>);
    let filter_signal: Signal<Option<ApiError>> = filter_error.into();

    let pager = Pager::<AuditEvent>::new();
    let selected = RwSignal::new(None::<AuditEvent>);
    let search = move || {
        let filter = AuditFilter {
            actor: actor.get_untracked(),
            target: target.get_untracked(),
            action: action.get_untracked(),
            namespace: namespace.get_untracked(),
            outcome: outcome.get_untracked(),
            since: since.get_untracked(),
            until: until.get_untracked(),
        };
        match audit_query(&filter, 50) {
            Ok(q) => {
                filter_error.set(None);
                selected.set(None);
                pager.reload(paths::audit_events(&q));
            }
            Err(e) => filter_error.set(Some(e)),
        }
    };
    search();

    let verification = Res::new(|| api::get::<AuditVerification>(paths::AUDIT_VERIFY));

    view! {
        <h1>"Audit log"</h1>
        <section class="card" aria-labelledby="chain-title">
            <h2 id="chain-title">"Hash chain"</h2>
            <div id="chain-status" aria-live="polite">
                {move || match verification.get() {
                    None => view! { <p class="loading" role="status">"Verifying the chain…"</p> }.into_any(),
                    Some(Ok(v)) if v.intact => view! {
                        <p class="chain ok">{format!("Chain intact: {} events verified", v.events_verified)}</p>
                    }.into_any(),
                    Some(Ok(v)) => view! {
                        <p class="chain broken">
                            {format!(
                                "Chain broken: {} ({} events verified before the break)",
                                v.first_broken_link.unwrap_or_else(|| "a link does not match".into()),
                                v.events_verified
                            )}
                        </p>
                    }.into_any(),
                    Some(Err(e)) => view! { <div class="error-banner" role="alert">{format!("Could not verify the chain: {}", e.message())}</div> }.into_any(),
                }}
            </div>
            <button type="button" class="button small" on:click=move |_| verification.refetch()>"Verify again"</button>
        </section>
        <form id="filter-form" class="card filters" on:submit=move |ev| { ev.prevent_default(); search(); }>
            <h2>"Filter"</h2>
            <ErrorBanner error=filter_signal />
            <div class="filter-grid">
                <TextField id="actor" label="Actor id" value=actor error=filter_signal />
                <TextField id="target" label="Target id" value=target error=filter_signal />
                <TextField id="action" label="Action" value=action error=filter_signal hint="Exact, or a prefix ending in . or * (client.)" />
                <TextField id="namespace" label="Namespace" value=namespace error=filter_signal />
                <div class="field">
                    <label for="outcome">"Outcome"</label>
                    <select id="outcome" on:change=move |ev| outcome.set(event_target_value(&ev))>
                        <option value="" selected=move || outcome.get().is_empty()>"Any"</option>
                        {OUTCOMES.into_iter().map(|o| view! { <option value=o selected=move || outcome.get() == o>{o}</option> }).collect_view()}
                    </select>
                    <FieldErrors error=filter_signal field="outcome" />
                </div>
                <TextField id="since" label="Since (UTC)" value=since error=filter_signal hint="2025-01-31 or 2025-01-31T09:00:00Z" />
                <TextField id="until" label="Until (UTC)" value=until error=filter_signal />
            </div>
            <button type="submit" class="button primary">"Search"</button>
        </form>
        <div class="grid main-side wide-side">
            <section class="card" aria-labelledby="events-title">
                <h2 id="events-title">"Events"</h2>
                {move || {
                    let items = pager.items.get();
                    if items.is_empty() {
                        return (!pager.loading.get() && pager.error.with(Option::is_none))
                            .then(|| view! { <p class="muted">"No events match."</p> })
                            .into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table class="events-table">
                                <thead>
                                    <tr><th scope="col">"Time"</th><th scope="col">"Action"</th><th scope="col">"Outcome"</th><th scope="col">"Actor"</th><th scope="col">"Target"</th></tr>
                                </thead>
                                <tbody>
                                    {items.into_iter().map(|e| {
                                        let id = e.id;
                                        let open = e.clone();
                                        let action = action_label(&e.action, e.changes.as_ref());
                                        view! {
                                            <tr data-id=e.id.to_string() class:selected=move || selected.with(|s| s.as_ref().is_some_and(|s| s.id == id))>
                                                <td class="time">{format::time(&e.time)}</td>
                                                <td>
                                                    <button type="button" class="link event-open" on:click=move |_| selected.set(Some(open.clone()))>
                                                        {action}
                                                    </button>
                                                </td>
                                                <td><span class=format!("outcome {}", e.outcome)>{e.outcome.clone()}</span></td>
                                                <td>{format!("{} {}", e.actor.actor_type, e.actor.id.clone().unwrap_or_default())}</td>
                                                <td>{e.target.map(|t| format!("{} {}", t.target_type, t.id)).unwrap_or_default()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
                <PagerFooter pager=pager />
            </section>
            <section class="card" id="event-detail" aria-labelledby="detail-title" aria-live="polite">
                <h2 id="detail-title">"Event"</h2>
                {move || match selected.get() {
                    None => view! { <p class="muted">"Choose an event to see its details."</p> }.into_any(),
                    Some(e) => view! { <EventDetail event=e on_close=Callback::new(move |_| selected.set(None)) /> }.into_any(),
                }}
            </section>
        </div>
    }
}

#[component]
fn EventDetail(event: AuditEvent, on_close: Callback<()>) -> impl IntoView {
    let changes = event.changes.clone();
    let split = changes.as_ref().and_then(before_after);
    view! {
        <dl class="facts" data-id=event.id.to_string()>
            <dt>"Action"</dt><dd><code>{event.action.clone()}</code></dd>
            <dt>"Outcome"</dt><dd><span class=format!("outcome {}", event.outcome)>{event.outcome.clone()}</span></dd>
            <dt>"Time"</dt><dd>{format::time(&event.time)}</dd>
            <dt>"Actor"</dt>
            <dd>
                {format!("{} {}", event.actor.actor_type, event.actor.id.clone().unwrap_or_default())}
                {event.actor.owner_account_id.clone().map(|o| format!(" (owner {o})"))}
            </dd>
            <dt>"Target"</dt><dd>{event.target.as_ref().map(|t| format!("{} {}", t.target_type, t.id)).unwrap_or_else(|| "—".into())}</dd>
            <dt>"Namespace"</dt><dd>{event.namespace.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Request"</dt><dd><code>{event.request_id.clone().unwrap_or_else(|| "—".into())}</code></dd>
            <dt>"IP"</dt><dd>{event.ip.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Sequence"</dt><dd>{event.seq}</dd>
            <dt>"Hash"</dt><dd><code class="hash">{event.hash.clone()}</code></dd>
        </dl>
        {match (split, changes) {
            (Some((before, after)), _) => view! {
                <h3>"Changes"</h3>
                <div class="table-wrap">
                    <table class="diff">
                        <thead><tr><th scope="col">"Field"</th><th scope="col">"Before"</th><th scope="col">"After"</th></tr></thead>
                        <tbody>
                            {diff(&before, &after).into_iter().map(|row| view! {
                                <tr class="diff-row" class:changed=row.changed>
                                    <th scope="row"><code>{row.key}</code></th>
                                    <td class="before">{row.before.unwrap_or_else(|| "—".into())}</td>
                                    <td class="after">{row.after.unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any(),
            (None, Some(details)) => view! {
                <h3>"Details"</h3>
                <pre class="json">{serde_json::to_string_pretty(&details).unwrap_or_default()}</pre>
            }.into_any(),
            (None, None) => view! { <p class="muted">"No recorded changes."</p> }.into_any(),
        }}
        <button type="button" class="button small" on:click=move |_| on_close.run(())>"Close"</button>
    }
}
