//! Permission audit: for every client I can list, granted vs owner vs effective (with the
//! owner's grants that come through groups, `.sources`), and the grants its owner has lost.

use gatehouse_api_types::{Client, EffectivePermissions, GrantVia};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, ApiError};
use crate::components::{GrantChips, Loading};
use crate::logic::audit::{lost_warning, owner_label, owner_matches};
use crate::paths;
use crate::tasks::Res;

#[derive(Clone)]
struct Row {
    client: Client,
    permissions: Result<EffectivePermissions, ApiError>,
}

/// Every client I may list (only mine when listing all is refused), with its effective
/// permissions; `true` when it had to fall back to mine.
async fn load() -> Result<(Vec<Row>, bool), ApiError> {
    let (clients, only_mine) = match api::get_all::<Client>(paths::CLIENT_LIST, 20).await {
        Ok(all) => (all, false),
        Err(e) if e.status == 403 => (api::get_all::<Client>(paths::MY_CLIENT_LIST, 20).await?, true),
        Err(e) => return Err(e),
    };
    let mut rows = Vec::with_capacity(clients.len());
    for client in clients {
        let path = paths::client_effective_permissions(&paths::client(&client.id.to_string()));
        let permissions = api::get::<EffectivePermissions>(&path).await;
        rows.push(Row { client, permissions });
    }
    Ok((rows, only_mine))
}

#[component]
pub fn PermissionAudit() -> impl IntoView {
    let data = Res::new(load);
    let owner = RwSignal::new(String::new());

    view! {
        <h1>"Permission audit"</h1>
        <p class="lead">"What each client was granted, what its owner holds, and what it may do now. A client whose owner lost grants is marked."</p>
        <div class="toolbar">
            <div class="field grow">
                <label for="owner">"Filter by owner"</label>
                <input id="owner" type="search" autocomplete="off" placeholder="Owner username, namespace or account id" bind:value=owner />
            </div>
            <button type="button" class="button" on:click=move |_| data.refetch()>"Reload"</button>
        </div>
        {move || match data.get() {
            None => view! { <Loading label="Checking every client…" /> }.into_any(),
            Some(Err(e)) => view! { <div class="error-banner" role="alert">{e.message()}</div> }.into_any(),
            Some(Ok((rows, only_mine))) => {
                let filter = owner.get();
                let shown: Vec<Row> = rows.into_iter().filter(|r| owner_matches(&filter, r.client.owner.as_ref())).collect();
                let warnings = shown.iter().filter(|r| r.permissions.as_ref().is_ok_and(|p| !p.dropped.is_empty())).count();
                view! {
                    {only_mine.then(|| view! { <p class="notice">"You may not list all clients; these are your own."</p> })}
                    <p class="summary" role="status">{format!("{} clients, {} with grants their owner lost", shown.len(), warnings)}</p>
                    <div class="table-wrap">
                        <table class="audit-table">
                            <thead>
                                <tr>
                                    <th scope="col">"Client"</th><th scope="col">"Owner"</th><th scope="col">"Granted"</th>
                                    <th scope="col">"Owner holds"</th><th scope="col">"Effective"</th><th scope="col">"Dropped"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {shown.into_iter().map(|r| {
                                    let link = format!("/console/clients/{}", r.client.id);
                                    let name = r.client.name.clone();
                                    let lost = r.permissions.as_ref().ok().and_then(|p| lost_warning(&p.dropped));
                                    let has_warning = lost.is_some();
                                    view! {
                                        <tr data-client-id=r.client.id.to_string() class:has-warning=has_warning>
                                            <td>
                                                <A href={link}>{name}</A>
                                                {lost.map(|w| view! { <p class="warning">{"⚠ "}{w}</p> })}
                                            </td>
                                            <td>{owner_label(r.client.owner.as_ref())}</td>
                                            {match r.permissions {
                                                Ok(p) => view! {
                                                    <td><GrantChips grants=p.granted /></td>
                                                    <td>
                                                        <GrantChips grants=p.owner />
                                                        <ul class="sources">
                                                            {p.owner_sources.into_iter().filter_map(|s| match s.via {
                                                                GrantVia::Group { name, .. } => Some(view! {
                                                                    <li><code>{s.grant}</code>" via group "{name}</li>
                                                                }),
                                                                GrantVia::Direct(_) => None,
                                                            }).collect_view()}
                                                        </ul>
                                                    </td>
                                                    <td><GrantChips grants=p.effective /></td>
                                                    <td>
                                                        <ul class="dropped">
                                                            {p.dropped.into_iter().map(|d| view! {
                                                                <li><code>{d.grant}</code>" — "{d.reason}</li>
                                                            }).collect_view()}
                                                        </ul>
                                                    </td>
                                                }.into_any(),
                                                Err(e) => view! { <td colspan="4" class="error-text">{e.message()}</td> }.into_any(),
                                            }}
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }
        }}
    }
}
