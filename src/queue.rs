//! An unbounded queue from any thread to one task, in order: the server's one mechanism for
//! handing items to a task (a connection's outbox, a call's input streams).
//!
//! Behind a lock rather than tokio's unbounded channel: the channel allocates its state and
//! a first block of 32 slots up front (1.9 KiB of every connection's outbox, 1.3 KiB and
//! more of every input stream, heaptrack on `examples/scale`), while an empty queue here
//! holds no buffer at all. Producers rarely contend: a connection and its calls share a
//! worker thread.

use crate::sync::{lock, remember, Mutex, MutexGuard};
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// A new, empty queue.
pub(crate) fn queue<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        items: VecDeque::new(),
        waker: None,
        senders: 1,
        receiver_gone: false,
        receiver: 0,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            generation: 0,
        },
    )
}

struct State<T> {
    items: VecDeque<T>,
    /// The receiving task, waiting for items.
    waker: Option<Waker>,
    senders: usize,
    /// Nothing is queued any more.
    receiver_gone: bool,
    /// The generation of the receiver that receives: an older one was taken over.
    receiver: u64,
}

/// The sending side; every clone counts until dropped.
pub(crate) struct Sender<T> {
    shared: Arc<Mutex<State<T>>>,
}

/// The receiving side.
pub(crate) struct Receiver<T> {
    shared: Arc<Mutex<State<T>>>,
    /// Which receiver this is: one taken over ([`Sender::take_over`]) sees the end, and
    /// closes nothing when dropped.
    generation: u64,
}

impl<T> Sender<T> {
    /// Queues `item` after everything sent before; gives it back if the receiver is gone.
    pub(crate) fn send(&self, item: T) -> Result<(), T> {
        let mut state = lock(&self.shared);
        if state.receiver_gone {
            return Err(item);
        }
        let was_empty = state.items.is_empty();
        state.items.push_back(item);
        wake_if_first(state, was_empty);
        Ok(())
    }

    /// Queues `items` after everything sent before, under one lock and with one wake:
    /// false, and the items are dropped, if the receiver is gone. `items` must not send on
    /// this queue while it is iterated.
    pub(crate) fn send_many(&self, items: impl IntoIterator<Item = T>) -> bool {
        let mut state = lock(&self.shared);
        if state.receiver_gone {
            return false;
        }
        let was_empty = state.items.is_empty();
        state.items.extend(items);
        wake_if_first(state, was_empty);
        true
    }

    /// True once the receiver is gone.
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.shared).receiver_gone
    }

    /// A new receiver for the same queue, which gets everything queued and to come; the one
    /// it replaces sees the end. For a queue whose receiving task goes away while its
    /// senders must go on (a resumable connection's socket). `None` once the queue is
    /// closed.
    pub(crate) fn take_over(&self) -> Option<Receiver<T>> {
        let mut state = lock(&self.shared);
        if state.receiver_gone {
            return None;
        }
        state.receiver += 1;
        // The old receiver's task hears of it once, and stops looking.
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        Some(Receiver {
            shared: self.shared.clone(),
            generation: state.receiver,
        })
    }
}

/// Wakes the receiver if the queue `was_empty` before and holds items now: only the first
/// items of a batch wake it (it was woken for those already waiting).
fn wake_if_first<T>(mut state: MutexGuard<'_, State<T>>, was_empty: bool) {
    let waker = if was_empty && !state.items.is_empty() {
        state.waker.take()
    } else {
        None
    };
    drop(state);
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.shared).senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut state = lock(&self.shared);
            state.senders -= 1;
            if state.senders > 0 {
                return;
            }
            state.waker.take()
        };
        // The last sender: the receiver sees the end once it has taken what is queued.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once every sender is gone and the queue is empty.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_with(cx, |items| items.pop_front())
    }

    /// Everything queued, in one batch; `None` once every sender is gone and the queue is
    /// empty.
    pub(crate) fn poll_recv_all(&mut self, cx: &mut Context<'_>) -> Poll<Option<VecDeque<T>>> {
        self.poll_with(cx, |items| {
            (!items.is_empty()).then(|| std::mem::take(items))
        })
    }

    /// Everything queued, swapped into `into` (which must be empty: its buffer becomes the
    /// queue's, so that neither side allocates per batch); false once every sender is gone
    /// and the queue is empty.
    pub(crate) fn poll_swap(&mut self, cx: &mut Context<'_>, into: &mut VecDeque<T>) -> Poll<bool> {
        debug_assert!(into.is_empty());
        self.poll_with(cx, |items| {
            (!items.is_empty()).then(|| std::mem::swap(items, into))
        })
        .map(|swapped| swapped.is_some())
    }

    fn poll_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        take: impl FnOnce(&mut VecDeque<T>) -> Option<R>,
    ) -> Poll<Option<R>> {
        let mut state = lock(&self.shared);
        if state.receiver != self.generation {
            return Poll::Ready(None);
        }
        if let Some(taken) = take(&mut state.items) {
            return Poll::Ready(Some(taken));
        }
        if state.senders == 0 {
            return Poll::Ready(None);
        }
        remember(&mut state.waker, cx);
        Poll::Pending
    }

    /// Closes the queue and takes what it held.
    pub(crate) fn close(&mut self) -> VecDeque<T> {
        let mut state = lock(&self.shared);
        if state.receiver != self.generation {
            // Taken over: the queue is another receiver's now.
            return VecDeque::new();
        }
        state.receiver_gone = true;
        state.waker = None;
        std::mem::take(&mut state.items)
    }
}

impl<T> futures::Stream for Receiver<T> {
    type Item = T;
    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // What was never taken goes now, not with the last sender.
        drop(self.close());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::poll_fn;

    #[test]
    fn items_arrive_in_order_and_the_end_after_them() {
        let (tx, mut rx) = queue::<u8>();
        let other = tx.clone();
        tx.send(1).unwrap();
        other.send(2).unwrap();
        tx.send(3).unwrap();
        futures::executor::block_on(async {
            assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, Some(1));
            let rest = poll_fn(|cx| rx.poll_recv_all(cx)).await.unwrap();
            assert_eq!(rest, [2, 3]);
            drop(tx);
            other.send(4).unwrap();
            drop(other);
            assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, Some(4));
            assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, None);
        });
    }

    #[test]
    fn many_items_arrive_in_order_and_swap_buffers_with_the_receiver() {
        let (tx, mut rx) = queue::<u8>();
        assert!(tx.send_many([1, 2]));
        tx.send(3).unwrap();
        assert!(tx.send_many(Vec::new()));
        let mut local = VecDeque::with_capacity(8);
        futures::executor::block_on(async {
            assert!(poll_fn(|cx| rx.poll_swap(cx, &mut local)).await);
            assert_eq!(local, [1, 2, 3]);
            local.clear();
            // The queue kept the receiver's old buffer: none is allocated here.
            assert!(tx.send_many([4]));
            assert!(poll_fn(|cx| rx.poll_swap(cx, &mut local)).await);
            assert_eq!(local, [4]);
            assert!(local.capacity() >= 8);
            local.clear();
            drop(tx);
            assert!(!poll_fn(|cx| rx.poll_swap(cx, &mut local)).await);
        });
        let (tx, rx) = queue::<u8>();
        drop(rx);
        assert!(!tx.send_many([1]));
    }

    #[test]
    fn a_receiver_taken_over_ends_and_the_new_one_gets_everything() {
        let (tx, mut old) = queue::<u8>();
        tx.send(1).unwrap();
        let mut new = tx.take_over().unwrap();
        tx.send(2).unwrap();
        futures::executor::block_on(async {
            assert_eq!(poll_fn(|cx| old.poll_recv(cx)).await, None);
            // Dropping the old one closes nothing.
            drop(old);
            assert!(!tx.is_closed());
            let all = poll_fn(|cx| new.poll_recv_all(cx)).await.unwrap();
            assert_eq!(all, [1, 2]);
        });
    }

    #[test]
    fn sends_fail_once_the_receiver_is_gone() {
        let (tx, rx) = queue::<u8>();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(1), Err(1));
    }
}

/// Every interleaving of the queue's senders and its receiver (`--cfg streampod_loom`).
#[cfg(all(test, streampod_loom))]
mod loom_tests {
    use super::*;
    use futures::future::poll_fn;

    #[test]
    fn loom_items_from_two_threads_arrive_in_order_and_then_the_end() {
        loom::model(|| {
            let (tx, mut rx) = queue::<u8>();
            let other = tx.clone();
            let a = loom::thread::spawn(move || {
                tx.send(1).unwrap();
                tx.send(2).unwrap();
            });
            let b = loom::thread::spawn(move || other.send(3).unwrap());
            // A wake lost on the way is a deadlock, which loom reports.
            let got = loom::future::block_on(async {
                let mut got = Vec::new();
                while let Some(item) = poll_fn(|cx| rx.poll_recv(cx)).await {
                    got.push(item);
                }
                got
            });
            a.join().unwrap();
            b.join().unwrap();
            assert_eq!(got.len(), 3);
            let first: Vec<u8> = got.into_iter().filter(|&i| i != 3).collect();
            assert_eq!(first, [1, 2], "one sender's items in its order");
        });
    }

    #[test]
    fn loom_a_batch_sent_while_the_receiver_swaps_arrives_whole_and_in_order() {
        loom::model(|| {
            let (tx, mut rx) = queue::<u8>();
            let sender = loom::thread::spawn(move || {
                tx.send_many([1, 2]);
                tx.send_many([3]);
            });
            // A wake lost between a batch and a swap is a deadlock, which loom reports.
            let got = loom::future::block_on(async {
                let (mut got, mut local) = (Vec::new(), VecDeque::new());
                while poll_fn(|cx| rx.poll_swap(cx, &mut local)).await {
                    got.extend(local.drain(..));
                }
                got
            });
            sender.join().unwrap();
            assert_eq!(got, [1, 2, 3]);
        });
    }

    #[test]
    fn loom_nothing_is_lost_when_the_receiver_closes_during_sends() {
        loom::model(|| {
            let (tx, mut rx) = queue::<u8>();
            let sender =
                loom::thread::spawn(move || (0..2).filter(|&i| tx.send(i).is_err()).count());
            let taken = rx.close().len();
            let refused = sender.join().unwrap();
            // Each item was handed back by `close` or refused to its sender.
            assert_eq!(taken + refused, 2);
        });
    }
}
