//! The WebSocket context's output on its way to the socket: where the outbound gate counts
//! bytes out, and where a drop by the HTTP layer is told apart (see `send_timeout`).

use super::send_timeout::Watch;
use crate::flow::OutboundGate;
use crate::stats::Counters;
use futures::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The WebSocket context's output on its way to the socket: counts bytes out of the gate,
/// and tells a peer that stopped reading from other drops (see `send_timeout`).
pub(crate) struct Drain<S> {
    pub(crate) inner: S,
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

impl<S, E> Stream for Drain<S>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    type Item = Result<bytes::Bytes, E>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(bytes))) = &item {
            self.sent.increment(bytes.len() as u64);
            if let Some(gate) = &self.gate {
                gate.release(bytes.len());
            }
        }
        self.watch.polled(matches!(item, Poll::Ready(None)));
        item
    }
}

impl<S> Drop for Drain<S> {
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
