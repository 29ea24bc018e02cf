//! A table of second factors (kind, name, added, last used) with a remove button per row, and,
//! for one's own, a rename field: the Security page and the user detail page share it.

use gatehouse_api_types::{Factor, FactorPatch, Page};
use leptos::prelude::*;

use super::confirm::use_confirm;
use super::{loaded, ErrorBanner};
use crate::api::{self, encode};
use crate::logic::format;
use crate::tasks::{Act, Res};

#[derive(Clone)]
enum Change {
    Rename(String, String),
    Remove(String),
}

/// The factors listed at `path` (each one at `path/{id}`); `version` changes refetch them.
#[component]
pub fn FactorTable(
    #[prop(into)] path: Signal<String>,
    version: RwSignal<u32>,
    /// One's own factors: names can be changed.
    renamable: bool,
    /// What removing one does besides, for the confirmation.
    consequence: &'static str,
) -> impl IntoView {
    let confirm = use_confirm();
    let notice = RwSignal::new(None::<String>);
    let factors = Res::new(move || {
        version.track();
        let path = path.get();
        async move { api::get::<Page<Factor>>(&path).await }
    });
    let change_act = Act::new();
    let change = move |change: Change| {
        let change = change.clone();
        let base = path.get_untracked();
        change_act.run(async move {
            let done = match change {
                Change::Rename(id, name) => {
                    let body = FactorPatch { name: name.trim().to_owned() };
                    api::patch::<_, Factor>(&format!("{base}/{}", encode(&id)), &body, None).await?;
                    "Renamed."
                }
                Change::Remove(id) => {
                    api::delete(&format!("{base}/{}", encode(&id)), None).await?;
                    "Removed."
                }
            };
            notice.set(Some(done.to_owned()));
            version.update(|v| *v += 1);
            Ok(())
        });
    };
    let error = change_act.error();
    let row = move |f: Factor| {
        let id = f.id.to_string();
        let name = RwSignal::new(f.name.clone());
        let (rename_id, remove_id, remove_name) = (id.clone(), id.clone(), f.name.clone());
        let kind = if f.kind == "webauthn" { "Passkey" } else { "Authenticator app" };
        view! {
            <tr data-id=id data-kind=f.kind.clone()>
                <td>{kind}</td>
                <td>
                    {if renamable {
                        view! {
                            <input class="factor-name" aria-label="Name" maxlength="100" bind:value=name />
                            <button type="button" class="button subtle rename"
                                on:click=move |_| { change(Change::Rename(rename_id.clone(), name.get_untracked())); }>"Rename"</button>
                        }.into_any()
                    } else {
                        view! { {f.name.clone()} }.into_any()
                    }}
                </td>
                <td>{format::time(&f.created_at)}</td>
                <td>{format::opt_time(f.last_used_at.as_ref())}</td>
                <td>
                    <button type="button" class="button danger remove" on:click=move |_| {
                        notice.set(None);
                        let id = remove_id.clone();
                        confirm.ask(
                            "Remove factor",
                            format!("Remove \u{201c}{remove_name}\u{201d}? {consequence}"),
                            "Remove",
                            move || { change(Change::Remove(id.clone())); },
                        );
                    }>"Remove"</button>
                </td>
            </tr>
        }
    };
    view! {
        {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        <ErrorBanner error=error />
        {loaded(factors, move |page: Page<Factor>| {
            if page.items.is_empty() {
                view! { <p id="no-factors" class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table id="factors">
                            <thead>
                                <tr><th scope="col">"Kind"</th><th scope="col">"Name"</th><th scope="col">"Added"</th><th scope="col">"Last used"</th><th scope="col"></th></tr>
                            </thead>
                            <tbody>{page.items.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any()
            }
        })}
    }
}
