//! Edits a list of grants, offering only what the caller holds.
//!
//! Hooks: the typed grant `#grant`, the add button `#add-grant`, suggestions
//! `button.grant-option[data-grant]`, each listed grant `li[data-grant]` with `button.remove-grant`.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::components::FieldErrors;
use crate::logic::grants;
use crate::session::my_grants;

#[component]
pub fn GrantPicker(
    /// The grants being edited.
    grants: RwSignal<Vec<String>>,
    /// Server-side errors (field `permissions`).
    #[prop(into)]
    error: Signal<Option<ApiError>>,
    #[prop(default = "Grants")] legend: &'static str,
) -> impl IntoView {
    let held = StoredValue::new(my_grants());
    let typed = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);

    let add = move |text: String| match grants::check(&held.get_value(), &text) {
        Ok(grant) => {
            grants.update(|list| *list = grants::with_grant(list, &grant));
            typed.set(String::new());
            problem.set(None);
        }
        Err(why) => problem.set(Some(why)),
    };
    let remove = move |grant: String| grants.update(|list| list.retain(|g| *g != grant));
    let suggestions = move || grants::offered(&held.get_value(), &typed.get(), 12);

    view! {
        <fieldset class="grant-picker">
            <legend>{legend}</legend>
            <ul class="chips editable" aria-label="Selected grants">
                {move || {
                    let list = grants.get();
                    if list.is_empty() {
                        view! { <li class="muted">"No grants"</li> }.into_any()
                    } else {
                        list.into_iter()
                            .map(|g| {
                                let label = format!("Remove {g}");
                                let value = g.clone();
                                let attr = g.clone();
                                view! {
                                    <li data-grant=attr>
                                        <code>{g}</code>
                                        <button type="button" class="remove-grant" aria-label=label on:click=move |_| remove(value.clone())>
                                            "×"
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }
                }}
            </ul>
            <div class="field">
                <label for="grant">"Add a grant"</label>
                <div class="inline">
                    <input
                        id="grant"
                        type="text"
                        autocomplete="off"
                        placeholder="users:read@customers"
                        aria-describedby="grant-hint"
                        bind:value=typed
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" {
                                ev.prevent_default();
                                add(typed.get_untracked());
                            }
                        }
                    />
                    <button type="button" id="add-grant" class="button" on:click=move |_| add(typed.get_untracked())>
                        "Add"
                    </button>
                </div>
                <p class="hint" id="grant-hint">
                    "<resource>:<action>@<namespace>, each part may be *. You can only grant what you hold yourself, or a narrower part of it."
                </p>
                {move || problem.get().map(|p| view! { <p class="field-error" id="grant-error">{p}</p> })}
                <FieldErrors error=error field="permissions" />
            </div>
            <div class="suggestions" aria-label="Grants you hold">
                {move || {
                    suggestions()
                        .into_iter()
                        .map(|g| {
                            let value = g.clone();
                            let attr = g.clone();
                            view! {
                                <button type="button" class="grant-option" data-grant=attr on:click=move |_| add(value.clone())>
                                    {g}
                                </button>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </fieldset>
    }
}
