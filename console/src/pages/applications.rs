//! The applications the signed-in account allowed (its consents), and withdrawing one: the
//! application then asks again, and its refresh tokens for the account stop working.

use gatehouse_api_types::{Consent, Page};
use leptos::prelude::*;

use crate::api;
use crate::components::confirm::use_confirm;
use crate::components::{loaded, ErrorBanner};
use crate::logic::format;
use crate::paths;
use crate::tasks::{Act, Res};

#[component]
pub fn Applications() -> impl IntoView {
    let confirm = use_confirm();
    let consents = Res::new(|| api::get::<Page<Consent>>(paths::MY_CONSENTS));
    let notice = RwSignal::new(None::<String>);
    let withdraw_act = Act::new();
    let withdraw = move |(client_id, name): (String, String)| {
        let (client_id, name) = (client_id.clone(), name.clone());
        withdraw_act.run(async move {
            api::delete(&paths::my_consent(&client_id), None).await?;
            notice.set(Some(format!("{name} no longer has your consent; it will ask again.")));
            consents.refetch();
            Ok(())
        });
    };
    let withdraw_error = withdraw_act.error();
    let ask = move |client_id: String, name: String| {
        notice.set(None);
        confirm.ask(
            "Withdraw consent",
            format!("Withdraw what you allowed {name}? It loses its refresh tokens for your account and must ask you again."),
            "Withdraw",
            move || {
                withdraw((client_id.clone(), name.clone()));
            },
        );
    };

    view! {
        <h1>"Your applications"</h1>
        <p class="hint">"Applications you allowed to sign you in, and what they may see or do."</p>
        <ErrorBanner error=withdraw_error />
        {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        <section class="card">
            {loaded(consents, move |page: Page<Consent>| {
                if page.items.is_empty() {
                    return view! { <p id="no-consents">"You have not allowed any application."</p> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table id="consents">
                            <thead>
                                <tr><th scope="col">"Application"</th><th scope="col">"Allowed"</th><th scope="col">"Since"</th><th scope="col"></th></tr>
                            </thead>
                            <tbody>
                                {page.items.into_iter().map(|c| {
                                    let (id, name) = (c.client_id.clone(), c.client_name.clone());
                                    view! {
                                        <tr data-id=c.client_id.clone()>
                                            <td>{c.client_name.clone()}<br /><code>{c.client_id.clone()}</code></td>
                                            <td>{c.scope.iter().map(|s| view! { <code class="scope">{s.clone()}</code>" " }).collect_view()}</td>
                                            <td>{format::time(&c.granted_at)}</td>
                                            <td>
                                                <button type="button" class="button subtle withdraw" on:click=move |_| ask(id.clone(), name.clone())>
                                                    "Withdraw"
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            })}
        </section>
    }
}
