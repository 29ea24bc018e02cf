//! Namespaces: list, create, rename, the sign-in policy (MFA optional or required), delete
//! when empty.

use gatehouse_api_types::{MfaPolicy, Namespace, NamespacePatch};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, encode};
use crate::components::confirm::use_confirm;
use crate::components::{loaded, ErrorBanner, FieldErrors, TextField};
use crate::logic::{format, forms};
use crate::paths;
use crate::tasks::{Act, Res};

#[component]
pub fn Namespaces() -> impl IntoView {
    let confirm = use_confirm();
    let list = Res::new(|| api::get_all::<Namespace>(paths::NAMESPACE_LIST, 50));
    let notice = RwSignal::new(None::<String>);

    // create
    let slug = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let create_act = Act::new();
    let create = move |(s, d): (String, String)| {
        let body = forms::namespace_create(&s, &d);
        create_act.run(async move {
            let created = api::post::<_, Namespace>(paths::NAMESPACES, &body?).await?;
            slug.set(String::new());
            display_name.set(String::new());
            notice.set(Some(format!("Created namespace {}.", created.slug)));
            list.refetch();
            Ok(())
        });
    };
    let create_error = create_act.error();

    // rename
    let editing = RwSignal::new(None::<String>);
    let edit_name = RwSignal::new(String::new());
    let rename_act = Act::new();
    let rename = move |(s, d): (String, String)| {
        let body = forms::namespace_rename(&d);
        let path = paths::namespace(&s);
        rename_act.run(async move {
            let (renamed, _) = api::patch::<_, Namespace>(&path, &body?, None).await?;
            editing.set(None);
            notice.set(Some(format!("Renamed {} to “{}”.", renamed.slug, renamed.display_name)));
            list.refetch();
            Ok(())
        });
    };
    let rename_error = rename_act.error();

    // the sign-in policy
    let set_policy_act = Act::new();
    let set_policy = move |(s, mfa): (String, MfaPolicy)| {
        let body = NamespacePatch { display_name: None, mfa: Some(mfa) };
        let path = paths::namespace(&s);
        set_policy_act.run(async move {
            let (changed, _) = api::patch::<_, Namespace>(&path, &body, None).await?;
            notice.set(Some(format!("{}: second factor {}.", changed.slug, changed.mfa.as_str())));
            list.refetch();
            Ok(())
        });
    };
    let policy_error = set_policy_act.error();

    // delete
    let delete_act = Act::new();
    let delete = move |s: String| {
        let path = paths::namespace(&s);
        let slug = s.clone();
        delete_act.run(async move {
            api::delete(&path, None).await?;
            notice.set(Some(format!("Deleted namespace {slug}.")));
            list.refetch();
            Ok(())
        });
    };
    let delete_error = delete_act.error();

    let start_rename = move |ns: &Namespace| {
        edit_name.set(ns.display_name.clone());
        editing.set(Some(ns.slug.clone()));
        rename_act.clear();
    };

    view! {
        <h1>"Namespaces"</h1>
        {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        <div class="grid main-side">
            <section class="card" aria-labelledby="ns-list-title">
                <h2 id="ns-list-title">"All namespaces"</h2>
                <ErrorBanner error=delete_error />
                <ErrorBanner error=policy_error />
                {move || editing.get().map(|s| {
                    let target = s.clone();
                    view! {
                        <form id="rename-form" class="inline-form" on:submit=move |ev| {
                            ev.prevent_default();
                            rename((target.clone(), edit_name.get_untracked()));
                        }>
                            <h3>{format!("Rename {s}")}</h3>
                            <ErrorBanner error=rename_error />
                            <TextField id="edit-display_name" field="display_name" label="Display name" value=edit_name error=rename_error required=true />
                            <div class="actions">
                                <button type="submit" class="button primary" disabled=move || rename_act.pending()>"Save"</button>
                                <button type="button" class="button" on:click=move |_| editing.set(None)>"Cancel"</button>
                            </div>
                        </form>
                    }
                })}
                {loaded(list, move |items: Vec<Namespace>| {
                    if items.is_empty() {
                        return view! { <p class="muted">"No namespaces you may see."</p> }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr><th scope="col">"Slug"</th><th scope="col">"Display name"</th><th scope="col">"Second factor"</th><th scope="col">"Created"</th><th scope="col">"Actions"</th></tr>
                                </thead>
                                <tbody>
                                    {items.into_iter().map(|ns| {
                                        let for_rename = ns.clone();
                                        let slug = ns.slug.clone();
                                        let code = ns.slug.clone();
                                        let policy_slug = ns.slug.clone();
                                        view! {
                                            <tr data-id=ns.slug.clone()>
                                                <td><A href=format!("/console/users?ns={}", encode(&ns.slug))><code>{code}</code></A></td>
                                                <td>{ns.display_name.clone()}</td>
                                                <td>
                                                    <select class="mfa-policy" aria-label=format!("Second factor in {}", ns.slug)
                                                        prop:value=ns.mfa.as_str()
                                                        on:change=move |ev| {
                                                            let mfa = if event_target_value(&ev) == "required" { MfaPolicy::Required } else { MfaPolicy::Optional };
                                                            notice.set(None);
                                                            set_policy((policy_slug.clone(), mfa));
                                                        }>
                                                        <option value="optional">"optional"</option>
                                                        <option value="required">"required"</option>
                                                    </select>
                                                </td>
                                                <td>{format::time(&ns.created_at)}</td>
                                                <td class="row-actions">
                                                    <button type="button" class="button small rename" aria-label=format!("Rename {}", ns.slug)
                                                        on:click=move |_| start_rename(&for_rename)>"Rename"</button>
                                                    <button type="button" class="button small danger delete" aria-label=format!("Delete {}", ns.slug)
                                                        on:click=move |_| {
                                                            let target = slug.clone();
                                                            confirm.ask(
                                                                "Delete namespace",
                                                                format!("Delete namespace {target}? Only an empty namespace can be deleted; this cannot be undone."),
                                                                "Delete namespace",
                                                                move || { delete(target.clone()); },
                                                            );
                                                        }>"Delete"</button>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </section>
            <section class="card" aria-labelledby="ns-create-title">
                <h2 id="ns-create-title">"New namespace"</h2>
                <form id="create-form" on:submit=move |ev| {
                    ev.prevent_default();
                    create((slug.get_untracked(), display_name.get_untracked()));
                }>
                    <ErrorBanner error=create_error />
                    <TextField id="slug" label="Slug" value=slug error=create_error required=true
                        hint="Lower-case letters, digits and dashes, starting with a letter (e.g. customers)." />
                    <TextField id="display_name" label="Display name" value=display_name error=create_error required=true />
                    <FieldErrors error=create_error field="namespace" />
                    <button type="submit" class="button primary" disabled=move || create_act.pending()>
                        {move || if create_act.pending() { "Creating…" } else { "Create namespace" }}
                    </button>
                </form>
            </section>
        </div>
    }
}
