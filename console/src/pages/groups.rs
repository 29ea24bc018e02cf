//! Groups of a namespace: list (keyset paging, "Load more"), create.

use gatehouse_api_types::Group;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use crate::api::{self, encode};
use crate::components::pager::{Pager, PagerFooter};
use crate::components::{ErrorBanner, TextField};
use crate::logic::forms;
use crate::paths;
use crate::session::use_me;
use crate::tasks::Act;

#[component]
pub fn Groups() -> impl IntoView {
    let me = use_me();
    let navigate = use_navigate();
    let query_map = use_query_map();
    let own_ns = me.namespace.clone().unwrap_or_default();
    let ns = Memo::new(move |_| query_map.read().get("ns").filter(|s| !s.is_empty()).unwrap_or_else(|| own_ns.clone()));
    let pager = Pager::<Group>::new();
    let list_path = Memo::new(move |_| format!("{}?page_size=50", paths::groups(&ns.get())));
    Effect::new(move |_| {
        let path = list_path.get();
        if !ns.with(String::is_empty) {
            pager.reload(path);
        }
    });
    let change_ns = move |value: String| {
        navigate(
            &format!("/console/groups?ns={}", encode(value.trim())),
            NavigateOptions { replace: true, ..Default::default() },
        );
    };

    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let created = RwSignal::new(None::<Group>);
    let creating = Act::new();
    let create = move |n: String, d: String| {
        let body = forms::group_create(&n, &d);
        let path = paths::groups(&ns.get_untracked());
        creating.run(async move {
            let group = api::post::<_, Group>(&path, &body?).await?;
            name.set(String::new());
            description.set(String::new());
            created.set(Some(group));
            pager.reload(list_path.get_untracked());
            Ok(())
        });
    };
    let create_error = creating.error();

    view! {
        <h1>"Groups"</h1>
        <p class="lead">"A group carries grants for all of its members, who may live in any namespace. Members hold its grants beside their own."</p>
        <div class="toolbar">
            <div class="field">
                <label for="namespace">"Namespace"</label>
                <input id="namespace" type="text" prop:value=move || ns.get()
                    on:change=move |ev| change_ns(event_target_value(&ev)) />
            </div>
        </div>
        <div class="grid main-side">
            <section class="card" aria-labelledby="groups-title">
                <h2 id="groups-title">{move || format!("Groups of {}", ns.get())}</h2>
                {move || {
                    let items = pager.items.get();
                    if items.is_empty() {
                        return (!pager.loading.get() && pager.error.with(Option::is_none))
                            .then(|| view! { <p class="muted">"No groups yet."</p> })
                            .into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table>
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Description"</th></tr></thead>
                                <tbody>
                                    {items.into_iter().map(|g| view! {
                                        <tr data-id=g.id.to_string()>
                                            <td><A href=format!("/console/groups/{}/{}", encode(&g.namespace), g.id) {..} class="group-link">{g.name.clone()}</A></td>
                                            <td>{g.description.clone().unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
                <PagerFooter pager=pager />
            </section>
            <section class="card" aria-labelledby="create-group-title">
                <h2 id="create-group-title">{move || format!("New group in {}", ns.get())}</h2>
                {move || created.get().map(|g| view! {
                    <p class="notice" role="status">
                        "Created "<A href=format!("/console/groups/{}/{}", encode(&g.namespace), g.id)>{g.name.clone()}</A>"."
                    </p>
                })}
                <form id="create-form" on:submit=move |ev| {
                    ev.prevent_default();
                    created.set(None);
                    create(name.get_untracked(), description.get_untracked());
                }>
                    <ErrorBanner error=create_error />
                    <TextField id="name" label="Name" value=name error=create_error required=true />
                    <TextField id="description" label="Description (optional)" value=description error=create_error />
                    <button type="submit" class="button primary" disabled=move || creating.pending()>"Create group"</button>
                </form>
            </section>
        </div>
    }
}
