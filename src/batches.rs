//! A stream's ready items, handed over in batches: one wake and one hand-over for what a
//! stream has ready, not one per item.
//!
//! The server's call actors take their method's output this way: actix hands a stream's
//! items to its actor one at a time and yields after 16, waking itself, so a method whose
//! input brought 30 values answered in two turns, and its connection wrote them in two
//! `send` calls (`perf`, `benches/peer.rs`). The Rust client's input pumps take their input
//! streams this way, one message to the socket task per batch.

use futures::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Every item `inner` has ready (up to `max`), as one item. An item `last` says is the
/// stream's last (an error, for the streams here) ends it: the stream is not pulled past it.
pub(crate) struct Batches<S: Stream> {
    inner: S,
    max: usize,
    last: fn(&S::Item) -> bool,
    ended: bool,
    /// The last batch's length: the room the next one takes at its first item. A batch
    /// grown from nothing reallocates on its way to 16 items (room for 4, 8, then 16), which
    /// with the allocator's merging it set off was about 2 % of the Rust client (`perf`, 100
    /// streams); room for the most items at once would give a stream that yields one at a
    /// time (a call's output, mostly) a block for 32 each time.
    room: usize,
}

impl<S: Stream> Batches<S> {
    pub(crate) fn new(inner: S, max: usize, last: fn(&S::Item) -> bool) -> Self {
        Batches {
            inner,
            max: max.max(1),
            last,
            ended: false,
            room: 1,
        }
    }
}

impl<S: Stream + Unpin> Stream for Batches<S> {
    type Item = Vec<S::Item>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let mut batch = Vec::new();
        while !this.ended && batch.len() < this.max {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    this.ended = (this.last)(&item);
                    if batch.capacity() == 0 {
                        batch.reserve_exact(this.room);
                    }
                    batch.push(item);
                }
                Poll::Ready(None) => this.ended = true,
                Poll::Pending => break,
            }
        }
        if !batch.is_empty() {
            this.room = batch.len();
        }
        match (batch.is_empty(), this.ended) {
            (false, _) => Poll::Ready(Some(batch)),
            (true, true) => Poll::Ready(None),
            (true, false) => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn ready_items_come_in_batches_then_the_end() {
        let batches: Vec<Vec<u32>> = futures::executor::block_on(
            Batches::new(futures::stream::iter(0..100), 32, |_| false).collect(),
        );
        assert_eq!(batches.len(), 4);
        assert_eq!(batches[0], (0..32).collect::<Vec<_>>());
        assert_eq!(batches[3], (96..100).collect::<Vec<_>>());
    }

    #[test]
    fn the_last_item_ends_the_stream_and_nothing_past_it_is_pulled() {
        let mut pulled = 0;
        let items = futures::stream::iter([Ok(1), Err(2), Ok(3), Err(4)]).inspect(|_| pulled += 1);
        let batches: Vec<Vec<Result<i32, i32>>> =
            futures::executor::block_on(Batches::new(items, 32, Result::is_err).collect());
        assert_eq!(batches, vec![vec![Ok(1), Err(2)]]);
        assert_eq!(pulled, 2);
    }

    #[test]
    fn a_batch_takes_room_for_as_many_items_as_the_last_one() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<u32>();
        let mut batches = Batches::new(rx, 32, |_| false);
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        let mut next = |n: u32| {
            (0..n).for_each(|i| tx.unbounded_send(i).unwrap());
            match batches.poll_next_unpin(&mut cx) {
                Poll::Ready(Some(batch)) => (batch.len(), batch.capacity()),
                other => panic!("no batch: {other:?}"),
            }
        };
        // The first grows as a vector does; each after it takes the last one's size at once.
        assert_eq!(next(10).0, 10);
        assert_eq!(next(10), (10, 10));
        assert_eq!(next(1), (1, 10));
        assert_eq!(next(1), (1, 1));
        // Past its room, a batch still takes what is ready.
        assert_eq!(next(20).0, 20);
    }
}
