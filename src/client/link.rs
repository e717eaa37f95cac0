//! [`Link`]: one socket of the method client's connection, with its writing queue and
//! its keepalive. A resumable connection outlives its links: when one drops, the socket
//! task dials the next (docs/PROTOCOL.md §11) and keeps its calls meanwhile.

use super::handshake::Socket;
use super::keepalive::{Keepalive, Tick};
use super::outgoing::Outgoing;
use super::ClientConfig;
use futures::future::poll_fn;
use futures::stream::SplitStream;
use futures::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

/// An open socket: written only through its queue, so that the task never stops reading
/// to write.
pub(super) struct Link {
    pub(super) outgoing: Outgoing,
    pub(super) stream: SplitStream<Socket>,
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
        let (sink, stream) = socket.split();
        Link {
            outgoing: Outgoing::new(sink),
            stream,
            keepalive: Keepalive::new(config),
        }
    }

    /// Sends what is queued and the close, then reads until the server's close (at most
    /// `within`), so that the server reads the close: a socket dropped with unread frames
    /// resets the connection, and the server would take that for a lost network (and keep
    /// a resumable session for nothing).
    pub(super) async fn close(mut self, within: Duration) {
        self.outgoing.close().await;
        let _ = tokio::time::timeout(within, async {
            while let Some(Ok(_)) = self.stream.next().await {}
        })
        .await;
    }

    /// A frame arrived: the server is alive.
    pub(super) fn frame_seen(&mut self) {
        self.keepalive.frame_seen();
    }

    /// The next thing that happens on the link. Cancel-safe: queued frames leave the queue
    /// only when the socket takes them, and the stream and keepalive are cancel-safe.
    async fn next_event(&mut self) -> LinkEvent {
        let sending = self.outgoing.is_pending();
        tokio::select! {
            sent = poll_fn(|cx| self.outgoing.poll_send(cx)), if sending => LinkEvent::Sent(sent),
            frame = self.stream.next() => LinkEvent::Frame(frame),
            tick = self.keepalive.tick() => LinkEvent::Tick(tick),
        }
    }
}

/// The next event of the link, if there is one; never while there is none (the connection
/// is between sockets).
pub(super) async fn next_event(link: &mut Option<Link>) -> LinkEvent {
    match link {
        Some(link) => link.next_event().await,
        None => futures::future::pending().await,
    }
}
