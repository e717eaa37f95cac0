//! Credit: how many more values the peer has granted on one stream of a flow-controlled
//! call (`fc` and `crd`, `docs/PROTOCOL.md` "Flow control"), and the stream adapter that
//! pulls a stream only while there is some.
//!
//! The server pulls a call's method this way (the client granted its return stream), and
//! the Rust client pulls each input stream this way (the server granted it). One waiter per
//! credit: the task that pulls the stream.

use crate::protocol::MAX_CREDIT;
use crate::sync::{AtomicU32, AtomicWaker};
use futures::Stream;
use std::pin::Pin;
use std::sync::atomic::Ordering;
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

/// `inner`, pulled only while `credit` allows; without a credit, pulled freely (the call is
/// not flow-controlled).
///
/// A value (what `costs` says takes credit) takes one. At zero credit the stream is pulled
/// one item ahead, no more: a value is held until credit comes (a never-ending producer
/// pauses), while its end, or an item that takes none (an error, which ends these
/// streams), passes at once. So the peer sees an end as soon as it happens, whatever it
/// has granted: a Future's result is followed by its end, and a consumer that grants only
/// when it wants more is never left waiting for an end that has happened.
pub(crate) struct Credited<S: Stream> {
    inner: S,
    credit: Option<Arc<Credit>>,
    costs: fn(&S::Item) -> bool,
    /// The value pulled ahead, waiting for credit.
    held: Option<S::Item>,
}

impl<S: Stream> Credited<S> {
    pub(crate) fn new(inner: S, credit: Option<Arc<Credit>>, costs: fn(&S::Item) -> bool) -> Self {
        Credited {
            inner,
            credit,
            costs,
            held: None,
        }
    }
}

impl<S: Stream + Unpin> Stream for Credited<S>
where
    S::Item: Unpin,
{
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        let Some(credit) = &this.credit else {
            return Pin::new(&mut this.inner).poll_next(cx);
        };
        if this.held.is_none() {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(item)) if (this.costs)(&item) => this.held = Some(item),
                // An end, or an item that costs nothing: at once.
                other => return other,
            }
        }
        if credit.poll_available(cx).is_pending() {
            return Poll::Pending;
        }
        credit.take();
        Poll::Ready(this.held.take())
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
    fn a_credited_stream_yields_what_was_granted_and_pulls_one_ahead() {
        let credit = Credit::shared(2);
        let mut pulled = 0;
        let source = futures::stream::repeat_with(|| {
            pulled += 1;
            Ok::<_, ()>(pulled)
        });
        let mut stream = Credited::new(source, Some(credit.clone()), Result::is_ok);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(Ok(1))));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(Ok(2))));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        credit.grant(1);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(Ok(3))));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        drop(stream);
        // The source was pulled once per credit, and once ahead: no more.
        assert_eq!(pulled, 4);
    }

    #[test]
    fn an_end_or_an_error_passes_at_zero_credit() {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let credit = Credit::shared(1);
        let values = futures::stream::iter([Ok::<i32, i32>(1)]);
        let mut stream = Credited::new(values, Some(credit.clone()), Result::is_ok);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(Ok(1))));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(None));
        let failing = futures::stream::iter([Ok(1), Err(2), Ok(3)]);
        let credit = Credit::shared(1);
        let mut stream = Credited::new(failing, Some(credit.clone()), Result::is_ok);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(Ok(1))));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(Err(2))));
        // A value behind the error waits for credit like any other.
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(credit.available(), 0);
    }
}

/// Every interleaving of grants and the task that pulls (`--cfg streampod_loom`).
#[cfg(all(test, streampod_loom))]
mod loom_tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn loom_grants_from_another_thread_release_exactly_that_many() {
        loom::model(|| {
            let credit = Credit::shared(0);
            let granter = {
                let credit = credit.clone();
                loom::thread::spawn(move || {
                    credit.grant(1);
                    credit.grant(1);
                })
            };
            let mut values =
                Credited::new(futures::stream::iter(0..), Some(credit.clone()), |_| true);
            // A grant whose wake is lost is a deadlock, which loom reports.
            let got = loom::future::block_on(async { (values.next().await, values.next().await) });
            granter.join().unwrap();
            assert_eq!(got, (Some(0), Some(1)));
            assert_eq!(credit.available(), 0);
        });
    }

    #[test]
    fn loom_concurrent_grants_saturate_at_the_maximum() {
        loom::model(|| {
            let credit = Credit::shared(MAX_CREDIT - 1);
            let other = {
                let credit = credit.clone();
                loom::thread::spawn(move || credit.grant(1))
            };
            credit.grant(1);
            other.join().unwrap();
            assert_eq!(credit.available(), MAX_CREDIT);
        });
    }
}
