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

/// Every item `inner` has ready (up to `max`), as one item.
pub(crate) struct Batches<S> {
    inner: S,
    max: usize,
    ended: bool,
}

impl<S> Batches<S> {
    pub(crate) fn new(inner: S, max: usize) -> Self {
        Batches {
            inner,
            max: max.max(1),
            ended: false,
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
                Poll::Ready(Some(item)) => batch.push(item),
                Poll::Ready(None) => this.ended = true,
                Poll::Pending => break,
            }
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
        let batches: Vec<Vec<u32>> =
            futures::executor::block_on(Batches::new(futures::stream::iter(0..100), 32).collect());
        assert_eq!(batches.len(), 4);
        assert_eq!(batches[0], (0..32).collect::<Vec<_>>());
        assert_eq!(batches[3], (96..100).collect::<Vec<_>>());
    }
}
