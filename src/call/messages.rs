//! Messages between the connection, the supervisor and the call actors, named for intent.

use crate::protocol::CloseReason;
use actix::prelude::*;
use std::sync::Arc;
use uuid::Uuid;

/// Connection → call: a value for input stream `param` was refused (the input is not open,
/// or the value is not of its type); answer `cmsc(p, error)`.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct RefuseInput {
    pub(crate) param: Arc<str>,
}

/// Connection → call: the client cancelled the call (`cmsc` without `p`).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct CancelCall {
    pub(crate) reason: CloseReason,
}

/// Supervisor → call: the connection is gone; stop without sending anything.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Shutdown;

/// Call → connection: something to write, or the news that the call has ended.
pub(crate) enum FromCall {
    /// One encoded frame.
    Frame(bytes::Bytes),
    /// The call's final `cmsc` was the previous frame; forget its route.
    Ended(Uuid),
}

/// Calls → connection: the channel every call of a connection sends its [`FromCall`]s on, in
/// order. A channel rather than the connection's mailbox: a frame costs no boxed envelope,
/// and the connection takes everything waiting at once.
pub(crate) type Outbox = tokio::sync::mpsc::UnboundedSender<FromCall>;

/// Call → supervisor: the call has ended and stopped itself.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct CallEnded {
    pub(crate) cid: Uuid,
}

/// Connection → supervisor: a new call to own.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Adopt {
    pub(crate) cid: Uuid,
    pub(crate) call: Addr<super::CallActor>,
}

/// Connection → supervisor: the connection is gone; stop every call, then yourself.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct StopAll;
