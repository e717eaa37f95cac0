//! The response body: the socket's data frames ([`Written`]) and the WebSocket context's
//! output on their way to the socket; where the outbound gate counts bytes out, and where a
//! drop by the HTTP layer is told apart (see `send_timeout`).

use super::send_timeout::Watch;
use super::written::Written;
use crate::flow::OutboundGate;
use crate::stats::Counters;
use futures::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The response body: the socket's data frames, then what the WebSocket context wrote in the
/// same turn (its close follows every frame written before it). Counts bytes out of the
/// gate, and tells a peer that stopped reading from other drops (see `send_timeout`).
pub(crate) struct Drain<S, E> {
    /// The WebSocket context, which runs the socket actor when polled.
    pub(crate) inner: S,
    pub(crate) written: Written,
    /// The context's output from a turn whose frames go first; or its end.
    pub(crate) after: Option<Option<Result<bytes::Bytes, E>>>,
    /// Counted out as the socket takes its bytes; none on a resumable connection, whose
    /// bytes leave the gate when the peer acknowledges them.
    pub(crate) gate: Option<Arc<OutboundGate>>,
    pub(crate) counters: Arc<Counters>,
    /// Bytes handed to the socket, for the metrics.
    pub(crate) sent: metrics::Counter,
    pub(crate) watch: Watch,
    /// The connection's id, for the log.
    pub(crate) id: u64,
}

impl<S, E> Stream for Drain<S, E>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: Unpin,
{
    type Item = Result<bytes::Bytes, E>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.after.is_none() {
            // The actor writes its frames while the context runs it.
            if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
                this.after = Some(item);
            }
        }
        let item = match this.written.take() {
            Some(frames) => Poll::Ready(Some(Ok(frames))),
            None => match this.after.take() {
                Some(item) => Poll::Ready(item),
                None => Poll::Pending,
            },
        };
        if let Poll::Ready(Some(Ok(bytes))) = &item {
            this.sent.increment(bytes.len() as u64);
            if let Some(gate) = &this.gate {
                gate.release(bytes.len());
            }
        }
        this.watch.polled(matches!(item, Poll::Ready(None)));
        item
    }
}

impl<S, E> Drop for Drain<S, E> {
    fn drop(&mut self) {
        if let Some(unpolled) = self.watch.peer_stopped_reading() {
            log::info!(
                "connection {}: the peer took nothing for {unpolled:.1?}; dropped",
                self.id
            );
            self.counters.peer_not_reading();
            crate::instruments::connection_dropped("send_timeout");
        }
    }
}
