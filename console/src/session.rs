//! The console session: who is signed in, and the signed-out screen.
//!
//! `GET /console/session` answers the signed-in administrator and the CSRF token (kept in
//! memory by the api module only). A 401 there, or from any `/api/v1` request later, shows the
//! signed-out screen with a plain link to `/console/login`, where the server runs the OAuth flow.

use gatehouse_api_types::{ConsoleSession, Me};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::paths;

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Loading,
    SignedIn,
    /// With a message such as "Signed out".
    SignedOut(Option<String>),
    /// The session could not be checked (server unreachable, 5xx).
    Failed(String),
}

/// The session in context: the phase, and the session while signed in.
#[derive(Clone, Copy)]
pub struct Session {
    pub phase: RwSignal<Phase>,
    current: RwSignal<Option<ConsoleSession>>,
}

impl Session {
    fn end(&self, message: Option<String>) {
        api::set_csrf_token(None);
        self.current.set(None);
        self.phase.set(Phase::SignedOut(message));
    }

    /// Loads `/console/session`.
    pub fn load(&self) {
        let session = *self;
        session.phase.set(Phase::Loading);
        spawn_local(async move {
            match api::send("GET", paths::SESSION, None, None, false).await.and_then(|r| r.json::<ConsoleSession>()) {
                Ok(current) => {
                    api::set_csrf_token(Some(current.csrf_token.clone()));
                    session.current.set(Some(current));
                    session.phase.set(Phase::SignedIn);
                }
                Err(e) if e.status == 401 => session.end(None),
                Err(e) => session.phase.set(Phase::Failed(e.message())),
            }
        });
    }

    /// `POST /console/logout`, then the signed-out screen whatever the answer.
    pub fn sign_out(&self) {
        let session = *self;
        spawn_local(async move {
            let _ = api::send("POST", paths::LOGOUT, None, None, true).await;
            session.end(Some("Signed out".to_owned()));
        });
    }

    /// The signed-in caller (only called under the signed-in shell).
    pub fn me(&self) -> Option<Me> {
        self.current.with_untracked(|c| c.as_ref().map(|c| c.me.clone()))
    }
}

/// Creates the session, puts it in context and starts loading it.
pub fn provide_session() -> Session {
    let session = Session { phase: RwSignal::new(Phase::Loading), current: RwSignal::new(None) };
    api::on_unauthorized(move || {
        if session.phase.get_untracked() == Phase::SignedIn {
            session.end(Some("Your session has ended; sign in again.".to_owned()));
        }
    });
    provide_context(session);
    session.load();
    session
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// The signed-in caller. Pages are only rendered while signed in.
pub fn use_me() -> Me {
    use_session().me().expect("a page rendered without a session")
}

/// The grants the caller may hand out (its effective permissions).
pub fn my_grants() -> Vec<String> {
    use_me().effective_permissions
}

#[component]
pub fn SignedOut(message: Option<String>) -> impl IntoView {
    view! {
        <main class="signed-out">
            <section class="card narrow">
                <h1>"Gatehouse console"</h1>
                {message.map(|m| view! { <p class="notice" role="status">{m}</p> })}
                <p>"Sign in with an administrator account to manage namespaces, users, clients and keys."</p>
                // rel=external: a full page navigation; the server runs the sign-in flow.
                <a id="sign-in" class="button primary" href="/console/login" rel="external">"Sign in"</a>
            </section>
        </main>
    }
}

#[component]
pub fn SessionFailed(message: String) -> impl IntoView {
    let session = use_session();
    view! {
        <main class="signed-out">
            <section class="card narrow">
                <h1>"Gatehouse console"</h1>
                <div class="error-banner" role="alert">{message}</div>
                <button type="button" class="button" on:click=move |_| session.load()>"Retry"</button>
            </section>
        </main>
    }
}
