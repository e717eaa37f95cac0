//! The bound on what a client may queue on one call's input streams.
//!
//! A call without flow control bounds the values its method has not taken yet
//! ([`Config::max_queued_inputs`](crate::Config::max_queued_inputs)): the connection stops
//! reading its socket while the queue is full. A flow-controlled call has no such bound:
//! its client's credit bounds each input stream instead ([`InputFlow`]), and the values
//! the method takes go back to the client as grants.

use crate::queue::Sender;
use crate::stats::Counters;
use crate::sync::{AtomicBool, AtomicUsize};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::Notify;

/// Values a client sent on one call's input streams that the method has not taken yet.
///
/// The connection counts values in as it hands them over (those of one read at once), and
/// stops reading its socket once the count and the values it is about to hand over reach the
/// limit; values are counted out as the method takes them, when they
/// are discarded, and all at once when the call ends. This bounds what a client can queue
/// on a method that does not keep up, without losing anything. A flow-controlled call has
/// no limit here: its client's credit bounds each input stream instead.
#[doc(hidden)]
pub struct InputQueue {
    queued: AtomicUsize,
    limit: usize,
    /// For a flow-controlled call: how its input streams give credit back.
    flow: Option<InputFlow>,
    closed: AtomicBool,
    /// A method dropped one of the call's input streams since the call last looked.
    dropped: AtomicBool,
    /// Wakes the call to report an input its method dropped.
    dropped_wake: Notify,
    room: Notify,
    counters: Arc<Counters>,
}

/// How the input streams of a flow-controlled call give credit back to its client.
pub(crate) struct InputFlow {
    /// Values granted on each input stream at the open (`fc` of `omsr`).
    pub(crate) window: u32,
    /// Where the streams report values their method took; the call sends them as `crd`.
    pub(crate) grants: Sender<Grant>,
}

/// Values the method took from one input stream, to be granted back to the client.
#[derive(Debug)]
pub(crate) struct Grant {
    pub(crate) param: Arc<str>,
    pub(crate) n: u32,
}

impl InputQueue {
    /// The queue of a call that is not flow-controlled: at most `limit` values.
    pub(crate) fn new(limit: usize, counters: Arc<Counters>) -> Arc<Self> {
        Self::build(limit, None, counters)
    }

    /// The queue of a flow-controlled call, whose client gets `flow.window` values of
    /// credit on each input stream.
    pub(crate) fn flow_controlled(flow: InputFlow, counters: Arc<Counters>) -> Arc<Self> {
        Self::build(usize::MAX, Some(flow), counters)
    }

    fn build(limit: usize, flow: Option<InputFlow>, counters: Arc<Counters>) -> Arc<Self> {
        Arc::new(InputQueue {
            queued: AtomicUsize::new(0),
            limit: limit.max(1),
            flow,
            closed: AtomicBool::new(false),
            dropped: AtomicBool::new(false),
            dropped_wake: Notify::new(),
            room: Notify::new(),
            counters,
        })
    }

    /// `n` more values are on their way to the method (counted before it can take them).
    pub(crate) fn sent(&self, n: usize) {
        if self.is_closed() {
            return;
        }
        self.counters.queued_inputs.fetch_add(n, Ordering::Relaxed);
        self.queued.fetch_add(n, Ordering::AcqRel);
    }

    /// Whether `staged` values more, not yet [`sent`](Self::sent), fill the queue.
    pub(crate) fn fills(&self, staged: usize) -> bool {
        !self.is_closed()
            && self.queued.load(Ordering::Acquire).saturating_add(staged) >= self.limit
    }

    /// `n` values left the queue.
    pub(crate) fn taken(&self, n: usize) {
        if n == 0 {
            return;
        }
        if crate::stats::release(&self.queued, &self.counters.queued_inputs, n, self.limit) {
            self.room.notify_waiters();
        }
    }

    /// The call ended: nothing will be taken any more, and nobody should wait.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let left = self.queued.swap(0, Ordering::AcqRel);
        self.counters
            .queued_inputs
            .fetch_sub(left, Ordering::Relaxed);
        self.room.notify_waiters();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// A method dropped one of the call's input streams.
    pub(crate) fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
        // Kept for the call if it is not waiting now: no drop goes unreported.
        self.dropped_wake.notify_one();
    }

    /// Completes when a method has dropped an input stream since the last time.
    pub(crate) async fn dropped(self: Arc<Self>) {
        self.dropped_wake.notified().await;
    }

    /// For a flow-controlled call: how its input streams give credit back.
    pub(crate) fn flow(&self) -> Option<&InputFlow> {
        self.flow.as_ref()
    }

    /// Whether a method dropped an input stream since the last call; clears the mark. Lets
    /// the call skip looking at its inputs before each value it sends.
    pub(crate) fn take_dropped(&self) -> bool {
        // Looked at before each value sent: a plain load first, as a swap is a locked
        // instruction (on the project's KVM guest one costs tens of nanoseconds when it
        // follows the value's copy, whose stores it waits for).
        self.dropped.load(Ordering::Acquire) && self.dropped.swap(false, Ordering::AcqRel)
    }

    fn has_room(&self) -> bool {
        self.is_closed() || self.queued.load(Ordering::Acquire) < self.limit
    }

    /// Completes when the queue has room again (or the call ended).
    pub(crate) async fn room(self: Arc<Self>) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.has_room() {
                return;
            }
            notified.await;
        }
    }
}

impl std::fmt::Debug for InputQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputQueue")
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .field("limit", &self.limit)
            .field("window", &self.flow.as_ref().map(|flow| flow.window))
            .finish_non_exhaustive()
    }
}
