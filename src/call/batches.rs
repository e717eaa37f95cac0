//! A stream's ready items, handed over in batches.
//!
//! actix hands a stream's items to its actor one at a time and yields after 16, waking
//! itself. A method whose input brought 30 values thus answered in two turns, and its
//! connection wrote them in two `send` calls (`perf`, `benches/peer.rs`). In batches, one
//! turn takes everything the method has ready.

use futures::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The most items in one batch. The output gate is checked before each item but counts the
/// batch's bytes once it is handled, so a call may pass its connection's limit by up to one
/// batch of frames.
const MAX_BATCH: usize = 32;

/// Every item `inner` has ready (up to [`MAX_BATCH`]), as one item.
pub(crate) struct Batches<S> {
    inner: S,
    ended: bool,
}

impl<S> Batches<S> {
    pub(crate) fn new(inner: S) -> Self {
        Batches {
            inner,
            ended: false,
        }
    }
}

impl<S: Stream + Unpin> Stream for Batches<S> {
    type Item = Vec<S::Item>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let mut batch = Vec::new();
        while !this.ended && batch.len() < MAX_BATCH {
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
            futures::executor::block_on(Batches::new(futures::stream::iter(0..100)).collect());
        assert_eq!(batches.len(), 4);
        assert_eq!(batches[0], (0..32).collect::<Vec<_>>());
        assert_eq!(batches[3], (96..100).collect::<Vec<_>>());
    }
}
