//! Gatehouse admin console: a Leptos client-side rendered app served at `/console/`.
//!
//! The server writes `index.html` (with `style.css` and the wasm-bindgen loader); `main`
//! mounts [`App`]. The browser never holds a token: `GET /console/session` answers the
//! signed-in administrator and a CSRF token, kept in memory and sent as `X-CSRF-Token` with
//! every `/api/v1` request.
//!
//! # Hooks for browser tests
//!
//! | what | selector |
//! |---|---|
//! | navigation links | `a[data-nav="overview"]`, `namespaces`, `users`, `groups`, `clients`, `permissions`, `audit`, `keys`, `log-streams`, `applications`, `security` (the current one has `aria-current="page"`) |
//! | sign in (signed-out screen) | `#sign-in` (a plain link to `/console/login`); the screen says "Signed out" after signing out |
//! | sign out | `#sign-out` |
//! | errors | `.error-banner` (a 403 reads "You lack users:write@customers"); per field `.field-error` (id `<field>-error`) |
//! | loading | `.loading` |
//! | confirmation dialog | `.modal` with `#confirm-yes` / `#confirm-no` (Escape also cancels) |
//! | one-time secret | `#client-secret` (copy: `#copy-secret`, dismiss: `#secret-done`) |
//! | forms | inputs have the id of their API field, submit is `button[type=submit]`; the edit forms on list pages prefix `edit-` |
//! | tables | rows carry `data-id` of the resource (namespace slug, account id, client id, key id, audit event id) |
//! | load more | `#load-more` (users, groups, a group's members, audit log) |
//! | grant picker | `#grant`, `#add-grant`, suggestions `button.grant-option[data-grant]`, chosen `li[data-grant] button.remove-grant`; `#grant-error` |
//!
//! Per page:
//! - Overview (`/console/`): `#me`, `#my-grants`, `#my-clients` (rows `data-id`), `#my-events`.
//! - Namespaces: create `#slug`, `#display_name`; per row `button.rename` opens `#edit-display_name`
//!   (submit in `form#rename-form`), `button.delete` asks for confirmation; `select.mfa-policy`
//!   (`optional`/`required`) sets the namespace's second-factor policy.
//! - Users (`?ns=<slug>`): `#namespace` (select), `#q` (search as you type, 250 ms), `#disabled`
//!   (filter: "", "false", "true"); create `#username`, `#email`, `#phone_number`, `#name`, `#password`.
//!   Row links `a.user-link`.
//! - User detail: `#username`, `#email`, `#email_verified`, `#phone_number`, `#phone_number_verified`,
//!   `#name`, `#given_name`, `#family_name`, `#attributes` (`form#profile-form`); `#toggle-disabled`;
//!   `form#password-form` with `#password`; grants `form#grants-form` (picker + `#save-grants`);
//!   second factors `table#factors` rows `tr[data-id][data-kind]` with `button.remove` (asks
//!   for confirmation), `#no-factors`;
//!   `#delete-user`; the account's groups `#user-groups` (rows `tr[data-id=<group id>]`). Status
//!   line `.notice`.
//! - Groups (`?ns=<slug>`): `#namespace`; rows `tr[data-id]` with links `a.group-link`; create
//!   `#name`, `#description` (`form#create-form`).
//! - Group detail: `#name`, `#description` (`form#group-form`); `#delete-group`; grants
//!   `form#grants-form` (picker + `#save-grants`); members `table#members` rows
//!   `tr[data-id=<account id>]` with `button.remove-member` (`#load-more` pages on); add members:
//!   `#member-ns`, `#member-q` (search as you type), results `button.add-member[data-id]`.
//! - Clients: `#all_clients` (checkbox; off lists `owner=me`); create `#name`, picker,
//!   `#grant_type_client_credentials`, `#grant_type_authorization_code`, `#grant_type_refresh_token`,
//!   `#password_grant_enabled`, `#redirect_uris`, `#user_namespace`, `#token_endpoint_auth_method`,
//!   `#access_token_alg`. Row links `a.client-link`.
//! - Client detail: `#effective-permissions`, `#previous_secret_expires_in` (select, seconds) and
//!   `#rotate-secret`, `#toggle-disabled`, `#delete-client`, `#owner_account_id` + `#transfer`
//!   (`form#transfer-form`), grants `form#grants-form` with `#save-grants`; OAuth settings
//!   `form#oauth-settings-form`: `#settings_auth_method`, `#settings_jwks`, `#settings_jwks_uri`,
//!   `#settings_hybrid`, `#settings_par`, `#settings_dpop`, `#settings_backchannel_logout_uri`,
//!   `#settings_backchannel_logout_session_required`, `#save-oauth-settings`.
//! - Permission audit: `#owner` filter; rows `tr[data-client-id]`, dropped grants `.dropped`,
//!   the owner's grants held through a group `.sources li` ("… via group <name>"), the marker
//!   `.warning` (text mentions "lost").
//! - Audit log: `#actor`, `#target`, `#action`, `#namespace`, `#outcome`, `#since`, `#until`
//!   (RFC 3339 or a date, UTC); rows `tr[data-id]` with `button.event-open`; detail `#event-detail`
//!   with diff rows `tr.diff-row` (`.changed` where before and after differ); chain status
//!   `#chain-status` (`.ok` "Chain intact: N events verified" or `.broken` "Chain broken: …").
//! - Signing keys: rows `tr[data-id=<kid>]`, `#rotate-keys` (asks for confirmation).
//! - Your applications (the account's consents): `table#consents` rows `tr[data-id=<client_id>]`
//!   with `button.withdraw` (asks for confirmation); `#no-consents` when there are none.
//! - Security (the account's own factors): `table#factors` rows `tr[data-id][data-kind]` with
//!   `input.factor-name` + `button.rename` and `button.remove` (asks for confirmation);
//!   `#no-factors`; add a passkey `#passkey-name` + `#add-passkey`; add an app `#begin-totp`,
//!   then `figure.qr svg`, `#totp-secret`, `#totp-name`, `#totp-code`, `#confirm-totp`;
//!   `#regenerate-codes` shows `.recovery-codes li`.

mod api;
mod components;
mod json;
mod logic;
mod pages;
mod paths;
mod session;
mod tasks;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

use crate::components::confirm::{provide_confirm, ConfirmDialog};
use crate::session::{provide_session, use_me, use_session, Phase, SessionFailed, SignedOut};

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let session = provide_session();
    provide_confirm();
    let phase = Memo::new(move |_| session.phase.get());
    move || match phase.get() {
        Phase::Loading => {
            view! { <main class="signed-out"><components::Loading label="Checking your session…" /></main> }.into_any()
        }
        Phase::SignedOut(message) => view! { <SignedOut message=message /> }.into_any(),
        Phase::Failed(message) => view! { <SessionFailed message=message /> }.into_any(),
        Phase::SignedIn => view! { <Shell /> }.into_any(),
    }
}

/// The signed-in layout: top bar, navigation and the routed page.
#[component]
fn Shell() -> impl IntoView {
    let session = use_session();
    let me = use_me();
    let who = match (&me.username, &me.namespace) {
        (Some(u), Some(ns)) => format!("{u}@{ns}"),
        _ => me.client_id.clone().unwrap_or_else(|| me.id.to_string()),
    };
    view! {
        <Router>
            <div class="layout">
                <header class="topbar">
                    <a class="brand" href="/console/">"Gatehouse"</a>
                    <span class="who" title="Signed in as">{who}</span>
                    <button type="button" id="sign-out" class="button subtle" on:click=move |_| session.sign_out()>
                        "Sign out"
                    </button>
                </header>
                <nav class="sidebar" aria-label="Main">
                    <ul>
                        <li><A href="/console/" exact=true {..} data-nav="overview">"Overview"</A></li>
                        <li><A href="/console/namespaces" {..} data-nav="namespaces">"Namespaces"</A></li>
                        <li><A href="/console/users" {..} data-nav="users">"Users"</A></li>
                        <li><A href="/console/groups" {..} data-nav="groups">"Groups"</A></li>
                        <li><A href="/console/clients" {..} data-nav="clients">"API clients"</A></li>
                        <li><A href="/console/permissions" {..} data-nav="permissions">"Permission audit"</A></li>
                        <li><A href="/console/audit" {..} data-nav="audit">"Audit log"</A></li>
                        <li><A href="/console/keys" {..} data-nav="keys">"Signing keys"</A></li>
                        <li><A href="/console/log-streams" {..} data-nav="log-streams">"Log streams"</A></li>
                        <li><A href="/console/applications" {..} data-nav="applications">"Your applications"</A></li>
                        <li><A href="/console/security" {..} data-nav="security">"Security"</A></li>
                    </ul>
                </nav>
                <main class="content" id="main">
                    <Routes fallback=|| view! { <pages::NotFound /> }>
                        <Route path=path!("/console") view=pages::overview::Overview />
                        <Route path=path!("/console/namespaces") view=pages::namespaces::Namespaces />
                        <Route path=path!("/console/users") view=pages::users::Users />
                        <Route path=path!("/console/users/:ns/:id") view=pages::user_detail::UserDetail />
                        <Route path=path!("/console/groups") view=pages::groups::Groups />
                        <Route path=path!("/console/groups/:ns/:id") view=pages::group_detail::GroupDetail />
                        <Route path=path!("/console/clients") view=pages::clients::Clients />
                        <Route path=path!("/console/clients/:id") view=pages::client_detail::ClientDetail />
                        <Route path=path!("/console/permissions") view=pages::permissions::PermissionAudit />
                        <Route path=path!("/console/audit") view=pages::audit::AuditLog />
                        <Route path=path!("/console/keys") view=pages::keys::SigningKeys />
                        <Route path=path!("/console/log-streams") view=pages::log_streams::LogStreams />
                        <Route path=path!("/console/applications") view=pages::applications::Applications />
                        <Route path=path!("/console/security") view=pages::security::Security />
                    </Routes>
                </main>
            </div>
            <ConfirmDialog />
        </Router>
    }
}
