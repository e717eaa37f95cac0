//! The queue a connection's producers (its calls, a legacy endpoint) write to, in order: the
//! crate's [`queue`](crate::queue), taken whole by the connection each time it looks. Below
//! both the socket edge, which drains it, and the producers, which know no socket.

use crate::protocol::Frame;
use crate::queue::{queue, Receiver, Sender};
pub(crate) use actix_http::ws::CloseCode;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What producers send a connection through its [`Outbox`].
pub(crate) enum Outgoing<E> {
    /// One frame, already counted in the connection's [`OutboundGate`](crate::flow::OutboundGate).
    Frame(Frame),
    /// Something for the protocol, after the frames sent before it.
    Event(E),
    /// Close the connection with this code, after the frames sent before it.
    Close(CloseCode, &'static str),
}

/// The sending side; cheap to clone.
pub(crate) type Outbox<E> = Sender<Outgoing<E>>;

/// The connection's side: every item waiting, in one batch.
pub(crate) struct Inbox<E>(Receiver<Outgoing<E>>);

/// A new, empty outbox.
pub(crate) fn outbox<E>() -> (Outbox<E>, Inbox<E>) {
    let (tx, rx) = queue();
    (tx, Inbox(rx))
}

impl<E> From<Receiver<Outgoing<E>>> for Inbox<E> {
    /// A receiver taken over from another connection's inbox ([`Sender::take_over`]).
    fn from(receiver: Receiver<Outgoing<E>>) -> Self {
        Inbox(receiver)
    }
}

impl<E> futures::Stream for Inbox<E> {
    type Item = VecDeque<Outgoing<E>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv_all(cx)
    }
}
