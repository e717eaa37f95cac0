//! [`Link`]: one socket of a client's connection, with its keepalive. A resumable
//! connection outlives its links: when one drops, the socket task dials the next
//! (docs/PROTOCOL.md §11) and keeps its calls meanwhile. The legacy client's socket task
//! uses a link too.
//!
//! The socket task never waits on a write: it queues frames on the link, and the link
//! writes them while it goes on reading. A client must never stop reading because its own
//! writes wait: the server may be waiting for it to read before it reads again itself.

use super::handshake::Socket;
use super::keepalive::{Keepalive, Tick};
use super::transport::{Incoming, TransportError};
use super::ClientConfig;
use crate::protocol::Frame;
use futures::future::poll_fn;
use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

/// Bytes queued beyond this stop the socket task from taking new commands and input values
/// until the socket takes some.
const QUEUED_LIMIT: usize = 256 * 1024;

/// An open socket and its keepalive.
pub(super) struct Link {
    socket: Socket,
    keepalive: Keepalive,
}

/// What happened on a link.
pub(super) enum LinkEvent {
    /// The queued frames went out, or the socket failed taking them.
    Sent(io::Result<()>),
    /// A message arrived, or the socket failed or ended (`None`).
    Frame(Option<Result<Incoming, TransportError>>),
    /// The keepalive's turn.
    Tick(Tick),
}

impl Link {
    pub(super) fn new(socket: Socket, config: &ClientConfig) -> Self {
        Link {
            socket,
            keepalive: Keepalive::new(config),
        }
    }

    /// Queues a frame; it leaves with the next write.
    pub(super) fn send(&mut self, frame: &Frame) {
        self.socket.send(frame);
    }

    /// Few enough bytes wait that more may be produced.
    pub(super) fn has_room(&self) -> bool {
        self.socket.queued() < QUEUED_LIMIT
    }

    /// Sends what is queued and the close, and reads until the server's close (at most
    /// `within`).
    pub(super) async fn close(mut self, within: Duration) {
        self.socket.close(within).await;
    }

    /// A frame arrived: the server is alive.
    pub(super) fn frame_seen(&mut self) {
        self.keepalive.frame_seen();
    }

    /// The next message if the socket has one ready now (`None` if it has not).
    pub(super) fn ready_message(&mut self) -> Option<Option<Result<Incoming, TransportError>>> {
        self.socket.ready_message()
    }

    /// The next thing that happens on the link. Cancel-safe: the socket keeps what it
    /// queued and what it read, and the keepalive is cancel-safe.
    pub(super) async fn next_event(&mut self) -> LinkEvent {
        let Link { socket, keepalive } = self;
        tokio::select! {
            event = poll_fn(|cx| poll_socket(socket, cx)) => event,
            tick = keepalive.tick() => LinkEvent::Tick(tick),
        }
    }
}

/// The socket's turn: what is queued goes out (when it can), else the next message in.
fn poll_socket(socket: &mut Socket, cx: &mut Context<'_>) -> Poll<LinkEvent> {
    if socket.wants_flush() {
        if let Poll::Ready(sent) = socket.poll_flush(cx) {
            return Poll::Ready(LinkEvent::Sent(sent));
        }
    }
    socket.poll_next(cx).map(LinkEvent::Frame)
}

/// The next event of the link, if there is one; never while there is none (the connection
/// is between sockets).
pub(super) async fn next_event(link: &mut Option<Link>) -> LinkEvent {
    match link {
        Some(link) => link.next_event().await,
        None => futures::future::pending().await,
    }
}
