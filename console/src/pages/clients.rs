//! API clients: mine (or all I may see), and creating one, whose secret is shown once.

use gatehouse_api_types::{Client, ClientCreated, GrantType, SigningAlg, TokenEndpointAuthMethod};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::components::grant_picker::GrantPicker;
use crate::components::secret::SecretPanel;
use crate::components::{loaded, ErrorBanner, FieldErrors, GrantChips, StatusBadge, TextField};
use crate::logic::audit::owner_label;
use crate::logic::forms::{self, NewClient};
use crate::paths;
use crate::tasks::{Act, Res};

#[component]
pub fn Clients() -> impl IntoView {
    let all = RwSignal::new(false);
    let list = Res::new(move || {
        let path = if all.get() { paths::CLIENT_LIST } else { paths::MY_CLIENT_LIST };
        api::get_all::<Client>(path, 20)
    });

    // create
    let defaults = NewClient::default();
    let name = RwSignal::new(String::new());
    let permissions = RwSignal::new(Vec::<String>::new());
    let grant_types = RwSignal::new(defaults.grant_types.clone());
    let password_grant_enabled = RwSignal::new(false);
    let redirect_uris = RwSignal::new(String::new());
    let user_namespace = RwSignal::new(String::new());
    let token_endpoint_auth_method = RwSignal::new(defaults.token_endpoint_auth_method);
    let jwks = RwSignal::new(String::new());
    let jwks_uri = RwSignal::new(String::new());
    let access_token_alg = RwSignal::new(defaults.access_token_alg);
    // The create response with the secret: only here, only until dismissed or left.
    let created = RwSignal::new(None::<ClientCreated>);

    let create_act = Act::new();
    let create = move |form: NewClient| {
        let body = forms::client_create(&form);
        create_act.run(async move {
            let response = api::post::<_, ClientCreated>(paths::CLIENTS, &body?).await?;
            name.set(String::new());
            permissions.set(Vec::new());
            redirect_uris.set(String::new());
            created.set(Some(response));
            list.refetch();
            Ok(())
        });
    };
    let create_error = create_act.error();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        created.set(None);
        create(NewClient {
            name: name.get_untracked(),
            permissions: permissions.get_untracked(),
            grant_types: grant_types.get_untracked(),
            password_grant_enabled: password_grant_enabled.get_untracked(),
            redirect_uris: redirect_uris.get_untracked(),
            user_namespace: user_namespace.get_untracked(),
            token_endpoint_auth_method: token_endpoint_auth_method.get_untracked(),
            jwks: jwks.get_untracked(),
            jwks_uri: jwks_uri.get_untracked(),
            access_token_alg: access_token_alg.get_untracked(),
        });
    };

    view! {
        <h1>"API clients"</h1>
        {move || created.get().map(|c| {
            let link = format!("/console/clients/{}", c.client.id);
            view! {
                <div class="created-client" data-id=c.client.id.to_string()>
                    <p class="notice" role="status">
                        "Created " <A href=link>{c.client.name.clone()}</A> " with client id " <code id="created-client-id">{c.client.client_id.clone()}</code> "."
                    </p>
                    {match c.client_secret {
                        Some(secret) => view! {
                            <SecretPanel secret=secret title="Client secret" on_done=Callback::new(move |_| created.set(None)) />
                        }.into_any(),
                        None => view! { <p class="hint">"A public client has no secret; it signs users in with PKCE."</p> }.into_any(),
                    }}
                </div>
            }
        })}
        <div class="grid main-side">
            <section class="card" aria-labelledby="clients-title">
                <h2 id="clients-title">{move || if all.get() { "All clients you may see" } else { "My clients" }}</h2>
                <div class="check">
                    <input id="all_clients" type="checkbox" bind:checked=all />
                    <label for="all_clients">"All clients (not only mine)"</label>
                </div>
                {loaded(list, |items: Vec<Client>| {
                    if items.is_empty() {
                        return view! { <p class="muted">"No clients."</p> }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr><th scope="col">"Name"</th><th scope="col">"Client id"</th><th scope="col">"Owner"</th><th scope="col">"Effective permissions"</th><th scope="col">"Status"</th></tr>
                                </thead>
                                <tbody>
                                    {items.into_iter().map(|c| {
                                        let link = format!("/console/clients/{}", c.id);
                                        let label = c.name.clone();
                                        view! {
                                            <tr data-id=c.id.to_string()>
                                                <td><A href={link} {..} class="client-link">{label}</A></td>
                                                <td><code>{c.client_id.clone()}</code></td>
                                                <td>{owner_label(c.owner.as_ref())}</td>
                                                <td><GrantChips grants=c.effective_permissions.clone() /></td>
                                                <td><StatusBadge disabled=c.disabled /></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </section>
            <section class="card" aria-labelledby="new-client-title">
                <h2 id="new-client-title">"New client"</h2>
                <form id="create-form" on:submit=submit>
                    <ErrorBanner error=create_error />
                    <TextField id="name" label="Name" value=name error=create_error required=true />
                    <GrantPicker grants=permissions error=create_error legend="Grants" />
                    <fieldset>
                        <legend>"Grant types"</legend>
                        {GrantType::ALL.iter().map(|&t| {
                            if t == GrantType::Password {
                                // The password grant is switched by `password_grant_enabled` alone.
                                return view! {
                                    <div class="check">
                                        <input id="password_grant_enabled" type="checkbox" aria-describedby="password-grant-note" bind:checked=password_grant_enabled />
                                        <label for="password_grant_enabled"><code>{t.as_str()}</code></label>
                                    </div>
                                }.into_any();
                            }
                            let id = format!("grant_type_{t}");
                            let label_for = id.clone();
                            let checked = move || grant_types.with(|g| g.contains(&t));
                            let toggle = move |ev| {
                                let on = event_target_checked(&ev);
                                grant_types.update(|g| {
                                    g.retain(|x| *x != t);
                                    if on {
                                        g.push(t);
                                    }
                                });
                            };
                            view! {
                                <div class="check">
                                    <input id=id type="checkbox" name="grant_types" value=t.as_str() prop:checked=checked on:change=toggle />
                                    <label for=label_for><code>{t.as_str()}</code></label>
                                </div>
                            }.into_any()
                        }).collect_view()}
                        <p class="hint" id="password-grant-note">
                            "The resource owner password grant is discouraged; enabling it needs clients:write@*."
                        </p>
                        <FieldErrors error=create_error field="grant_types" />
                        <FieldErrors error=create_error field="password_grant_enabled" />
                    </fieldset>
                    <div class="field">
                        <label for="redirect_uris">"Redirect URIs (one per line)"</label>
                        <textarea id="redirect_uris" rows="3" spellcheck="false" class="mono" bind:value=redirect_uris></textarea>
                        <FieldErrors error=create_error field="redirect_uris" />
                    </div>
                    <TextField id="user_namespace" label="User namespace" value=user_namespace error=create_error
                        hint="The namespace whose accounts sign in through this client (optional)." />
                    <div class="field">
                        <label for="token_endpoint_auth_method">"Token endpoint authentication"</label>
                        <select id="token_endpoint_auth_method" on:change=move |ev| {
                            if let Ok(method) = event_target_value(&ev).parse() {
                                token_endpoint_auth_method.set(method);
                            }
                        }>
                            {TokenEndpointAuthMethod::ALL.iter().map(|&m| view! {
                                <option value=m.as_str() selected=move || token_endpoint_auth_method.get() == m>{m.as_str()}</option>
                            }).collect_view()}
                        </select>
                        <FieldErrors error=create_error field="token_endpoint_auth_method" />
                    </div>
                    <Show when=move || token_endpoint_auth_method.get() == TokenEndpointAuthMethod::PrivateKeyJwt>
                        <div class="field">
                            <label for="jwks">"Public keys (JWK Set JSON)"</label>
                            <textarea id="jwks" rows="5" spellcheck="false" class="mono" bind:value=jwks
                                placeholder="{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"kid\": \"…\", \"x\": \"…\", \"y\": \"…\"}]}"></textarea>
                            <FieldErrors error=create_error field="jwks" />
                        </div>
                        <TextField id="jwks_uri" label="Or the URL of its JWK Set" value=jwks_uri error=create_error
                            hint="https (http only to this machine); fetched and cached by the server." />
                    </Show>
                    <div class="field">
                        <label for="access_token_alg">"Access token algorithm"</label>
                        <select id="access_token_alg" on:change=move |ev| {
                            if let Ok(alg) = event_target_value(&ev).parse::<SigningAlg>() {
                                access_token_alg.set(alg);
                            }
                        }>
                            {SigningAlg::ALL.iter().map(|&a| view! {
                                <option value=a.as_str() selected=move || access_token_alg.get() == a>{a.as_str()}</option>
                            }).collect_view()}
                        </select>
                        <FieldErrors error=create_error field="access_token_alg" />
                    </div>
                    <button type="submit" class="button primary" disabled=move || create_act.pending()>
                        {move || if create_act.pending() { "Creating…" } else { "Create client" }}
                    </button>
                </form>
            </section>
        </div>
    }
}
