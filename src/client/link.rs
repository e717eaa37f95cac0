//! [`Link`]: one socket of the method client's connection, with its writing queue and
//! its keepalive. A resumable connection outlives its links: when one drops, the socket
//! task dials the next (docs/PROTOCOL.md §11) and keeps its calls meanwhile.
//!
//! The link owns its socket whole: reading and writing take turns in one poll, with no
//! lock between a split socket's halves.

use super::handshake::Socket;
use super::keepalive::{Keepalive, Tick};
use super::outgoing::Outgoing;
use super::ClientConfig;
use futures::future::poll_fn;
use futures::{FutureExt, StreamExt};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

/// An open socket: written only through its queue, so that the task never stops reading
/// to write.
pub(super) struct Link {
    pub(super) outgoing: Outgoing,
    socket: Socket,
    keepalive: Keepalive,
}

/// What happened on a link.
pub(super) enum LinkEvent {
    /// The queued frames went out, or the socket failed taking them.
    Sent(Result<(), WsError>),
    /// A frame arrived, or the socket failed or ended (`None`).
    Frame(Option<Result<WsMessage, WsError>>),
    /// The keepalive's turn.
    Tick(Tick),
}

impl Link {
    pub(super) fn new(socket: Socket, config: &ClientConfig) -> Self {
        Link {
            outgoing: Outgoing::new(),
            socket,
            keepalive: Keepalive::new(config),
        }
    }

    /// Sends what is queued and the close, then reads until the server's close (at most
    /// `within`), so that the server reads the close: a socket dropped with unread frames
    /// resets the connection, and the server would take that for a lost network (and keep
    /// a resumable session for nothing).
    pub(super) async fn close(mut self, within: Duration) {
        self.outgoing.close(&mut self.socket).await;
        let _ = tokio::time::timeout(within, async {
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
    }

    /// A frame arrived: the server is alive.
    pub(super) fn frame_seen(&mut self) {
        self.keepalive.frame_seen();
    }

    /// The next frame if the socket has one ready now (`None` if it has not).
    pub(super) fn ready_frame(&mut self) -> Option<Option<Result<WsMessage, WsError>>> {
        self.socket.next().now_or_never()
    }

    /// The next thing that happens on the link. Cancel-safe: queued frames leave the queue
    /// only when the socket takes them, and the socket and keepalive are cancel-safe.
    async fn next_event(&mut self) -> LinkEvent {
        let Link {
            outgoing,
            socket,
            keepalive,
        } = self;
        tokio::select! {
            event = poll_fn(|cx| poll_socket(socket, outgoing, cx)) => event,
            tick = keepalive.tick() => LinkEvent::Tick(tick),
        }
    }
}

/// The socket's turn: what is queued goes out (when it can), else the next frame in.
fn poll_socket(
    socket: &mut Socket,
    outgoing: &mut Outgoing,
    cx: &mut Context<'_>,
) -> Poll<LinkEvent> {
    if outgoing.is_pending() {
        if let Poll::Ready(sent) = outgoing.poll_send(socket, cx) {
            return Poll::Ready(LinkEvent::Sent(sent));
        }
    }
    socket.poll_next_unpin(cx).map(LinkEvent::Frame)
}

/// The next event of the link, if there is one; never while there is none (the connection
/// is between sockets).
pub(super) async fn next_event(link: &mut Option<Link>) -> LinkEvent {
    match link {
        Some(link) => link.next_event().await,
        None => futures::future::pending().await,
    }
}
