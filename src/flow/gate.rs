//! The outbound gate: bytes produced for one connection and not yet taken by its socket.
//!
//! Every frame written for a connection is counted in its [`OutboundGate`] when it is
//! produced, and counted out when the HTTP layer takes its bytes for the socket (the
//! socket edge's `Drain` around the WebSocket context's output). Call actors poll their
//! method's output only while the gate has room, so a client that stops reading makes its
//! own methods wait instead of growing the server's memory; other connections are
//! unaffected. Producers that cannot wait ([`OutboundGate::try_add`]) close the connection
//! instead.

use crate::stats::{release, Counters};
use crate::sync::{lock, AtomicUsize, Mutex};
use futures::Stream;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Bytes produced for one connection and not yet handed to its socket.
pub(crate) struct OutboundGate {
    queued: AtomicUsize,
    limit: usize,
    waiting: Mutex<Vec<Waker>>,
    pub(crate) counters: Arc<Counters>,
}

impl OutboundGate {
    pub(crate) fn new(limit: usize, counters: Arc<Counters>) -> Arc<Self> {
        Arc::new(OutboundGate {
            queued: AtomicUsize::new(0),
            limit: limit.max(1),
            waiting: Mutex::new(Vec::new()),
            counters,
        })
    }

    /// A frame of `n` bytes was produced.
    pub(crate) fn add(&self, n: usize) {
        self.queued.fetch_add(n, Ordering::AcqRel);
        self.counters.outbound_bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// A frame of `n` bytes, if the connection has room for it (the rule method streams
    /// follow: room while less than the limit is queued). For producers that cannot wait,
    /// such as a legacy endpoint sending to one of many sessions.
    pub(crate) fn try_add(&self, n: usize) -> bool {
        if self.queued() >= self.limit {
            return false;
        }
        self.add(n);
        true
    }

    /// `n` bytes left: taken by the socket, or (on a resumable connection) acknowledged by
    /// the peer.
    pub(crate) fn release(&self, n: usize) {
        if release(&self.queued, &self.counters.outbound_bytes, n, self.limit) {
            let waiting = std::mem::take(&mut *lock(&self.waiting));
            waiting.into_iter().for_each(Waker::wake);
        }
    }

    /// Bytes produced and not yet sent.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Ready while there is room; otherwise wakes the task once there is.
    fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.queued() < self.limit {
            return Poll::Ready(());
        }
        lock(&self.waiting).push(cx.waker().clone());
        // Room may have appeared while registering.
        if self.queued() < self.limit {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A method's output, polled only while its connection has room.
pub(crate) struct Gated<S> {
    pub(crate) inner: S,
    pub(crate) gate: Arc<OutboundGate>,
}

impl<S: Stream + Unpin> Stream for Gated<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if self.gate.poll_room(cx).is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

impl Drop for OutboundGate {
    fn drop(&mut self) {
        // What the socket never took is gone with the connection.
        let left = self.queued.swap(0, Ordering::AcqRel);
        self.counters
            .outbound_bytes
            .fetch_sub(left, Ordering::Relaxed);
    }
}

/// Every interleaving of producers, the socket's drain and a waiting producer
/// (`--cfg streampod_loom`).
#[cfg(all(test, streampod_loom))]
mod loom_tests {
    use super::*;
    use futures::future::poll_fn;

    #[test]
    fn loom_room_freed_on_another_thread_wakes_the_waiting_producer() {
        loom::model(|| {
            let gate = OutboundGate::new(10, Arc::new(Counters::default()));
            gate.add(6);
            gate.add(6);
            let drain = {
                let gate = gate.clone();
                loom::thread::spawn(move || {
                    gate.release(6);
                    gate.release(6);
                })
            };
            // A wake lost between the check and the registration is a deadlock.
            loom::future::block_on(poll_fn(|cx| gate.poll_room(cx)));
            drain.join().unwrap();
            assert_eq!(gate.queued(), 0);
            assert_eq!(gate.counters.outbound_bytes.load(Ordering::Relaxed), 0);
        });
    }

    #[test]
    fn loom_a_producer_that_cannot_wait_never_passes_the_limit_by_more_than_its_frame() {
        loom::model(|| {
            let gate = OutboundGate::new(10, Arc::new(Counters::default()));
            let other = {
                let gate = gate.clone();
                loom::thread::spawn(move || gate.try_add(8))
            };
            let mine = gate.try_add(8);
            let theirs = other.join().unwrap();
            // Room is checked, then taken: both may pass at 0, neither once 8 are queued.
            assert!(mine || theirs);
            assert_eq!(gate.queued(), 8 * (mine as usize + theirs as usize));
        });
    }
}
