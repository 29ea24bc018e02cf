//! The console's asynchronous work, type-erased: [`Res`], a resource loaded by a request, and
//! [`Act`], a change run to its end with its pending state and error.
//!
//! Leptos's `LocalResource<T>` and `Action<I, O>` bring their whole async machinery (the
//! reactive node, the task, the polling of its future) once per value type and per closure,
//! and those copies were most of what each new page added to the WASM. Here there is one
//! `LocalResource` instance for every resource of every page (its value is an `Rc<dyn Any>`
//! and its future is boxed), and no `Action` at all: [`Act`] is three signals and one spawn of
//! a boxed future. The typed surface ([`Res::get`], [`Act::run`]) is a thin shell around those.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{ApiError, Fut};

/// What every resource holds: the loaded value, type-erased, or the error.
type Loaded = Result<Rc<dyn Any>, ApiError>;

/// A resource loaded by `load`, which reruns when a signal it read before its first `.await`
/// changes, or on [`Res::refetch`].
pub struct Res<T> {
    inner: LocalResource<Loaded>,
    ty: PhantomData<fn() -> T>,
}

impl<T> Clone for Res<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Res<T> {}

impl<T: Clone + 'static> Res<T> {
    pub fn new<F>(load: impl Fn() -> F + 'static) -> Self
    where
        F: Future<Output = Result<T, ApiError>> + 'static,
    {
        let inner = erased(Box::new(move || {
            // Called here, synchronously: what `load` reads before its first `.await` is tracked.
            let loading = load();
            Box::pin(async move { loading.await.map(|value| Rc::new(value) as Rc<dyn Any>) })
        }));
        Res { inner, ty: PhantomData }
    }

    /// The value (tracked): `None` while loading.
    pub fn get(&self) -> Option<Result<T, ApiError>> {
        self.inner.get().map(open)
    }

    pub fn get_untracked(&self) -> Option<Result<T, ApiError>> {
        self.inner.get_untracked().map(open)
    }

    pub fn refetch(&self) {
        self.inner.refetch();
    }
}

/// The one `LocalResource` instance.
fn erased(load: Box<dyn Fn() -> Fut<Loaded>>) -> LocalResource<Loaded> {
    LocalResource::new(load)
}

fn open<T: Clone + 'static>(loaded: Loaded) -> Result<T, ApiError> {
    // `Res<T>` only ever stores a `T`.
    loaded.map(|value| value.downcast_ref::<T>().cloned().unwrap_or_else(|| unreachable!()))
}

/// A change: [`Act::run`] runs its future to the end (leaving the page does not abort it);
/// [`Act::pending`] while any run is under way; [`Act::error`] of the run that ended last
/// (none when it ended well; [`Act::clear`] forgets it), as Leptos's `Action` value was.
#[derive(Clone, Copy)]
pub struct Act {
    in_flight: RwSignal<u32>,
    error: RwSignal<Option<ApiError>>,
}

impl Default for Act {
    fn default() -> Self {
        Self::new()
    }
}

impl Act {
    pub fn new() -> Self {
        Act { in_flight: RwSignal::new(0), error: RwSignal::new(None) }
    }

    pub fn run(self, work: impl Future<Output = Result<(), ApiError>> + 'static) {
        self.spawn(Box::pin(work));
    }

    fn spawn(self, work: Fut<Result<(), ApiError>>) {
        self.in_flight.update(|n| *n += 1);
        spawn_local(async move {
            let result = work.await;
            self.in_flight.try_update(|n| *n = n.saturating_sub(1));
            self.error.try_set(result.err());
        });
    }

    /// Whether a run is under way (tracked).
    pub fn pending(self) -> bool {
        self.in_flight.get() > 0
    }

    /// The error of the latest run, for [`crate::components::ErrorBanner`] and
    /// [`crate::components::FieldErrors`].
    pub fn error(self) -> Signal<Option<ApiError>> {
        self.error.into()
    }

    /// Forgets the error.
    pub fn clear(self) {
        self.error.set(None);
    }
}
