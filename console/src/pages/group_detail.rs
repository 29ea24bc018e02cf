//! One group: name and description, its grants (the grant picker), its members (paged; remove;
//! search the accounts of any namespace to add), delete.

use std::time::Duration;

use gatehouse_api_types::{Account, Group, GroupMember, Permissions};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{self, encode, query};
use crate::components::confirm::use_confirm;
use crate::components::grant_picker::GrantPicker;
use crate::components::pager::{Pager, PagerFooter};
use crate::components::{ErrorBanner, ErrorText, Loading, TextField};
use crate::logic::debounce::{search_term, Debounce};
use crate::logic::forms;
use crate::paths;
use crate::tasks::{Act, Res};

#[component]
pub fn GroupDetail() -> impl IntoView {
    let params = use_params_map();
    let ns = Memo::new(move |_| params.read().get("ns").unwrap_or_default());
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let path = Memo::new(move |_| paths::group(&ns.get(), &id.get()));
    let confirm = use_confirm();
    let navigate = use_navigate();
    let notice = RwSignal::new(None::<String>);

    let group = Res::new(move || {
        let path = path.get();
        async move { api::get_tagged::<Group>(&path).await }
    });
    let grants_res = Res::new(move || {
        let path = paths::group_permissions(&path.get());
        async move { api::get::<Permissions>(&path).await }
    });
    let members = Pager::<GroupMember>::new();
    let members_path = Memo::new(move |_| format!("{}?page_size=50", paths::group_members(&path.get())));
    Effect::new(move |_| members.reload(members_path.get()));

    // Name and description, filled from each load; saved with the loaded ETag.
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let grants = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        if let Some(Ok((g, _))) = group.get() {
            name.set(g.name);
            description.set(g.description.unwrap_or_default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(p)) = grants_res.get() {
            grants.set(p.permissions);
        }
    });

    let saving = Act::new();
    let save = move |n: String, d: String| {
        let body = forms::group_patch(&n, &d);
        let etag = group.get_untracked().and_then(Result::ok).and_then(|(_, etag)| etag);
        let path = path.get_untracked();
        saving.run(async move {
            api::patch::<_, Group>(&path, &body?, etag.as_deref()).await?;
            notice.set(Some("Saved.".to_owned()));
            group.refetch();
            Ok(())
        });
    };
    let save_error = saving.error();

    let saving_grants = Act::new();
    let save_grants = move |list: Vec<String>| {
        let checked = forms::check_permissions(&list);
        let body = Permissions { permissions: list };
        let path = paths::group_permissions(&path.get_untracked());
        saving_grants.run(async move {
            checked?;
            let saved = api::put::<_, Permissions>(&path, &body).await?;
            grants.set(saved.permissions);
            notice.set(Some("Grants saved: every member holds them from its next request.".to_owned()));
            group.refetch();
            Ok(())
        });
    };
    let grants_error = saving_grants.error();

    // Members: remove, and add from a search of any namespace's accounts.
    let changing_member = Act::new();
    let change_member = move |account: String, add: bool| {
        let member = paths::group_member(&path.get_untracked(), &account);
        changing_member.run(async move {
            if add {
                api::put_empty(&member).await?;
            } else {
                api::delete(&member, None).await?;
            }
            notice.set(Some(if add { "Member added." } else { "Member removed." }.to_owned()));
            members.reload(members_path.get_untracked());
            Ok(())
        });
    };
    let member_error = changing_member.error();
    let member_ns = RwSignal::new(String::new());
    Effect::new(move |_| member_ns.set(ns.get()));
    let member_q = RwSignal::new(None::<String>);
    let debounce = StoredValue::new(Debounce::default());
    let on_search = move |ev| {
        let text = event_target_value(&ev);
        let Some(ticket) = debounce.try_update_value(|d| d.bump()) else { return };
        set_timeout(
            move || {
                if debounce.try_with_value(|d| d.is_latest(ticket)) == Some(true) {
                    member_q.try_set(search_term(&text));
                }
            },
            Duration::from_millis(250),
        );
    };
    let candidates = Res::new(move || {
        let (ns, q) = (member_ns.get(), member_q.get());
        async move {
            match q {
                Some(q) if !ns.trim().is_empty() => {
                    let path = format!(
                        "{}{}",
                        paths::users(ns.trim()),
                        query(&[("q", Some(q)), ("page_size", Some("10".into()))])
                    );
                    api::get_items::<Account>(&path).await
                }
                _ => Ok(Vec::new()),
            }
        }
    });

    let deleting = Act::new();
    let navigate = StoredValue::new_local(navigate);
    let delete = move || {
        let path = path.get_untracked();
        let back = format!("/console/groups?ns={}", encode(&ns.get_untracked()));
        let navigate = navigate.get_value();
        deleting.run(async move {
            api::delete(&path, None).await?;
            navigate(&back, Default::default());
            Ok(())
        });
    };
    let delete_error = deleting.error();
    let ask_delete = move |_| {
        confirm.ask(
            "Delete group",
            "Delete this group for good? Its members no longer hold its grants, from their next request on.",
            "Delete group",
            move || {
                delete();
            },
        );
    };

    let busy = move || saving.pending() || saving_grants.pending() || changing_member.pending() || deleting.pending();

    view! {
        <p class="breadcrumb">
            <A href=move || format!("/console/groups?ns={}", encode(&ns.get()))>{move || format!("Groups of {}", ns.get())}</A>
        </p>
        {move || match group.get() {
            None => view! { <Loading /> }.into_any(),
            Some(Err(e)) => view! { <h1>"Group"</h1><ErrorText message=e.message() /> }.into_any(),
            Some(Ok((g, _))) => view! { <h1>{g.name.clone()}</h1><p class="muted" data-id=g.id.to_string()><code>{g.id.to_string()}</code></p> }.into_any(),
        }}
        {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        <Show when=move || matches!(group.get(), Some(Ok(_)))>
            <div class="grid two">
                <div class="stack">
                    <section class="card" aria-labelledby="group-title">
                        <h2 id="group-title">"Name and description"</h2>
                        <form id="group-form" on:submit=move |ev| {
                            ev.prevent_default();
                            notice.set(None);
                            save(name.get_untracked(), description.get_untracked());
                        }>
                            <ErrorBanner error=save_error />
                            <TextField id="name" label="Name" value=name error=save_error required=true />
                            <TextField id="description" label="Description (optional)" value=description error=save_error />
                            <button type="submit" class="button primary" disabled=busy>"Save"</button>
                        </form>
                        <ErrorBanner error=delete_error />
                        <p>
                            <button type="button" id="delete-group" class="button danger" disabled=busy on:click=ask_delete>"Delete group"</button>
                        </p>
                    </section>
                    <section class="card" aria-labelledby="group-grants-title">
                        <h2 id="group-grants-title">"Grants"</h2>
                        {move || match grants_res.get() {
                            None => Some(view! { <Loading /> }.into_any()),
                            Some(Err(e)) => Some(view! { <ErrorText message=e.message() /> }.into_any()),
                            Some(Ok(_)) => None,
                        }}
                        <form id="grants-form" on:submit=move |ev| {
                            ev.prevent_default();
                            notice.set(None);
                            save_grants(grants.get_untracked());
                        }>
                            <ErrorBanner error=grants_error />
                            <GrantPicker grants=grants error=grants_error legend="Grants every member holds" />
                            <button type="submit" id="save-grants" class="button primary" disabled=busy>"Save grants"</button>
                        </form>
                    </section>
                </div>
                <section class="card" aria-labelledby="members-title">
                    <h2 id="members-title">"Members"</h2>
                    <ErrorBanner error=member_error />
                    {move || {
                        let items = members.items.get();
                        (!items.is_empty()).then(|| view! {
                            <div class="table-wrap">
                                <table id="members">
                                    <thead><tr><th scope="col">"Account"</th><th scope="col">"Namespace"</th><th scope="col"></th></tr></thead>
                                    <tbody>
                                        {items.into_iter().map(|m| {
                                            let account = m.account_id.to_string();
                                            let label = m.username.clone().unwrap_or_else(|| account.clone());
                                            let remove = account.clone();
                                            view! {
                                                <tr data-id=account.clone()>
                                                    <td><A href=format!("/console/users/{}/{}", encode(&m.namespace), account)>{label}</A></td>
                                                    <td>{m.namespace.clone()}</td>
                                                    <td><button type="button" class="button subtle remove-member" disabled=busy
                                                        on:click=move |_| { notice.set(None); change_member(remove.clone(), false); }>"Remove"</button></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        })
                    }}
                    <PagerFooter pager=members />
                    <h3>"Add members"</h3>
                    <div class="toolbar">
                        <div class="field">
                            <label for="member-ns">"Namespace"</label>
                            <input id="member-ns" type="text" bind:value=member_ns />
                        </div>
                        <div class="field grow">
                            <label for="member-q">"Search accounts"</label>
                            <input id="member-q" type="search" autocomplete="off" placeholder="Username, email or phone number (prefix)" on:input=on_search />
                        </div>
                    </div>
                    {move || match candidates.get() {
                        None => view! { <Loading /> }.into_any(),
                        Some(Err(e)) => view! { <ErrorText message=e.message() /> }.into_any(),
                        Some(Ok(list)) => view! {
                            <ul class="candidates">
                                {list.into_iter().map(|a| {
                                    let account = a.id.to_string();
                                    let label = a.username.clone().or(a.email.clone()).or(a.phone_number.clone()).unwrap_or_else(|| account.clone());
                                    let add = account.clone();
                                    view! {
                                        <li>
                                            <button type="button" class="button add-member" data-id=account disabled=busy
                                                on:click=move |_| { notice.set(None); change_member(add.clone(), true); }>
                                                {format!("Add {label}")}
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }}
                </section>
            </div>
        </Show>
    }
}
