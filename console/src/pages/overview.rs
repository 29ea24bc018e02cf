//! Who I am, my grants, my clients, and the latest events by or about me and my clients.

use gatehouse_api_types::{AuditEvent, CallerKind, Client};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, query};
use crate::components::{loaded, GrantChips};
use crate::logic::format;
use crate::paths;
use crate::session::use_me;
use crate::tasks::Res;

#[component]
pub fn Overview() -> impl IntoView {
    let me = use_me();
    let clients = Res::new(|| api::get_all::<Client>(paths::MY_CLIENT_LIST, 10));
    let events_path =
        paths::audit_events(&query(&[("involving", Some(me.id.to_string())), ("page_size", Some("10".to_owned()))]));
    let events = Res::new(move || {
        let path = events_path.clone();
        async move { api::get_items::<AuditEvent>(&path).await }
    });
    let kind = match me.kind {
        CallerKind::Account => "account",
        CallerKind::Client => "client",
    };
    let audit_link = format!("/console/audit?actor={}", me.id);

    view! {
        <h1>"Overview"</h1>
        <div class="grid two">
            <section class="card" id="me" aria-labelledby="me-title">
                <h2 id="me-title">"Signed in as"</h2>
                <dl class="facts">
                    <dt>"Username"</dt>
                    <dd>{me.username.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Namespace"</dt>
                    <dd>{me.namespace.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Kind"</dt>
                    <dd>{kind}</dd>
                    <dt>"Id"</dt>
                    <dd><code>{me.id.to_string()}</code></dd>
                </dl>
            </section>
            <section class="card" id="my-grants" aria-labelledby="grants-title">
                <h2 id="grants-title">"My grants"</h2>
                <GrantChips grants=me.permissions.clone() />
                <h3>"Effective now"</h3>
                <GrantChips grants=me.effective_permissions.clone() />
            </section>
        </div>
        <section class="card" id="my-clients" aria-labelledby="clients-title">
            <h2 id="clients-title">"My API clients"</h2>
            {loaded(clients, |list: Vec<Client>| {
                if list.is_empty() {
                    return view! { <p class="muted">"You own no API clients. " <A href="/console/clients">"Create one"</A></p> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr><th scope="col">"Name"</th><th scope="col">"Client id"</th><th scope="col">"Effective permissions"</th><th scope="col">"Status"</th></tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|c| view! {
                                    <tr data-id=c.id.to_string()>
                                        <td><A href=format!("/console/clients/{}", c.id)>{c.name.clone()}</A></td>
                                        <td><code>{c.client_id.clone()}</code></td>
                                        <td><GrantChips grants=c.effective_permissions.clone() /></td>
                                        <td>{if c.disabled { "disabled" } else { "active" }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            })}
        </section>
        <section class="card" id="my-events" aria-labelledby="events-title">
            <h2 id="events-title">"Recent events about me and my clients"</h2>
            {loaded(events, |list: Vec<AuditEvent>| {
                if list.is_empty() {
                    return view! { <p class="muted">"No events yet."</p> }.into_any();
                }
                view! {
                    <ul class="events">
                        {list.into_iter().map(|e| view! {
                            <li data-id=e.id.to_string()>
                                <span class="time">{format::time(&e.time)}</span>
                                <code>{e.action.clone()}</code>
                                <span class=format!("outcome {}", e.outcome)>{e.outcome.clone()}</span>
                                {e.target.map(|t| view! { <span class="muted">{format!("{} {}", t.target_type, t.id)}</span> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
            <p><A href=audit_link>"All my events in the audit log"</A></p>
        </section>
    }
}
