//! Messages between the connection, the supervisor and the call actors, named for intent.

use crate::protocol::CloseReason;
use actix::prelude::*;
use std::sync::Arc;
use uuid::Uuid;

/// Connection → call: what the client asked of it.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) enum CallRequest {
    /// The client cancelled the call (`cmsc` without `p`).
    Cancel(CloseReason),
    /// A value for this input stream was refused (the input is not open, the value is not
    /// of its type or beyond its credit): answer `cmsc(p, error)`, saying why.
    RefuseInput {
        /// The input stream.
        param: Arc<str>,
        /// Why, in a sentence: also the error the method got from that input.
        why: String,
    },
}

/// Supervisor → call: the connection is gone; stop without sending anything.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Shutdown;

/// Call → connection, in order with the call's frames: the call's final `cmsc` was the
/// previous frame; forget its route.
pub(crate) struct CallEnded(pub(crate) Uuid);

/// Connection → supervisor, on [`CallEnded`]: the call has ended and stopped itself.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Forget {
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
