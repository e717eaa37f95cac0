//! Wakes of call actors that come from other threads, gathered into one local task.
//!
//! A method's stream is often woken from another thread: a bus post from an HTTP handler,
//! the Redis link, a feed thread. Such a wake lands in the arbiter's remote queue, while
//! the wake the call then gives its connection is local, and tokio's `LocalSet` runs local
//! tasks first. So a post reaching 10,000 calls on 100 connections ran call 1, connection
//! A's writer, call 2, connection B's writer, …: one `send` syscall per frame (measured:
//! 0.6 per delivery, over half of the server's CPU in `tcp_sendmsg`).
//!
//! Here a call's stream is polled with a waker that, when woken from another thread, hands
//! the call's real waker to its arbiter's hub; the hub's task, woken once, wakes all the
//! calls gathered so far from inside the arbiter. Those wakes are local, so every call
//! runs before the connections they wake, and each connection writes its frames in one
//! batch. A wake from the arbiter's own thread goes straight through, as before.
//!
//! The hub holds at most one waker per call: a call's waker is taken out when a wake is
//! forwarded and registered again only when the call polls its stream.

use crate::sync::{lock, AtomicBool, AtomicWaker, Mutex};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

thread_local! {
    /// This thread's hub, once a call has run on it.
    static HUB: RefCell<Option<Arc<Hub>>> = const { RefCell::new(None) };
    /// A per-thread address, to tell the hub's thread from others without a syscall.
    static MARK: u8 = const { 0 };
}

fn this_thread() -> usize {
    MARK.with(|mark| mark as *const u8 as usize)
}

/// The wakes waiting for one arbiter thread.
struct Hub {
    thread: usize,
    pending: Mutex<Vec<Waker>>,
    /// The hub's task has been woken and not yet run.
    scheduled: AtomicBool,
    task: AtomicWaker,
    /// The hub's task still exists (its arbiter runs).
    alive: AtomicBool,
}

impl Hub {
    /// This thread's hub, started on first use. Must be called on an arbiter thread.
    fn current() -> Arc<Hub> {
        HUB.with(|slot| {
            let mut slot = slot.borrow_mut();
            if let Some(hub) = slot
                .as_ref()
                .filter(|hub| hub.alive.load(Ordering::Acquire))
            {
                return hub.clone();
            }
            let hub = Arc::new(Hub {
                thread: this_thread(),
                pending: Mutex::new(Vec::new()),
                scheduled: AtomicBool::new(false),
                task: AtomicWaker::new(),
                alive: AtomicBool::new(true),
            });
            actix::spawn(HubTask(hub.clone()));
            *slot = Some(hub.clone());
            hub
        })
    }

    /// A wake from another thread: queue it for the hub's task.
    fn push(&self, waker: Waker) {
        if !self.alive.load(Ordering::Acquire) {
            return waker.wake();
        }
        lock(&self.pending).push(waker);
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            self.task.wake();
        }
        // The arbiter stopped while this wake was queued: nobody else will deliver it.
        if !self.alive.load(Ordering::Acquire) {
            self.wake_all();
        }
    }

    fn wake_all(&self) {
        let woken = std::mem::take(&mut *lock(&self.pending));
        for waker in woken {
            waker.wake();
        }
    }
}

/// The hub's task on its arbiter: wakes, from inside the arbiter, every call queued since
/// it last ran.
struct HubTask(Arc<Hub>);

impl Future for HubTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.task.register(cx.waker());
        // Cleared before taking the queue, so that a wake queued after the take wakes the
        // task again.
        self.0.scheduled.store(false, Ordering::Release);
        self.0.wake_all();
        Poll::Pending
    }
}

impl Drop for HubTask {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::Release);
        self.0.wake_all();
    }
}

/// The waker a call's stream sees: forwards to the call's task, through the hub when the
/// wake comes from another thread.
struct Forward {
    call: AtomicWaker,
    hub: Arc<Hub>,
}

impl Wake for Forward {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if this_thread() == self.hub.thread {
            self.call.wake();
        } else if let Some(waker) = self.call.take() {
            self.hub.push(waker);
        }
    }
}

/// A stream polled with a [`Forward`] waker. Create it on the arbiter that polls it.
pub(crate) struct LocalWakes<S> {
    inner: S,
    forward: Arc<Forward>,
    waker: Waker,
}

impl<S> LocalWakes<S> {
    pub(crate) fn new(inner: S) -> Self {
        let forward = Arc::new(Forward {
            call: AtomicWaker::new(),
            hub: Hub::current(),
        });
        LocalWakes {
            inner,
            waker: Waker::from(forward.clone()),
            forward,
        }
    }
}

impl<S: futures::Stream + Unpin> futures::Stream for LocalWakes<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        this.forward.call.register(cx.waker());
        let mut forwarded = Context::from_waker(&this.waker);
        Pin::new(&mut this.inner).poll_next(&mut forwarded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn wake_from_another_thread(forward: &Arc<Forward>) {
        let forward = forward.clone();
        std::thread::spawn(move || Waker::from(forward).wake())
            .join()
            .unwrap();
    }

    #[test]
    fn a_foreign_wake_arrives_through_the_hub_and_still_arrives_once_the_hub_is_gone() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let call = Waker::from(count.clone());
        let system = actix::System::new();
        let (forward, first_hub) = system.block_on(async {
            let hub = Hub::current();
            let forward = Arc::new(Forward {
                call: AtomicWaker::new(),
                hub: hub.clone(),
            });
            forward.call.register(&call);
            wake_from_another_thread(&forward);
            // The hub's task runs when this task lets it.
            for _ in 0..1000 {
                if count.0.load(Ordering::SeqCst) > 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            (forward, hub)
        });
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken by the hub's task");

        // The arbiter is gone, and its hub task with it: a wake goes straight through.
        drop(system);
        assert!(!first_hub.alive.load(Ordering::SeqCst));
        forward.call.register(&call);
        wake_from_another_thread(&forward);
        assert_eq!(count.0.load(Ordering::SeqCst), 2, "woken directly");

        // A new arbiter on the same thread gets a hub of its own.
        let system = actix::System::new();
        let second_hub = system.block_on(async { Hub::current() });
        assert!(!Arc::ptr_eq(&first_hub, &second_hub));
        assert!(second_hub.alive.load(Ordering::SeqCst));
    }
}

/// Every interleaving of a foreign wake with the hub's task (`--cfg streampod_loom`). loom
/// runs its threads on one OS thread, so the hub here belongs to no thread: every wake is
/// foreign and goes through it.
#[cfg(all(test, streampod_loom))]
mod loom_tests {
    use super::*;

    /// The call's waker: records that it was woken.
    struct Woken(AtomicBool);

    impl Wake for Woken {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::Release);
        }
    }

    fn foreign_hub() -> Arc<Hub> {
        Arc::new(Hub {
            thread: usize::MAX,
            pending: Mutex::new(Vec::new()),
            scheduled: AtomicBool::new(false),
            task: AtomicWaker::new(),
            alive: AtomicBool::new(true),
        })
    }

    /// A call that registered its waker with a forwarder on `hub`.
    fn call_on(hub: &Arc<Hub>) -> (Arc<Woken>, Arc<Forward>) {
        let woken = Arc::new(Woken(AtomicBool::new(false)));
        let forward = Arc::new(Forward {
            call: AtomicWaker::new(),
            hub: hub.clone(),
        });
        forward.call.register(&Waker::from(woken.clone()));
        (woken, forward)
    }

    #[test]
    fn loom_a_foreign_wake_reaches_the_call_through_the_hubs_task() {
        loom::model(|| {
            let hub = foreign_hub();
            let (woken, forward) = call_on(&hub);
            let waker = loom::thread::spawn(move || Waker::from(forward).wake());
            // The hub's task runs whenever it is woken; a wake lost on the way leaves it
            // parked for ever, a deadlock loom reports.
            let mut task = HubTask(hub.clone());
            loom::future::block_on(futures::future::poll_fn(|cx| {
                let _ = Pin::new(&mut task).poll(cx);
                match woken.0.load(Ordering::Acquire) {
                    true => Poll::Ready(()),
                    false => Poll::Pending,
                }
            }));
            waker.join().unwrap();
        });
    }

    #[test]
    fn loom_a_wake_racing_the_hubs_end_still_reaches_the_call() {
        loom::model(|| {
            let hub = foreign_hub();
            let (woken, forward) = call_on(&hub);
            let waker = loom::thread::spawn(move || Waker::from(forward).wake());
            // The arbiter stops: its hub task goes, while the wake is on its way.
            drop(HubTask(hub.clone()));
            waker.join().unwrap();
            assert!(woken.0.load(Ordering::Acquire));
            assert!(lock(&hub.pending).is_empty());
        });
    }
}
