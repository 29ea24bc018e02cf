//! Signing keys: list, rotate (needs keys:write@*; the server says so when it is missing).

use gatehouse_api_types::SigningKey;
use leptos::prelude::*;

use crate::api;
use crate::components::confirm::use_confirm;
use crate::components::{loaded, ErrorBanner, Loading};
use crate::logic::format;
use crate::paths;
use crate::tasks::{Act, Res};

#[component]
pub fn SigningKeys() -> impl IntoView {
    let confirm = use_confirm();
    let keys = Res::new(|| api::get::<Vec<SigningKey>>(paths::KEYS));
    let notice = RwSignal::new(None::<String>);
    let rotating = Act::new();
    let rotate = move || {
        rotating.run(async move {
            api::post_empty::<Vec<SigningKey>>(paths::KEYS_ROTATE).await?;
            notice.set(Some("Keys rotated: the next key now signs, the previous one still verifies.".to_owned()));
            keys.refetch();
            Ok(())
        });
    };
    let rotate_error = rotating.error();
    let ask = move |_| {
        notice.set(None);
        confirm.ask(
            "Rotate signing keys",
            "Rotate the signing keys of every algorithm? The next key starts signing; tokens signed by the current key stay valid until they expire.",
            "Rotate keys",
            move || {
                rotate();
            },
        );
    };

    view! {
        <h1>"Signing keys"</h1>
        <div class="toolbar">
            <button type="button" id="rotate-keys" class="button" disabled=move || rotating.pending() on:click=ask>"Rotate keys"</button>
        </div>
        <ErrorBanner error=rotate_error />
        {move || rotating.pending().then(|| view! { <Loading label="Rotating…" /> })}
        {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        <section class="card">
            {loaded(keys, |list: Vec<SigningKey>| view! {
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr><th scope="col">"Key id"</th><th scope="col">"Algorithm"</th><th scope="col">"State"</th><th scope="col">"Created"</th><th scope="col">"Activated"</th></tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|k| view! {
                                <tr data-id=k.kid.clone()>
                                    <td><code>{k.kid.clone()}</code></td>
                                    <td>{k.alg.as_str()}</td>
                                    <td><span class=format!("badge state-{}", k.state)>{k.state.as_str()}</span></td>
                                    <td>{format::time(&k.created_at)}</td>
                                    <td>{format::opt_time(k.activated_at.as_ref())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
        </section>
    }
}
