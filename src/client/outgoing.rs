//! [`Outgoing`]: the frames waiting for a client socket, and how they are handed to it.
//!
//! The socket task never waits on a write: it queues frames here, and its link hands them
//! to the socket and flushes them while it goes on reading. A client must never stop
//! reading because its own writes wait: the server may be waiting for it to read before it
//! reads again itself.

use futures::ready;
use futures::SinkExt;
use std::collections::VecDeque;
use std::task::{Context, Poll};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use super::handshake::Socket;

/// Frames queued beyond this stop the socket task from taking new commands and input values
/// until the socket takes some.
const OUTGOING_LIMIT: usize = 1024;

/// The frames waiting for a socket.
pub(super) struct Outgoing {
    /// Frames waiting for the socket, oldest first.
    queue: VecDeque<WsMessage>,
    /// Frames were handed to the socket and not flushed yet.
    unflushed: bool,
}

impl Outgoing {
    pub(super) fn new() -> Self {
        Outgoing {
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

    /// Hands the queued frames to `socket` and flushes them. Cancel-safe: a frame leaves
    /// the queue only when the socket takes it.
    pub(super) fn poll_send(
        &mut self,
        socket: &mut Socket,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), WsError>> {
        while !self.queue.is_empty() {
            ready!(socket.poll_ready_unpin(cx))?;
            if let Some(frame) = self.queue.pop_front() {
                socket.start_send_unpin(frame)?;
                self.unflushed = true;
            }
        }
        ready!(socket.poll_flush_unpin(cx))?;
        self.unflushed = false;
        Poll::Ready(Ok(()))
    }

    /// Sends what is queued, then closes `socket`.
    pub(super) async fn close(&mut self, socket: &mut Socket) {
        let _ = futures::future::poll_fn(|cx| self.poll_send(socket, cx)).await;
        let _ = socket.close(None).await;
    }
}
