//! The in-page confirmation dialog of destructive actions (`#confirm-yes` / `#confirm-no`).

use std::sync::Arc;

use leptos::html;
use leptos::prelude::*;

#[derive(Clone)]
struct Request {
    title: String,
    message: String,
    confirm_label: String,
    on_yes: Arc<dyn Fn() + Send + Sync>,
}

/// Asks before a destructive action; one dialog for the whole console.
#[derive(Clone, Copy)]
pub struct Confirm(RwSignal<Option<Request>>);

impl Confirm {
    pub fn ask(
        &self,
        title: impl Into<String>,
        message: impl Into<String>,
        confirm_label: impl Into<String>,
        on_yes: impl Fn() + Send + Sync + 'static,
    ) {
        self.0.set(Some(Request {
            title: title.into(),
            message: message.into(),
            confirm_label: confirm_label.into(),
            on_yes: Arc::new(on_yes),
        }));
    }
}

pub fn provide_confirm() {
    provide_context(Confirm(RwSignal::new(None)));
}

pub fn use_confirm() -> Confirm {
    expect_context::<Confirm>()
}

#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let state = use_confirm().0;
    let no_button = NodeRef::<html::Button>::new();
    // Focus the safe choice when the dialog opens.
    Effect::new(move |_| {
        if state.with(Option::is_some) {
            if let Some(button) = no_button.get() {
                let _ = button.focus();
            }
        }
    });
    let close = move || state.set(None);
    let yes = move |_| {
        let request = state.get_untracked();
        state.set(None);
        if let Some(r) = request {
            (r.on_yes)();
        }
    };
    let keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            close();
        }
    };
    move || {
        state.get().map(|r| {
            view! {
                <div class="modal-backdrop">
                    <div
                        class="modal"
                        role="alertdialog"
                        aria-modal="true"
                        aria-labelledby="confirm-title"
                        aria-describedby="confirm-message"
                        on:keydown=keydown
                    >
                        <h2 id="confirm-title">{r.title}</h2>
                        <p id="confirm-message">{r.message}</p>
                        <div class="actions">
                            <button type="button" id="confirm-no" class="button" node_ref=no_button on:click=move |_| close()>
                                "Cancel"
                            </button>
                            <button type="button" id="confirm-yes" class="button danger" on:click=yes>
                                {r.confirm_label}
                            </button>
                        </div>
                    </div>
                </div>
            }
        })
    }
}
