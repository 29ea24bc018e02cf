//! Keyset paging with "Load more": the items loaded so far and the next page token.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, encode, ApiError};
use crate::components::{ErrorBanner, Loading};
use crate::json::FromJson;

/// The pages of one list, loaded one after another. A reload (new filter) discards answers
/// still under way for the previous one.
pub struct Pager<T: Send + Sync + 'static> {
    pub items: RwSignal<Vec<T>>,
    pub next: RwSignal<Option<String>>,
    pub loading: RwSignal<bool>,
    pub error: RwSignal<Option<ApiError>>,
    path: StoredValue<String>,
    generation: StoredValue<u64>,
}

impl<T: Send + Sync + 'static> Clone for Pager<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Pager<T> {}

impl<T: FromJson + Send + Sync + 'static> Pager<T> {
    pub fn new() -> Self {
        Pager {
            items: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
            path: StoredValue::new(String::new()),
            generation: StoredValue::new(0),
        }
    }

    /// Loads the first page of `path` (with its query, without a page token).
    pub fn reload(&self, path: String) {
        self.path.set_value(path);
        self.generation.update_value(|g| *g += 1);
        self.items.set(Vec::new());
        self.next.set(None);
        self.fetch(None);
    }

    /// Appends the next page, if there is one.
    pub fn load_more(&self) {
        if let Some(token) = self.next.get_untracked() {
            self.fetch(Some(token));
        }
    }

    fn fetch(&self, token: Option<String>) {
        let this = *self;
        let generation = this.generation.get_value();
        let base = this.path.get_value();
        let url = match &token {
            Some(t) => format!("{base}{}page_token={}", if base.contains('?') { '&' } else { '?' }, encode(t)),
            None => base,
        };
        this.loading.set(true);
        this.error.set(None);
        spawn_local(async move {
            // The page through the one type-erased path; only its items are decoded as `T`.
            let result = api::get_page(&url).await.and_then(|(items, next)| Ok((api::decode_all::<T>(items)?, next)));
            // A newer reload, or the page is gone.
            if this.generation.try_get_value() != Some(generation) {
                return;
            }
            this.loading.try_set(false);
            match result {
                Ok((page, next)) => {
                    this.items.try_update(|items| items.extend(page));
                    this.next.try_set(next);
                }
                Err(e) => {
                    this.error.try_set(Some(e));
                }
            }
        });
    }
}

/// Loading indicator, error banner and the `#load-more` button of a pager.
#[component]
pub fn PagerFooter<T: FromJson + Send + Sync + 'static>(pager: Pager<T>) -> impl IntoView {
    view! {
        <ErrorBanner error=pager.error />
        {move || pager.loading.get().then(|| view! { <Loading /> })}
        {move || {
            (pager.next.with(Option::is_some) && !pager.loading.get()).then(|| {
                view! {
                    <button type="button" id="load-more" class="button" on:click=move |_| pager.load_more()>
                        "Load more"
                    </button>
                }
            })
        }}
    }
}
