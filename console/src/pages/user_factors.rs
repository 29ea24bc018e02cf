//! An account's second factors on its detail page, with a reset (remove) button each. Removing
//! one needs `users:write` and power over the account, and signs the account out everywhere
//! (the server says so when it refuses).

use leptos::prelude::*;

use crate::components::factors::FactorTable;

#[component]
pub fn UserFactors(#[prop(into)] user_path: Signal<String>) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let path = Signal::derive(move || format!("{}/factors", user_path.get()));
    view! {
        <section class="card" aria-labelledby="factors-title">
            <h2 id="factors-title">"Second factors"</h2>
            <FactorTable path=path version=version renamable=false consequence="The account is signed out everywhere." />
        </section>
    }
}
