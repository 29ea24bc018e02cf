//! One module per page.

pub mod applications;
pub mod audit;
pub mod client_detail;
pub mod clients;
pub mod group_detail;
pub mod groups;
pub mod keys;
pub mod log_streams;
pub mod namespaces;
pub mod overview;
pub mod permissions;
pub mod security;
pub mod user_detail;
pub mod user_factors;
pub mod users;

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <h1>"Not found"</h1>
        <p>"There is no such page in the console. " <A href="/console/">"Go to the overview"</A></p>
    }
}
