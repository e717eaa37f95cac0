//! [`Outgoing`]: the writing half of a client socket, and the frames waiting for it.
//!
//! The socket task never waits on a write: it queues frames here, and one branch of its
//! select hands them to the socket and flushes them, while the other branches go on reading.
//! A client must never stop reading because its own writes wait: the server may be waiting
//! for it to read before it reads again itself.

use futures::ready;
use futures::stream::SplitSink;
use futures::SinkExt;
use std::collections::VecDeque;
use std::task::{Context, Poll};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use super::handshake::Socket;

/// Frames queued beyond this stop the socket task from taking new commands and input values
/// until the socket takes some.
const OUTGOING_LIMIT: usize = 1024;

/// The writing half of a socket with its queue of frames.
pub(super) struct Outgoing {
    sink: SplitSink<Socket, WsMessage>,
    /// Frames waiting for the socket, oldest first.
    queue: VecDeque<WsMessage>,
    /// Frames were handed to the socket and not flushed yet.
    unflushed: bool,
}

impl Outgoing {
    pub(super) fn new(sink: SplitSink<Socket, WsMessage>) -> Self {
        Outgoing {
            sink,
            queue: VecDeque::new(),
            unflushed: false,
        }
    }

    /// Queues a frame; it leaves with the next batch the socket takes.
    pub(super) fn push(&mut self, frame: WsMessage) {
        self.queue.push_back(frame);
    }

    /// Something waits to be written or flushed.
    pub(super) fn is_pending(&self) -> bool {
        !self.queue.is_empty() || self.unflushed
    }

    /// Few enough frames wait that more may be produced.
    pub(super) fn has_room(&self) -> bool {
        self.queue.len() < OUTGOING_LIMIT
    }

    /// Hands the queued frames to the socket and flushes them. Cancel-safe: a frame leaves
    /// the queue only when the socket takes it.
    pub(super) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        while !self.queue.is_empty() {
            ready!(self.sink.poll_ready_unpin(cx))?;
            if let Some(frame) = self.queue.pop_front() {
                self.sink.start_send_unpin(frame)?;
                self.unflushed = true;
            }
        }
        ready!(self.sink.poll_flush_unpin(cx))?;
        self.unflushed = false;
        Poll::Ready(Ok(()))
    }

    /// Sends what is queued, then closes the socket.
    pub(super) async fn close(&mut self) {
        let _ = futures::future::poll_fn(|cx| self.poll_send(cx)).await;
        let _ = self.sink.close().await;
    }
}
