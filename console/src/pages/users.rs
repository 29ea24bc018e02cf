//! Users of a namespace: search as you type, keyset paging, create.

use std::time::Duration;

use gatehouse_api_types::{Account, Namespace};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use crate::api::{self, encode, query};
use crate::components::pager::{Pager, PagerFooter};
use crate::components::{ErrorBanner, StatusBadge, TextField};
use crate::logic::debounce::{search_term, Debounce};
use crate::logic::forms::{self, NewAccount};
use crate::paths;
use crate::session::use_me;
use crate::tasks::{Act, Res};

#[component]
pub fn Users() -> impl IntoView {
    let me = use_me();
    let navigate = use_navigate();
    let query_map = use_query_map();
    let own_ns = me.namespace.clone().unwrap_or_default();
    let ns = Memo::new(move |_| query_map.read().get("ns").filter(|s| !s.is_empty()).unwrap_or_else(|| own_ns.clone()));
    let namespaces = Res::new(|| api::get_all::<Namespace>(paths::NAMESPACE_LIST, 50));

    // search: `q_text` is what is typed, `q` what was last applied (250 ms after typing stops)
    let q_text = RwSignal::new(String::new());
    let q = RwSignal::new(None::<String>);
    let debounce = StoredValue::new(Debounce::default());
    let on_search = move |ev| {
        let text = event_target_value(&ev);
        q_text.set(text.clone());
        let Some(ticket) = debounce.try_update_value(|d| d.bump()) else { return };
        set_timeout(
            move || {
                if debounce.try_with_value(|d| d.is_latest(ticket)) == Some(true) {
                    q.try_set(search_term(&text));
                }
            },
            Duration::from_millis(250),
        );
    };
    let disabled = RwSignal::new(String::new());

    let pager = Pager::<Account>::new();
    let list_path = Memo::new(move |_| {
        format!(
            "{}{}",
            paths::users(&ns.get()),
            query(&[("q", q.get()), ("disabled", Some(disabled.get())), ("page_size", Some("50".to_owned()))])
        )
    });
    Effect::new(move |_| {
        let path = list_path.get();
        if !ns.with(String::is_empty) {
            pager.reload(path);
        }
    });

    let change_ns = move |value: String| {
        navigate(
            &format!("/console/users?ns={}", encode(&value)),
            NavigateOptions { replace: true, ..Default::default() },
        );
    };

    // create
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let phone_number = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let created = RwSignal::new(None::<Account>);
    let creating = Act::new();
    let create = move |form: NewAccount| {
        let body = forms::account_create(&form);
        let path = paths::users(&ns.get_untracked());
        creating.run(async move {
            let account = api::post::<_, Account>(&path, &body?).await?;
            for field in [username, email, phone_number, name, password] {
                field.set(String::new());
            }
            created.set(Some(account));
            pager.reload(list_path.get_untracked());
            Ok(())
        });
    };
    let create_error = creating.error();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        created.set(None);
        create(NewAccount {
            username: username.get_untracked(),
            email: email.get_untracked(),
            phone_number: phone_number.get_untracked(),
            name: name.get_untracked(),
            password: password.get_untracked(),
        });
    };

    view! {
        <h1>"Users"</h1>
        <div class="toolbar">
            <div class="field">
                <label for="namespace">"Namespace"</label>
                {move || match namespaces.get() {
                    Some(Ok(list)) if !list.is_empty() => {
                        let current = ns.get();
                        let mut slugs: Vec<String> = list.into_iter().map(|n| n.slug).collect();
                        if !current.is_empty() && !slugs.contains(&current) {
                            slugs.insert(0, current.clone());
                        }
                        let change_ns = change_ns.clone();
                        view! {
                            <select id="namespace" on:change=move |ev| change_ns(event_target_value(&ev))>
                                {slugs.into_iter().map(|s| {
                                    let selected = s == current;
                                    let value = s.clone();
                                    view! { <option value=value selected=selected>{s}</option> }
                                }).collect_view()}
                            </select>
                        }.into_any()
                    }
                    // Without namespaces:read@*, type the namespace.
                    _ => {
                        let change_ns = change_ns.clone();
                        view! {
                            <input id="namespace" type="text" prop:value=move || ns.get()
                                on:change=move |ev| change_ns(event_target_value(&ev)) />
                        }.into_any()
                    }
                }}
            </div>
            <div class="field grow">
                <label for="q">"Search"</label>
                <input id="q" type="search" autocomplete="off" placeholder="Username, email or phone number (prefix)"
                    prop:value=move || q_text.get() on:input=on_search />
            </div>
            <div class="field">
                <label for="disabled">"Status"</label>
                <select id="disabled" on:change=move |ev| disabled.set(event_target_value(&ev))>
                    <option value="" selected=move || disabled.get().is_empty()>"All"</option>
                    <option value="false" selected=move || disabled.get() == "false">"Active"</option>
                    <option value="true" selected=move || disabled.get() == "true">"Disabled"</option>
                </select>
            </div>
        </div>
        <div class="grid main-side">
            <section class="card" aria-labelledby="users-title">
                <h2 id="users-title">{move || format!("Accounts in {}", ns.get())}</h2>
                {move || {
                    let items = pager.items.get();
                    if items.is_empty() {
                        return (!pager.loading.get() && pager.error.with(Option::is_none))
                            .then(|| view! { <p class="muted">"No accounts match."</p> })
                            .into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr><th scope="col">"Username"</th><th scope="col">"Email"</th><th scope="col">"Phone"</th><th scope="col">"Name"</th><th scope="col">"Status"</th></tr>
                                </thead>
                                <tbody>
                                    {items.into_iter().map(|a| {
                                        let label = a.username.clone().or_else(|| a.email.clone()).or_else(|| a.phone_number.clone()).unwrap_or_else(|| a.id.to_string());
                                        view! {
                                            <tr data-id=a.id.to_string()>
                                                <td><A href=format!("/console/users/{}/{}", encode(&a.namespace), a.id) {..} class="user-link">{label}</A></td>
                                                <td>{a.email.clone().unwrap_or_default()}{a.email_verified.then_some(" ✓")}</td>
                                                <td>{a.phone_number.clone().unwrap_or_default()}</td>
                                                <td>{a.name.clone().unwrap_or_default()}</td>
                                                <td><StatusBadge disabled=a.disabled /></td>
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
            <section class="card" aria-labelledby="create-user-title">
                <h2 id="create-user-title">{move || format!("New account in {}", ns.get())}</h2>
                {move || created.get().map(|a| view! {
                    <p class="notice" role="status">
                        "Created "
                        <A href=format!("/console/users/{}/{}", encode(&a.namespace), a.id)>
                            {a.username.clone().or(a.email.clone()).unwrap_or_else(|| a.id.to_string())}
                        </A>
                        "."
                    </p>
                })}
                <form id="create-form" on:submit=submit>
                    <ErrorBanner error=create_error />
                    <TextField id="username" label="Username" value=username error=create_error />
                    <TextField id="email" label="Email" value=email error=create_error input_type="email" />
                    <TextField id="phone_number" label="Phone number" value=phone_number error=create_error input_type="tel"
                        hint="E.164, e.g. +14155550123" />
                    <TextField id="name" label="Full name" value=name error=create_error />
                    <TextField id="password" label="Password (optional)" value=password error=create_error input_type="password"
                        autocomplete="new-password" hint="At least 8 characters. Leave empty for an account that signs in otherwise." />
                    <button type="submit" class="button primary" disabled=move || creating.pending()>
                        {move || if creating.pending() { "Creating…" } else { "Create account" }}
                    </button>
                </form>
            </section>
        </div>
    }
}
