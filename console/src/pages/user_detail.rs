//! One account: profile, attributes, verification flags, state, second factors, password,
//! grants, delete.

use gatehouse_api_types::{Account, AccountPatch, GroupMembership, Page, Permissions};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{self, encode, ApiError};
use crate::components::confirm::use_confirm;
use crate::components::grant_picker::GrantPicker;
use crate::components::{ErrorBanner, ErrorText, FieldErrors, Loading, StatusBadge, TextField};
use crate::logic::format;
use crate::logic::forms::{self, AccountForm};
use crate::paths;
use crate::tasks::{Act, Res};

#[component]
pub fn UserDetail() -> impl IntoView {
    let params = use_params_map();
    let ns = Memo::new(move |_| params.read().get("ns").unwrap_or_default());
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let path = Memo::new(move |_| paths::user(&ns.get(), &id.get()));
    let confirm = use_confirm();
    let navigate = use_navigate();
    let notice = RwSignal::new(None::<String>);

    let user = Res::new(move || {
        let path = path.get();
        async move { api::get_tagged::<Account>(&path).await }
    });
    let grants_res = Res::new(move || {
        let path = paths::user_permissions(&path.get());
        async move { api::get::<Permissions>(&path).await }
    });
    let groups_res = Res::new(move || {
        let path = paths::user_groups(&path.get());
        async move { api::get::<Page<GroupMembership>>(&path).await.map(|p| p.items) }
    });

    // the profile form, filled from each load
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let email_verified = RwSignal::new(false);
    let phone_number = RwSignal::new(String::new());
    let phone_number_verified = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let given_name = RwSignal::new(String::new());
    let family_name = RwSignal::new(String::new());
    let attributes = RwSignal::new(String::new());
    let grants = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        if let Some(Ok((account, _))) = user.get() {
            let f = AccountForm::from_account(&account);
            username.set(f.username);
            email.set(f.email);
            email_verified.set(f.email_verified);
            phone_number.set(f.phone_number);
            phone_number_verified.set(f.phone_number_verified);
            name.set(f.name);
            given_name.set(f.given_name);
            family_name.set(f.family_name);
            attributes.set(f.attributes);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(p)) = grants_res.get() {
            grants.set(p.permissions);
        }
    });
    let form = move || AccountForm {
        username: username.get_untracked(),
        email: email.get_untracked(),
        email_verified: email_verified.get_untracked(),
        phone_number: phone_number.get_untracked(),
        phone_number_verified: phone_number_verified.get_untracked(),
        name: name.get_untracked(),
        given_name: given_name.get_untracked(),
        family_name: family_name.get_untracked(),
        attributes: attributes.get_untracked(),
    };
    let current = move || user.get_untracked().and_then(Result::ok);

    // Sends a merge patch with the loaded ETag, then reloads.
    let patch_act = Act::new();
    let patch = move |(patch, what): (Result<AccountPatch, ApiError>, String)| {
        let body = patch.clone();
        let what = what.clone();
        let etag = current().and_then(|(_, etag)| etag);
        let path = path.get_untracked();
        patch_act.run(async move {
            let body = body?;
            if forms::is_empty_patch(&body) {
                notice.set(Some("Nothing to save.".to_owned()));
                return Ok(());
            }
            api::patch::<_, Account>(&path, &body, etag.as_deref()).await?;
            notice.set(Some(what));
            user.refetch();
            Ok(())
        });
    };
    let patch_error = patch_act.error();
    let save_profile = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if let Some((account, _)) = current() {
            patch((forms::account_patch(&account, &form()), "Saved.".to_owned()));
        }
    };
    let toggle_disabled = move |_| {
        notice.set(None);
        let Some((account, _)) = current() else { return };
        let body = AccountPatch { disabled: Some(!account.disabled), ..Default::default() };
        if account.disabled {
            patch((Ok(body), "Account enabled.".to_owned()));
        } else {
            confirm.ask(
                "Disable account",
                "Disable this account? It can no longer sign in, and the API clients it owns stop working until it is enabled again.",
                "Disable",
                move || {
                    patch((Ok(body.clone()), "Account disabled.".to_owned()));
                },
            );
        }
    };

    let password = RwSignal::new(String::new());
    let set_password_act = Act::new();
    let set_password = move |pw: String| {
        let body = forms::password_set(&pw);
        let path = paths::user_password(&path.get_untracked());
        set_password_act.run(async move {
            api::put_no_content(&path, &body?).await?;
            password.set(String::new());
            notice.set(Some("Password set.".to_owned()));
            user.refetch();
            Ok(())
        });
    };
    let password_error = set_password_act.error();

    let save_grants_act = Act::new();
    let save_grants = move |list: Vec<String>| {
        let checked = forms::check_permissions(&list);
        let body = Permissions { permissions: list.clone() };
        let path = paths::user_permissions(&path.get_untracked());
        save_grants_act.run(async move {
            checked?;
            let saved = api::put::<_, Permissions>(&path, &body).await?;
            grants.set(saved.permissions);
            notice.set(Some("Grants saved.".to_owned()));
            user.refetch();
            Ok(())
        });
    };
    let grants_error = save_grants_act.error();

    let delete_act = Act::new();
    let navigate = StoredValue::new_local(navigate);
    let delete = move |_: ()| {
        let path = path.get_untracked();
        let back = format!("/console/users?ns={}", encode(&ns.get_untracked()));
        let navigate = navigate.get_value();
        delete_act.run(async move {
            api::delete(&path, None).await?;
            navigate(&back, Default::default());
            Ok(())
        });
    };
    let delete_error = delete_act.error();
    let ask_delete = move |_| {
        confirm.ask(
            "Delete account",
            "Delete this account for good? Its sessions end and the API clients it owns lose their owner. This cannot be undone.",
            "Delete account",
            move || {
                delete(());
            },
        );
    };

    let busy =
        move || patch_act.pending() || set_password_act.pending() || save_grants_act.pending() || delete_act.pending();

    view! {
        <p class="breadcrumb">
            <A href=move || format!("/console/users?ns={}", encode(&ns.get()))>{move || format!("Users of {}", ns.get())}</A>
        </p>
        {move || match user.get() {
            None => view! { <Loading /> }.into_any(),
            Some(Err(e)) => view! { <h1>"Account"</h1><ErrorText message=e.message() /> }.into_any(),
            Some(Ok((a, _))) => view! {
                <h1>{a.username.clone().or(a.email.clone()).or(a.phone_number.clone()).unwrap_or_else(|| "Account".into())}</h1>
                <dl class="facts inline-facts" data-id=a.id.to_string()>
                    <dt>"Id"</dt><dd><code>{a.id.to_string()}</code></dd>
                    <dt>"Namespace"</dt><dd>{a.namespace.clone()}</dd>
                    <dt>"Status"</dt>
                    <dd><StatusBadge disabled=a.disabled /></dd>
                    <dt>"Password"</dt><dd>{if a.has_password { "set" } else { "none" }}</dd>
                    <dt>"Created"</dt><dd>{format::time(&a.created_at)}</dd>
                    <dt>"Updated"</dt><dd>{format::time(&a.updated_at)}</dd>
                </dl>
            }.into_any(),
        }}
        {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        {move || busy().then(|| view! { <Loading label="Saving…" /> })}
        <Show when=move || matches!(user.get(), Some(Ok(_)))>
            <div class="grid two">
                <section class="card" aria-labelledby="profile-title">
                    <h2 id="profile-title">"Profile"</h2>
                    <form id="profile-form" on:submit=save_profile>
                        <ErrorBanner error=patch_error />
                        <TextField id="username" label="Username" value=username error=patch_error />
                        <TextField id="email" label="Email" value=email error=patch_error input_type="email" />
                        <div class="check">
                            <input id="email_verified" type="checkbox" bind:checked=email_verified />
                            <label for="email_verified">"Email verified"</label>
                        </div>
                        <TextField id="phone_number" label="Phone number" value=phone_number error=patch_error input_type="tel" hint="E.164, e.g. +14155550123" />
                        <div class="check">
                            <input id="phone_number_verified" type="checkbox" bind:checked=phone_number_verified />
                            <label for="phone_number_verified">"Phone number verified"</label>
                        </div>
                        <TextField id="name" label="Full name" value=name error=patch_error />
                        <TextField id="given_name" label="Given name" value=given_name error=patch_error />
                        <TextField id="family_name" label="Family name" value=family_name error=patch_error />
                        <div class="field">
                            <label for="attributes">"Attributes (JSON object)"</label>
                            <textarea id="attributes" rows="6" spellcheck="false" class="mono" aria-describedby="attributes-hint" bind:value=attributes></textarea>
                            <p class="hint" id="attributes-hint">"Replaces all attributes, e.g. {\"department\": \"sales\"}."</p>
                            <FieldErrors error=patch_error field="attributes" />
                        </div>
                        <button type="submit" class="button primary" disabled=busy>"Save profile"</button>
                    </form>
                </section>
                <div class="stack">
                    <section class="card" aria-labelledby="state-title">
                        <h2 id="state-title">"Account state"</h2>
                        <p>
                            <button type="button" id="toggle-disabled" class="button" disabled=busy on:click=toggle_disabled>
                                {move || if matches!(user.get(), Some(Ok((ref a, _))) if a.disabled) { "Enable account" } else { "Disable account" }}
                            </button>
                        </p>
                        <ErrorBanner error=delete_error />
                        <p>
                            <button type="button" id="delete-user" class="button danger" disabled=busy on:click=ask_delete>"Delete account"</button>
                        </p>
                    </section>
                    <super::user_factors::UserFactors user_path=path />
                    <section class="card" aria-labelledby="password-title">
                        <h2 id="password-title">"Set password"</h2>
                        <form id="password-form" on:submit=move |ev| {
                            ev.prevent_default();
                            notice.set(None);
                            set_password(password.get_untracked());
                        }>
                            <ErrorBanner error=password_error />
                            <TextField id="password" label="New password" value=password error=password_error input_type="password"
                                autocomplete="new-password" required=true hint="At least 8 characters." />
                            <button type="submit" class="button" disabled=busy>"Set password"</button>
                        </form>
                    </section>
                    <section class="card" aria-labelledby="acct-grants-title">
                        <h2 id="acct-grants-title">"Grants"</h2>
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
                            <GrantPicker grants=grants error=grants_error legend="Grants of this account" />
                            <button type="submit" id="save-grants" class="button primary" disabled=busy>"Save grants"</button>
                        </form>
                    </section>
                    <section class="card" aria-labelledby="acct-groups-title">
                        <h2 id="acct-groups-title">"Groups"</h2>
                        <p class="hint">"The account also holds the grants of these groups."</p>
                        {move || match groups_res.get() {
                            None => view! { <Loading /> }.into_any(),
                            Some(Err(e)) => view! { <ErrorText message=e.message() /> }.into_any(),
                            Some(Ok(list)) if list.is_empty() => view! { <p class="muted" id="user-groups">"No groups."</p> }.into_any(),
                            Some(Ok(list)) => view! {
                                <table id="user-groups">
                                    <tbody>
                                        {list.into_iter().map(|g| {
                                            let label = g.name.clone().unwrap_or_else(|| g.group_id.to_string());
                                            view! {
                                                <tr data-id=g.group_id.to_string()>
                                                    <td><A href=format!("/console/groups/{}/{}", encode(&g.namespace), g.group_id)>{label}</A></td>
                                                    <td>{g.namespace.clone()}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                        }}
                    </section>
                </div>
            </div>
        </Show>
    }
}
