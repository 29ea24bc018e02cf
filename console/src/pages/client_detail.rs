//! One API client: settings (how it authenticates, its keys, hybrid responses, pushed
//! requests: editable), effective permissions, secret rotation, state, transfer, delete.

use gatehouse_api_types::{Client, ClientPatch, EffectivePermissions, SecretRotated, TokenEndpointAuthMethod};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{self, ApiError};
use crate::components::confirm::use_confirm;
use crate::components::grant_picker::GrantPicker;
use crate::components::secret::SecretPanel;
use crate::components::{loaded, ErrorBanner, ErrorText, FieldErrors, GrantChips, Loading, StatusBadge, TextField};
use crate::logic::audit::{lost_warning, owner_label};
use crate::logic::format::{self, overlap_label, OVERLAPS};
use crate::logic::forms;
use crate::paths;
use crate::tasks::{Act, Res};

#[component]
pub fn ClientDetail() -> impl IntoView {
    let params = use_params_map();
    let path = Memo::new(move |_| paths::client(&params.read().get("id").unwrap_or_default()));
    let confirm = use_confirm();
    let navigate = use_navigate();
    let notice = RwSignal::new(None::<String>);

    let client = Res::new(move || {
        let path = path.get();
        async move { api::get_tagged::<Client>(&path).await }
    });
    let effective = Res::new(move || {
        let path = paths::client_effective_permissions(&path.get());
        async move { api::get::<EffectivePermissions>(&path).await }
    });
    let current = move || client.get_untracked().and_then(Result::ok);
    let grants = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        if let Some(Ok((c, _))) = client.get() {
            grants.set(c.permissions);
        }
    });

    // every change is a PATCH with the loaded ETag, then a reload
    let patch_act = Act::new();
    let patch = move |(body, what): (Result<ClientPatch, ApiError>, String)| {
        let body = body.clone();
        let what = what.clone();
        let etag = current().and_then(|(_, e)| e);
        let path = path.get_untracked();
        patch_act.run(async move {
            api::patch::<_, Client>(&path, &body?, etag.as_deref()).await?;
            notice.set(Some(what));
            client.refetch();
            effective.refetch();
            Ok(())
        });
    };
    let patch_error = patch_act.error();

    let toggle_disabled = move |_| {
        notice.set(None);
        let Some((c, _)) = current() else { return };
        let body = ClientPatch { disabled: Some(!c.disabled), ..Default::default() };
        if c.disabled {
            patch((Ok(body), "Client enabled.".to_owned()));
        } else {
            confirm.ask(
                "Disable client",
                format!("Disable {}? It can no longer obtain tokens or call the API until enabled again.", c.name),
                "Disable",
                move || {
                    patch((Ok(body.clone()), "Client disabled.".to_owned()));
                },
            );
        }
    };

    // grants
    let save_grants = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let list = grants.get_untracked();
        let body =
            forms::check_permissions(&list).map(|_| ClientPatch { permissions: Some(list), ..Default::default() });
        patch((body, "Grants saved.".to_owned()));
    };

    // OAuth settings: authentication method, keys, hybrid, pushed requests
    let method = RwSignal::new(TokenEndpointAuthMethod::ClientSecretBasic);
    let jwks = RwSignal::new(String::new());
    let jwks_uri = RwSignal::new(String::new());
    let hybrid = RwSignal::new(false);
    let par = RwSignal::new(false);
    let dpop = RwSignal::new(false);
    let jar = RwSignal::new(false);
    let logout_uri = RwSignal::new(String::new());
    let logout_sid = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok((c, _))) = client.get() {
            let f = forms::ClientSettings::from_client(&c);
            method.set(f.token_endpoint_auth_method);
            jwks.set(f.jwks);
            jwks_uri.set(f.jwks_uri);
            hybrid.set(f.hybrid_enabled);
            par.set(f.require_pushed_authorization_requests);
            dpop.set(f.dpop_bound_access_tokens);
            jar.set(f.require_signed_request_object);
            logout_uri.set(f.backchannel_logout_uri);
            logout_sid.set(f.backchannel_logout_session_required);
        }
    });
    let save_settings = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let Some((c, _)) = current() else { return };
        let f = forms::ClientSettings {
            token_endpoint_auth_method: method.get_untracked(),
            jwks: jwks.get_untracked(),
            jwks_uri: jwks_uri.get_untracked(),
            hybrid_enabled: hybrid.get_untracked(),
            require_pushed_authorization_requests: par.get_untracked(),
            dpop_bound_access_tokens: dpop.get_untracked(),
            require_signed_request_object: jar.get_untracked(),
            backchannel_logout_uri: logout_uri.get_untracked(),
            backchannel_logout_session_required: logout_sid.get_untracked(),
        };
        let to_keys = f.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt
            && c.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt;
        let body = forms::client_settings_patch(&c, &f);
        if to_keys && body.is_ok() {
            confirm.ask(
                "Sign with keys",
                "Switch to private_key_jwt? The client's secrets stop working at once.",
                "Switch",
                move || {
                    patch((body.clone(), "OAuth settings saved.".to_owned()));
                },
            );
        } else {
            patch((body, "OAuth settings saved.".to_owned()));
        }
    };

    // transfer
    let owner_account_id = RwSignal::new(String::new());
    let transfer = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let body = forms::client_transfer(&owner_account_id.get_untracked());
        if body.is_err() {
            patch((body, String::new()));
            return;
        }
        confirm.ask(
            "Transfer ownership",
            format!(
                "Make account {} the owner of this client? From then on the new owner's grants bound what the client may do.",
                owner_account_id.get_untracked().trim()
            ),
            "Transfer",
            move || {
                owner_account_id.set(String::new());
                patch((body.clone(), "Ownership transferred.".to_owned()));
            },
        );
    };

    // secret rotation
    let overlap = RwSignal::new(86_400u64);
    let rotated = RwSignal::new(None::<SecretRotated>);
    let rotate_act = Act::new();
    let rotate = move |seconds: u64| {
        let body = forms::secret_rotate(seconds);
        let path = paths::client_secrets(&path.get_untracked());
        rotate_act.run(async move {
            let r = api::post::<_, SecretRotated>(&path, &body).await?;
            rotated.set(Some(r));
            notice.set(Some(format!("Secret rotated; overlap with the old one: {}.", overlap_label(seconds))));
            Ok(())
        });
    };
    let rotate_error = rotate_act.error();
    let ask_rotate = move |_| {
        notice.set(None);
        rotated.set(None);
        let seconds = overlap.get_untracked();
        if seconds == 0 {
            confirm.ask(
                "Rotate secret now",
                "Rotate with no overlap? The current secret stops working at once; everything using it fails until it has the new one.",
                "Rotate now",
                move || {
                    rotate(0);
                },
            );
        } else {
            rotate(seconds);
        }
    };

    // delete
    let delete_act = Act::new();
    let navigate = StoredValue::new_local(navigate);
    let delete = move |_: ()| {
        let path = path.get_untracked();
        let navigate = navigate.get_value();
        delete_act.run(async move {
            api::delete(&path, None).await?;
            navigate("/console/clients", Default::default());
            Ok(())
        });
    };
    let delete_error = delete_act.error();
    let ask_delete = move |_| {
        confirm.ask(
            "Delete client",
            "Delete this client for good? Its secrets and tokens stop working. This cannot be undone.",
            "Delete client",
            move || {
                delete(());
            },
        );
    };
    let busy = move || patch_act.pending() || rotate_act.pending() || delete_act.pending();

    view! {
        <p class="breadcrumb"><A href="/console/clients">"API clients"</A></p>
        {move || match client.get() {
            None => view! { <Loading /> }.into_any(),
            Some(Err(e)) => view! { <h1>"API client"</h1><ErrorText message=e.message() /> }.into_any(),
            Some(Ok((c, _))) => view! {
                <h1>{c.name.clone()}</h1>
                <section class="card" aria-labelledby="settings-title" data-id=c.id.to_string()>
                    <h2 id="settings-title">"Settings"</h2>
                    <dl class="facts">
                        <dt>"Client id"</dt><dd><code id="client-id">{c.client_id.clone()}</code></dd>
                        <dt>"Status"</dt>
                        <dd><StatusBadge disabled=c.disabled /></dd>
                        <dt>"Owner"</dt><dd>{owner_label(c.owner.as_ref())}{c.owner.as_ref().map(|o| view! { " " <code class="muted">{o.account_id.to_string()}</code> })}</dd>
                        <dt>"Grant types"</dt><dd>{format::list(&c.grant_types.iter().map(ToString::to_string).collect::<Vec<_>>())}</dd>
                        <dt>"Redirect URIs"</dt><dd>{format::list(&c.redirect_uris)}</dd>
                        <dt>"User namespace"</dt><dd>{c.user_namespace.clone().unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Authentication"</dt><dd>{c.token_endpoint_auth_method.as_str()}</dd>
                        <dt>"Access tokens"</dt>
                        <dd>{format!("{}, {} s", c.access_token_alg, c.access_token_ttl.map(|t| t.to_string()).unwrap_or_else(|| "default".into()))}</dd>
                        <dt>"PKCE required"</dt><dd>{if c.require_pkce { "yes" } else { "no" }}</dd>
                        <dt>"Consent"</dt><dd>{if c.skip_consent { "not asked (first-party)" } else { "asked of each user" }}</dd>
                        <dt>"Self-registration"</dt><dd>{if c.registration_enabled { "open" } else { "closed" }}</dd>
                        <dt>"Hybrid responses"</dt><dd>{if c.hybrid_enabled { "allowed (code id_token)" } else { "no" }}</dd>
                        <dt>"Pushed requests"</dt><dd>{if c.require_pushed_authorization_requests { "required" } else { "optional" }}</dd>
                        <dt>"DPoP"</dt><dd>{if c.dpop_bound_access_tokens { "required" } else { "optional" }}</dd>
                        <dt>"Back-channel logout"</dt><dd>{c.backchannel_logout_uri.clone().unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Created"</dt><dd>{format::time(&c.created_at)}</dd>
                        <dt>"Last used"</dt><dd>{format::opt_time(c.last_used_at.as_ref())}</dd>
                    </dl>
                </section>
            }.into_any(),
        }}
        {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        {move || busy().then(|| view! { <Loading label="Working…" /> })}
        <Show when=move || matches!(client.get(), Some(Ok(_)))>
            <section class="card" id="effective-permissions" aria-labelledby="eff-title">
                <h2 id="eff-title">"Effective permissions"</h2>
                {loaded(effective, |e: EffectivePermissions| view! {
                    {lost_warning(&e.dropped).map(|w| view! { <p class="warning" role="note">{"⚠ "}{w}</p> })}
                    <dl class="facts">
                        <dt>"Granted"</dt><dd><GrantChips grants=e.granted.clone() /></dd>
                        <dt>"Owner holds"</dt><dd><GrantChips grants=e.owner.clone() /></dd>
                        <dt>"Effective"</dt><dd><GrantChips grants=e.effective.clone() /></dd>
                    </dl>
                    {(!e.dropped.is_empty()).then(|| view! {
                        <h3>"Dropped"</h3>
                        <ul class="dropped">
                            {e.dropped.iter().map(|d| view! { <li><code>{d.grant.clone()}</code>": "{d.reason.clone()}</li> }).collect_view()}
                        </ul>
                    })}
                })}
            </section>
            <div class="grid two">
                <section class="card" aria-labelledby="secret-title-h">
                    <h2 id="secret-title-h">"Rotate secret"</h2>
                    <ErrorBanner error=rotate_error />
                    {move || rotated.get().map(|r| {
                        let note = match r.previous_secret_expires_at {
                            Some(t) => format!("The previous secret keeps working until {}.", format::time(&t)),
                            None => "There is no previous secret that keeps working.".to_owned(),
                        };
                        view! { <SecretPanel secret=r.client_secret title="New client secret" note=note on_done=Callback::new(move |_| rotated.set(None)) /> }
                    })}
                    <div class="field">
                        <label for="previous_secret_expires_in">"The current secret keeps working for"</label>
                        <select id="previous_secret_expires_in" on:change=move |ev| overlap.set(event_target_value(&ev).parse().unwrap_or(86_400))>
                            {OVERLAPS.into_iter().map(|(s, label)| view! {
                                <option value=s.to_string() selected=move || overlap.get() == s>{label}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <button type="button" id="rotate-secret" class="button" disabled=busy on:click=ask_rotate>"Rotate secret"</button>
                </section>
                <section class="card" aria-labelledby="state-title">
                    <h2 id="state-title">"State"</h2>
                    <ErrorBanner error=patch_error />
                    <p>
                        <button type="button" id="toggle-disabled" class="button" disabled=busy on:click=toggle_disabled>
                            {move || if matches!(client.get(), Some(Ok((ref c, _))) if c.disabled) { "Enable client" } else { "Disable client" }}
                        </button>
                    </p>
                    <form id="transfer-form" on:submit=transfer>
                        <TextField id="owner_account_id" label="Transfer to account id" value=owner_account_id error=patch_error
                            hint="Needs clients:write@* and permissions:write@<the new owner's namespace>." />
                        <button type="submit" id="transfer" class="button" disabled=busy>"Transfer ownership"</button>
                    </form>
                    <ErrorBanner error=delete_error />
                    <p>
                        <button type="button" id="delete-client" class="button danger" disabled=busy on:click=ask_delete>"Delete client"</button>
                    </p>
                </section>
            </div>
            <section class="card" aria-labelledby="oauth-settings-title">
                <h2 id="oauth-settings-title">"OAuth settings"</h2>
                <form id="oauth-settings-form" on:submit=save_settings>
                    <div class="field">
                        <label for="settings_auth_method">"Token endpoint authentication"</label>
                        <select id="settings_auth_method" disabled=move || method.get() == TokenEndpointAuthMethod::None
                            on:change=move |ev| {
                                if let Ok(m) = event_target_value(&ev).parse() {
                                    method.set(m);
                                }
                            }>
                            {TokenEndpointAuthMethod::ALL.iter().map(|&m| view! {
                                <option value=m.as_str() selected=move || method.get() == m
                                    disabled=m == TokenEndpointAuthMethod::None>{m.as_str()}</option>
                            }).collect_view()}
                        </select>
                        <FieldErrors error=patch_error field="token_endpoint_auth_method" />
                    </div>
                    <Show when=move || method.get() == TokenEndpointAuthMethod::PrivateKeyJwt>
                        <div class="field">
                            <label for="settings_jwks">"Public keys (JWK Set JSON)"</label>
                            <textarea id="settings_jwks" rows="5" spellcheck="false" class="mono" bind:value=jwks></textarea>
                            <FieldErrors error=patch_error field="jwks" />
                        </div>
                        <TextField id="settings_jwks_uri" label="Or the URL of its JWK Set" value=jwks_uri error=patch_error
                            field="jwks_uri" hint="https (http only to this machine); fetched and cached by the server." />
                    </Show>
                    <div class="check">
                        <input id="settings_hybrid" type="checkbox" bind:checked=hybrid />
                        <label for="settings_hybrid">"Allow hybrid responses (code id_token; turning it on needs clients:write@*)"</label>
                    </div>
                    <div class="check">
                        <input id="settings_par" type="checkbox" bind:checked=par />
                        <label for="settings_par">"Require pushed authorization requests (/oauth/par)"</label>
                    </div>
                    <div class="check">
                        <input id="settings_jar" type="checkbox" bind:checked=jar />
                        <label for="settings_jar">"Require signed request objects (RFC 9101)"</label>
                    </div>
                    <div class="check">
                        <input id="settings_dpop" type="checkbox" bind:checked=dpop />
                        <label for="settings_dpop">"Require DPoP proofs: every token it gets is bound to its key (RFC 9449)"</label>
                    </div>
                    <TextField id="settings_backchannel_logout_uri" label="Back-channel logout URI" value=logout_uri error=patch_error
                        field="backchannel_logout_uri" hint="Where logout tokens are POSTed when a session it has tokens in ends (https; http only to this machine). Empty: none." />
                    <div class="check">
                        <input id="settings_backchannel_logout_session_required" type="checkbox" bind:checked=logout_sid />
                        <label for="settings_backchannel_logout_session_required">"It needs sid in logout tokens (they always carry it)"</label>
                    </div>
                    <button type="submit" id="save-oauth-settings" class="button primary" disabled=busy>"Save OAuth settings"</button>
                </form>
            </section>
            <section class="card" aria-labelledby="client-grants-title">
                <h2 id="client-grants-title">"Grants"</h2>
                <form id="grants-form" on:submit=save_grants>
                    <GrantPicker grants=grants error=patch_error legend="Grants of this client" />
                    <button type="submit" id="save-grants" class="button primary" disabled=busy>"Save grants"</button>
                </form>
            </section>
        </Show>
    }
}
