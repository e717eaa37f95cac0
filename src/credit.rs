//! Credit: how many more values the peer has granted on one stream of a flow-controlled
//! call (`fc` and `crd`, `docs/PROTOCOL.md` "Flow control"), and the stream adapter that
//! pulls a stream only while there is some.
//!
//! The server pulls a call's method this way (the client granted its return stream), and
//! the Rust client pulls each input stream this way (the server granted it). One waiter per
//! credit: the task that pulls the stream.

use crate::protocol::MAX_CREDIT;
use futures::task::AtomicWaker;
use futures::Stream;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Values the peer still accepts on one stream (or, counted by the receiver, may still
/// send). Never below zero, never above [`MAX_CREDIT`]: a grant that would pass it leaves
/// the credit at the maximum.
#[derive(Debug)]
pub(crate) struct Credit {
    available: AtomicU32,
    waker: AtomicWaker,
}

impl Credit {
    pub(crate) fn new(initial: u32) -> Self {
        Credit {
            available: AtomicU32::new(initial.min(MAX_CREDIT)),
            waker: AtomicWaker::new(),
        }
    }

    /// A credit shared with the task that pulls the stream.
    pub(crate) fn shared(initial: u32) -> Arc<Self> {
        Arc::new(Self::new(initial))
    }

    /// The peer granted `n` more values.
    pub(crate) fn grant(&self, n: u32) {
        let _ = self
            .available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(n).min(MAX_CREDIT))
            });
        self.waker.wake();
    }

    /// Values that may be sent now.
    pub(crate) fn available(&self) -> u32 {
        self.available.load(Ordering::Acquire)
    }

    /// Takes one value's credit; false (and nothing taken) when there is none.
    pub(crate) fn take(&self) -> bool {
        self.available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                now.checked_sub(1)
            })
            .is_ok()
    }

    /// Ready when there is credit; otherwise wakes the task when some is granted.
    fn poll_available(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.available() > 0 {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        // A grant between the check and the registration would have found no waker.
        if self.available() > 0 {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// The receiving side's count of values taken from one stream since it last granted them
/// back. They go back in batches of half the window: one `crd` per batch, not per value,
/// and the sender never runs dry while the receiver keeps taking (whatever it has sent and
/// not had back is at most the window, and at least half of it is granted again as soon as
/// it is taken).
#[derive(Debug)]
pub(crate) struct GrantBack {
    taken: u32,
    batch: u32,
}

impl GrantBack {
    pub(crate) fn new(window: u32) -> Self {
        GrantBack {
            taken: 0,
            batch: window.div_ceil(2).max(1),
        }
    }

    /// One value taken: the credit to grant back, when that completes a batch.
    pub(crate) fn took_one(&mut self) -> Option<u32> {
        self.taken += 1;
        (self.taken >= self.batch).then(|| std::mem::take(&mut self.taken))
    }
}

/// `inner`, pulled only while `credit` allows (every item takes one); without a credit,
/// pulled freely (the call is not flow-controlled).
pub(crate) struct Credited<S> {
    pub(crate) inner: S,
    pub(crate) credit: Option<Arc<Credit>>,
}

impl<S: Stream + Unpin> Stream for Credited<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        let Some(credit) = &this.credit else {
            return Pin::new(&mut this.inner).poll_next(cx);
        };
        if credit.poll_available(cx).is_pending() {
            return Poll::Pending;
        }
        let item = Pin::new(&mut this.inner).poll_next(cx);
        if let Poll::Ready(Some(_)) = &item {
            credit.take();
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn credit_stays_within_zero_and_the_maximum() {
        let credit = Credit::new(1);
        assert!(credit.take());
        assert!(!credit.take());
        assert_eq!(credit.available(), 0);
        credit.grant(MAX_CREDIT);
        credit.grant(MAX_CREDIT);
        assert_eq!(credit.available(), MAX_CREDIT);
    }

    #[test]
    fn credit_goes_back_in_batches_of_half_the_window() {
        let mut back = GrantBack::new(5);
        let grants: Vec<Option<u32>> = (0..7).map(|_| back.took_one()).collect();
        assert_eq!(grants, [None, None, Some(3), None, None, Some(3), None]);
        let mut one = GrantBack::new(1);
        assert_eq!(one.took_one(), Some(1));
    }

    #[test]
    fn a_credited_stream_yields_what_was_granted_then_waits() {
        let credit = Credit::shared(2);
        let mut pulled = 0;
        let source = futures::stream::repeat_with(|| {
            pulled += 1;
            pulled
        });
        let mut stream = Credited {
            inner: source,
            credit: Some(credit.clone()),
        };
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(1)));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(2)));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        credit.grant(1);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(3)));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        drop(stream);
        // The source was pulled once per credit and no more.
        assert_eq!(pulled, 3);
    }
}
