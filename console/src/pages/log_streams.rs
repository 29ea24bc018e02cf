//! Log streams: where the audit log is pushed, each with its cursor and last error; creating
//! one (its signing secret is shown once), disabling, enabling and deleting.

use gatehouse_api_types::{LogStream, LogStreamCreate, LogStreamFilter, LogStreamPatch};
use leptos::prelude::*;
use uuid::Uuid;

use crate::api;
use crate::components::confirm::use_confirm;
use crate::components::secret::SecretPanel;
use crate::components::{loaded, ErrorBanner, StatusBadge, TextField};
use crate::json::Obj;
use crate::logic::format;
use crate::paths;
use crate::tasks::{Act, Res};

#[component]
pub fn LogStreams() -> impl IntoView {
    let confirm = use_confirm();
    let list = Res::new(|| api::get_all::<LogStream>(paths::LOG_STREAM_LIST, 5));
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    // The create response's secret: only here, only until dismissed or left.
    let secret = RwSignal::new(None::<String>);

    let create_act = Act::new();
    let create = move |body: LogStreamCreate| {
        let body = body.clone();
        create_act.run(async move {
            // Only the signing secret is shown (the list is reloaded).
            let secret_only = Obj::new(api::post_value(paths::LOG_STREAMS, &body).await?)?.get("secret")?;
            name.set(String::new());
            url.set(String::new());
            action.set(String::new());
            secret.set(Some(secret_only));
            list.refetch();
            Ok(())
        });
    };
    let create_error = create_act.error();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        secret.set(None);
        let action = Some(action.get_untracked().trim().to_owned()).filter(|a| !a.is_empty());
        create(LogStreamCreate {
            name: name.get_untracked(),
            url: url.get_untracked().trim().to_owned(),
            filter: LogStreamFilter { action, ..LogStreamFilter::default() },
            start_after_seq: None,
        });
    };

    // Some(disabled) switches a stream; None deletes it.
    let change_act = Act::new();
    let change = move |(id, disabled): (Uuid, Option<bool>)| {
        let (path, disabled) = (paths::log_stream(&id.to_string()), disabled);
        change_act.run(async move {
            match disabled {
                Some(disabled) => {
                    let patch = LogStreamPatch { disabled: Some(disabled), ..LogStreamPatch::default() };
                    api::patch::<_, LogStream>(&path, &patch, None).await?;
                }
                None => api::delete(&path, None).await?,
            }
            list.refetch();
            Ok(())
        });
    };
    let change_error = change_act.error();

    let row = move |s: LogStream| {
        let (id, disabled) = (s.id, s.disabled);
        let ask_delete = move |_| {
            confirm.ask("Delete log stream", "Delete this log stream? Deliveries stop.", "Delete", move || {
                change((id, None));
            });
        };
        view! {
            <tr data-id=id.to_string()>
                <td>{s.name}</td>
                <td><code>{s.url}</code></td>
                <td>{s.filter.action.unwrap_or_else(|| "all events".to_owned())}</td>
                <td class="cursor">{s.status.last_delivered_seq}</td>
                <td>{format::opt_time(s.status.last_success_at.as_ref())}</td>
                <td class="last-error">{s.status.last_error.unwrap_or_default()}</td>
                <td><StatusBadge disabled=disabled /></td>
                <td>
                    <button type="button" class="button toggle" on:click=move |_| { change((id, Some(!disabled))); }>
                        {if disabled { "Enable" } else { "Disable" }}
                    </button>
                    <button type="button" class="button danger delete" on:click=ask_delete>"Delete"</button>
                </td>
            </tr>
        }
    };

    view! {
        <h1>"Log streams"</h1>
        {move || secret.get().map(|s| view! {
            <SecretPanel secret=s title="Signing secret" note="Verify each batch's webhook-signature with it (Standard Webhooks)." on_done=Callback::new(move |_| secret.set(None)) />
        })}
        <div class="grid main-side">
            <section class="card" aria-labelledby="streams-title">
                <h2 id="streams-title">"Streams"</h2>
                <ErrorBanner error=change_error />
                {loaded(list, move |items: Vec<LogStream>| {
                    if items.is_empty() {
                        return view! { <p class="muted">"No log streams."</p> }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr><th scope="col">"Name"</th><th scope="col">"URL"</th><th scope="col">"Action filter"</th><th scope="col">"Delivered up to"</th><th scope="col">"Last success"</th><th scope="col">"Last error"</th><th scope="col">"Status"</th><th scope="col"></th></tr>
                                </thead>
                                <tbody>{items.into_iter().map(row).collect_view()}</tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </section>
            <section class="card" aria-labelledby="new-stream-title">
                <h2 id="new-stream-title">"New log stream"</h2>
                <form id="create-form" on:submit=submit>
                    <ErrorBanner error=create_error />
                    <TextField id="name" label="Name" value=name error=create_error required=true />
                    <TextField id="url" label="URL" value=url error=create_error required=true
                        hint="https, or http to this machine; batches are POSTed here." />
                    <TextField id="action" label="Action filter" value=action error=create_error field="filter.action"
                        hint="Optional: an action, or a prefix such as user. (default: every event)." />
                    <button type="submit" class="button primary" disabled=move || create_act.pending()>"Create stream"</button>
                </form>
            </section>
        </div>
    }
}
