//! A call's values, from the socket task to the call's consumer, a read's worth at a time.
//!
//! The socket task stages each value it reads for a call ([`ValueSender::stage`]) and hands
//! the staged ones over when it has read what the socket had ready ([`ValueSender::flush`]):
//! one lock and at most one wake per call per read, where a channel cost a permit, a push
//! and a wake per value (docs/PERFORMANCE.md, "The client's values by the read"). The
//! consumer takes everything queued in one swap of buffers and reads it without the lock.
//!
//! The queue is bounded: a value that finds `bound` values queued is refused
//! ([`ValueSender::stage`] gives it back), and the socket task either waits for room
//! ([`ValueSender::poll_room`], which stops it reading the socket: a slow consumer bounds
//! the client's memory) or, on a flow-controlled call, fails the call. The batch the
//! consumer has taken and not read yet is not counted: at most `bound` values wait in the
//! queue, and at most one more such batch with the consumer.

use crate::protocol::Dynamic;
use crate::sync::{lock, remember, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// A new queue of at most `bound` values (at least one).
pub(crate) fn channel(bound: usize) -> (ValueSender, ValueReceiver) {
    let shared = Arc::new(Mutex::new(State {
        queued: VecDeque::new(),
        consumer: None,
        room: None,
        sender_gone: false,
        receiver_gone: false,
    }));
    let bound = bound.max(1);
    (
        ValueSender {
            shared: shared.clone(),
            staged: Vec::new(),
            room: bound,
            bound,
        },
        ValueReceiver {
            shared,
            batch: VecDeque::new(),
        },
    )
}

struct State {
    queued: VecDeque<Dynamic>,
    /// The consumer, waiting for values or the end.
    consumer: Option<Waker>,
    /// The socket task, waiting for room.
    room: Option<Waker>,
    /// The call ended: once `queued` is taken, the consumer sees the end.
    sender_gone: bool,
    /// The consumer is gone: values are dropped.
    receiver_gone: bool,
}

/// The socket task's side of one call's queue.
pub(crate) struct ValueSender {
    shared: Arc<Mutex<State>>,
    /// Values read and not yet handed over.
    staged: Vec<Dynamic>,
    /// Room left as of the last hand-over, less what was staged since: while there is some,
    /// staging needs no lock.
    room: usize,
    bound: usize,
}

impl ValueSender {
    /// Stages `value`, to be handed over with the next [`flush`](Self::flush); gives it back
    /// if the queue is full, what the consumer has taken counted. A value for a consumer that
    /// is gone is dropped.
    pub(crate) fn stage(&mut self, value: Dynamic) -> Result<(), Dynamic> {
        if self.room == 0 {
            self.flush();
            if self.room == 0 {
                return Err(value);
            }
        }
        self.staged.push(value);
        self.room -= 1;
        Ok(())
    }

    /// Some values wait to be handed over.
    pub(crate) fn has_staged(&self) -> bool {
        !self.staged.is_empty()
    }

    /// Hands the staged values over (one lock, and a wake if the consumer waits), and learns
    /// how much room is left.
    pub(crate) fn flush(&mut self) {
        let mut state = lock(&self.shared);
        if state.receiver_gone {
            self.staged.clear();
            self.room = self.bound;
            return;
        }
        let consumer = if self.staged.is_empty() {
            None
        } else {
            state.queued.extend(self.staged.drain(..));
            state.consumer.take()
        };
        self.room = self.bound.saturating_sub(state.queued.len());
        drop(state);
        if let Some(consumer) = consumer {
            consumer.wake();
        }
    }

    /// Ready once there is room for a value (or the consumer is gone); the staged values
    /// are handed over first.
    pub(crate) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.flush();
        if self.room > 0 {
            return Poll::Ready(());
        }
        let mut state = lock(&self.shared);
        if state.receiver_gone || state.queued.len() < self.bound {
            return Poll::Ready(());
        }
        remember(&mut state.room, cx);
        Poll::Pending
    }
}

impl Drop for ValueSender {
    /// The call ended: what was staged is handed over, then the consumer sees the end.
    fn drop(&mut self) {
        self.flush();
        let consumer = {
            let mut state = lock(&self.shared);
            state.sender_gone = true;
            state.consumer.take()
        };
        if let Some(consumer) = consumer {
            consumer.wake();
        }
    }
}

/// The consumer's side of one call's queue.
pub(crate) struct ValueReceiver {
    shared: Arc<Mutex<State>>,
    /// The values taken in the last swap, not yet read. Its buffer and the queue's trade
    /// places at each swap, so neither side allocates per batch.
    batch: VecDeque<Dynamic>,
}

impl ValueReceiver {
    /// The next value; `None` once the call ended and every value was read.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Dynamic>> {
        if let Some(value) = self.batch.pop_front() {
            return Poll::Ready(Some(value));
        }
        let mut state = lock(&self.shared);
        if !state.queued.is_empty() {
            std::mem::swap(&mut state.queued, &mut self.batch);
            let room = state.room.take();
            drop(state);
            if let Some(room) = room {
                room.wake();
            }
            return Poll::Ready(self.batch.pop_front());
        }
        if state.sender_gone {
            return Poll::Ready(None);
        }
        remember(&mut state.consumer, cx);
        Poll::Pending
    }
}

impl Drop for ValueReceiver {
    /// The consumer is gone: what is queued is dropped, and a socket task waiting for room
    /// goes on.
    fn drop(&mut self) {
        let room = {
            let mut state = lock(&self.shared);
            state.receiver_gone = true;
            state.queued.clear();
            state.room.take()
        };
        if let Some(room) = room {
            room.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::poll_fn;
    use futures::task::{noop_waker_ref, waker, ArcWake};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn value(n: u8) -> Dynamic {
        Dynamic::from_parts(Arc::from("int"), &[n])
    }

    fn data(v: Option<Dynamic>) -> Option<u8> {
        v.map(|v| v.data()[0])
    }

    #[test]
    fn values_reach_the_consumer_when_flushed_in_order_and_then_the_end() {
        let (mut tx, mut rx) = channel(8);
        let mut cx = Context::from_waker(noop_waker_ref());
        tx.stage(value(1)).unwrap();
        tx.stage(value(2)).unwrap();
        assert!(
            rx.poll_recv(&mut cx).is_pending(),
            "nothing before the flush"
        );
        tx.flush();
        tx.stage(value(3)).unwrap();
        drop(tx);
        futures::executor::block_on(async {
            for n in 1..=3 {
                assert_eq!(data(poll_fn(|cx| rx.poll_recv(cx)).await), Some(n));
            }
            assert_eq!(data(poll_fn(|cx| rx.poll_recv(cx)).await), None);
        });
    }

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);

    impl ArcWake for Count {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_full_queue_refuses_until_the_consumer_takes_and_wakes_the_sender_then() {
        let (mut tx, mut rx) = channel(2);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = waker(count.clone());
        let mut cx = Context::from_waker(&waker);
        tx.stage(value(1)).unwrap();
        tx.stage(value(2)).unwrap();
        let refused = tx.stage(value(3)).unwrap_err();
        assert!(tx.poll_room(&mut cx).is_pending());
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        let taken = rx.poll_recv(&mut Context::from_waker(noop_waker_ref()));
        assert!(matches!(taken, Poll::Ready(Some(ref v)) if v.data() == [1]));
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "the sender is woken");
        assert!(tx.poll_room(&mut cx).is_ready());
        tx.stage(refused).unwrap();
        tx.flush();
        let rest: Vec<_> = (0..2)
            .map(|_| match rx.poll_recv(&mut cx) {
                Poll::Ready(v) => data(v),
                Poll::Pending => None,
            })
            .collect();
        assert_eq!(rest, [Some(2), Some(3)]);
    }

    #[test]
    fn a_consumer_that_is_gone_frees_a_waiting_sender_and_drops_what_is_sent() {
        let (mut tx, rx) = channel(1);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = waker(count.clone());
        let mut cx = Context::from_waker(&waker);
        tx.stage(value(1)).unwrap();
        assert!(tx.stage(value(2)).is_err());
        assert!(tx.poll_room(&mut cx).is_pending());
        drop(rx);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(tx.poll_room(&mut cx).is_ready());
        for n in 0..10 {
            tx.stage(value(n)).unwrap();
        }
        assert!(lock(&tx.shared).queued.is_empty());
    }
}
