//! Building blocks shared by the pages.

pub mod confirm;
pub mod factors;
pub mod grant_picker;
pub mod pager;
pub mod secret;

use leptos::prelude::*;

use crate::api::ApiError;
use crate::tasks::Res;

#[component]
pub fn Loading(#[prop(optional, into)] label: Option<String>) -> impl IntoView {
    view! { <p class="loading" role="status">{label.unwrap_or_else(|| "Loading…".to_owned())}</p> }
}

/// The `.error-banner` of a failed request, or nothing.
#[component]
pub fn ErrorBanner(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e.message()}</div> })
}

/// A fixed error message as an `.error-banner`.
#[component]
pub fn ErrorText(#[prop(into)] message: String) -> impl IntoView {
    view! { <div class="error-banner" role="alert">{message}</div> }
}

/// The `.field-error`s of one field (`id` is `<field>-error` for `aria-describedby`).
#[component]
pub fn FieldErrors(#[prop(into)] error: Signal<Option<ApiError>>, field: &'static str) -> impl IntoView {
    move || {
        let messages = error.with(|e| e.as_ref().map(|e| e.errors_for(field)).unwrap_or_default());
        (!messages.is_empty()).then(|| {
            view! { <p class="field-error" id=format!("{field}-error")>{messages.join("; ")}</p> }
        })
    }
}

/// A labelled text input bound to `value`, with its field errors.
#[component]
pub fn TextField(
    /// The input's id, also the API field whose errors it shows.
    id: &'static str,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<ApiError>>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] required: bool,
    #[prop(default = "off")] autocomplete: &'static str,
    /// The API field, when it differs from the id.
    #[prop(optional)]
    field: Option<&'static str>,
) -> impl IntoView {
    let field = field.unwrap_or(id);
    let hint_id = format!("{id}-hint");
    let described = hint.is_some().then(|| hint_id.clone());
    let invalid = move || error.with(|e| e.as_ref().is_some_and(|e| !e.errors_for(field).is_empty())).then_some("true");
    view! {
        <div class="field">
            <label for=id>{label}{required.then_some(" *")}</label>
            <input
                id=id
                name=field
                type=input_type
                autocomplete=autocomplete
                required=required
                aria-describedby=described
                aria-invalid=invalid
                bind:value=value
            />
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            <FieldErrors error=error field=field />
        </div>
    }
}

/// "active" or "disabled", for an account or a client.
#[component]
pub fn StatusBadge(disabled: bool) -> impl IntoView {
    if disabled {
        view! { <span class="badge off">"disabled"</span> }
    } else {
        view! { <span class="badge on">"active"</span> }
    }
}

/// A list of strings as `<code>` chips, or a dash.
#[component]
pub fn GrantChips(grants: Vec<String>) -> impl IntoView {
    if grants.is_empty() {
        view! { <span class="muted">"none"</span> }.into_any()
    } else {
        view! {
            <ul class="chips">
                {grants.into_iter().map(|g| view! { <li><code>{g}</code></li> }).collect_view()}
            </ul>
        }
        .into_any()
    }
}

/// Renders a resource: loading indicator, error banner, or `render`.
pub fn loaded<T, V>(res: Res<T>, render: impl Fn(T) -> V + Send + Sync + 'static) -> impl IntoView
where
    T: Clone + 'static,
    V: IntoView + 'static,
{
    move || match res.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Ok(value)) => render(value).into_any(),
        Some(Err(e)) => view! { <ErrorText message=e.message() /> }.into_any(),
    }
}
