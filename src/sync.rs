//! The synchronization primitives of the crate's hand-written concurrency, and locks that
//! outlive a panic.
//!
//! The queue (`queue`), credit (`credit`), the outbound gate (`socket::outbound`) and the
//! wake hub (`call::local_wakes`) take their atomics, locks and `AtomicWaker` from here.
//! A test build with `--cfg streampod_loom` swaps them for [loom](https://docs.rs/loom)'s,
//! whose model checker then runs every interleaving of the `loom_` tests beside each of
//! them (`.ci/run`: `RUSTFLAGS="--cfg streampod_loom" cargo test --lib loom_`). Any other
//! build is std's and futures', unchanged.

#[cfg(not(all(test, streampod_loom)))]
pub(crate) use futures::task::AtomicWaker;
#[cfg(not(all(test, streampod_loom)))]
pub(crate) use std::sync::atomic::AtomicU32;
// Only the server's pieces use these.
#[cfg(all(feature = "server", not(all(test, streampod_loom))))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize};
#[cfg(not(all(test, streampod_loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(all(test, streampod_loom))]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize};
#[cfg(all(test, streampod_loom))]
pub(crate) use loom::sync::{Mutex, MutexGuard};

use std::sync::PoisonError;
use std::task::{Context, Waker};

/// loom's `AtomicWaker`, with the methods of futures' that the crate uses.
#[cfg(all(test, streampod_loom))]
#[derive(Debug, Default)]
pub(crate) struct AtomicWaker(loom::future::AtomicWaker);

#[cfg(all(test, streampod_loom))]
impl AtomicWaker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.0.register_by_ref(waker);
    }

    pub(crate) fn wake(&self) {
        self.0.wake();
    }

    pub(crate) fn take(&self) -> Option<std::task::Waker> {
        self.0.take_waker()
    }
}

/// Locks `mutex`, even if a thread panicked while holding it: every mutex in this crate
/// guards data that a panic cannot leave half-written (user code never runs under one).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps the polling task's waker in `slot` (under the lock that guards it), for a wake
/// later: cloned only when the slot holds none, or another task's.
pub(crate) fn remember(slot: &mut Option<Waker>, cx: &Context<'_>) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        *slot = Some(cx.waker().clone());
    }
}
