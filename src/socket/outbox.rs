//! The queue a connection's producers (its calls, a legacy endpoint) write to, in order.
//!
//! A queue behind a lock rather than tokio's unbounded channel: the channel allocates its
//! state and a first block of 32 slots up front, 1.9 KiB of each connection's first call
//! (heaptrack, `examples/scale`), while an empty queue here holds no buffer at all and the
//! connection takes everything waiting in one go. Producers rarely contend: a connection's
//! calls run on its own worker thread.

use super::Outgoing;
use crate::sync::lock;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// The sending side; cheap to clone.
pub(crate) struct Outbox<E> {
    shared: Arc<Mutex<Queue<E>>>,
}

impl<E> Clone for Outbox<E> {
    fn clone(&self) -> Self {
        Outbox {
            shared: self.shared.clone(),
        }
    }
}

struct Queue<E> {
    items: VecDeque<Outgoing<E>>,
    /// The connection, waiting for items.
    waker: Option<Waker>,
    /// The connection is gone: nothing is queued any more.
    closed: bool,
}

/// The connection's side: every item waiting, in one batch.
pub(crate) struct Inbox<E> {
    shared: Arc<Mutex<Queue<E>>>,
}

/// A new, empty queue.
pub(crate) fn outbox<E>() -> (Outbox<E>, Inbox<E>) {
    let shared = Arc::new(Mutex::new(Queue {
        items: VecDeque::new(),
        waker: None,
        closed: false,
    }));
    (
        Outbox {
            shared: shared.clone(),
        },
        Inbox { shared },
    )
}

impl<E> Outbox<E> {
    /// Queues `item` after everything sent before; false if the connection is gone (the
    /// item is dropped).
    pub(crate) fn send(&self, item: Outgoing<E>) -> bool {
        let mut queue = lock(&self.shared);
        if queue.closed {
            return false;
        }
        queue.items.push_back(item);
        // Only the first item of a batch needs to wake the connection.
        let waker = if queue.items.len() == 1 {
            queue.waker.take()
        } else {
            None
        };
        drop(queue);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }
}

impl<E> futures::Stream for Inbox<E> {
    type Item = VecDeque<Outgoing<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut queue = lock(&self.shared);
        if !queue.items.is_empty() {
            return Poll::Ready(Some(std::mem::take(&mut queue.items)));
        }
        if !queue
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            queue.waker = Some(cx.waker().clone());
        }
        // Never ends: the connection stops on its own.
        Poll::Pending
    }
}

impl<E> Drop for Inbox<E> {
    fn drop(&mut self) {
        // What was never written goes now, not with the last producer.
        let items = {
            let mut queue = lock(&self.shared);
            queue.closed = true;
            queue.waker = None;
            std::mem::take(&mut queue.items)
        };
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn items_arrive_in_order_in_one_batch_and_sends_fail_once_the_inbox_is_gone() {
        let (outbox, mut inbox) = outbox::<u8>();
        assert!(outbox.send(Outgoing::Event(1)));
        assert!(outbox.clone().send(Outgoing::Event(2)));
        let batch = futures::executor::block_on(inbox.next()).unwrap();
        let events: Vec<u8> = batch
            .into_iter()
            .map(|item| match item {
                Outgoing::Event(e) => e,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(events, [1, 2]);
        drop(inbox);
        assert!(!outbox.send(Outgoing::Event(3)));
    }
}
