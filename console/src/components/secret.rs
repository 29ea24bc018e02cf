//! A secret shown exactly once (`#client-secret`), with a copy button.
//!
//! The secret lives only in the signal of the page that received it: navigating away or
//! reloading drops it, and it is never written to storage.

use leptos::prelude::*;

#[component]
pub fn SecretPanel(
    secret: String,
    #[prop(into)] title: String,
    /// Extra context, e.g. when the previous secret stops working.
    #[prop(optional, into)]
    note: Option<String>,
    /// Hides the panel (forgets the secret).
    on_done: Callback<()>,
) -> impl IntoView {
    let copied = RwSignal::new(None::<&'static str>);
    let to_copy = secret.clone();
    let copy = move |_| {
        let text = to_copy.clone();
        leptos::task::spawn_local(async move {
            let ok = copy_to_clipboard(&text).await;
            copied.set(Some(if ok {
                "Copied to the clipboard."
            } else {
                "Could not copy; select the secret and copy it by hand."
            }));
        });
    };
    view! {
        <section class="secret-panel" aria-labelledby="secret-title">
            <h3 id="secret-title">{title}</h3>
            <p class="secret-warning">
                <strong>"This secret is shown once."</strong>
                " Copy it now and store it safely: it cannot be shown again, and leaving or reloading this page discards it."
            </p>
            <div class="secret-row">
                <code id="client-secret" class="secret">{secret}</code>
                <button type="button" id="copy-secret" class="button" on:click=copy>"Copy"</button>
            </div>
            <p class="muted" role="status">{move || copied.get()}</p>
            {note.map(|n| view! { <p class="hint">{n}</p> })}
            <button type="button" id="secret-done" class="button primary" on:click=move |_| on_done.run(())>
                "I have stored it"
            </button>
        </section>
    }
}

async fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}
