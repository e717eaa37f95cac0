//! Calls: the actor that runs one call, and the supervisor that owns the calls of one
//! connection.

mod actor;
pub(crate) mod messages;
mod supervisor;

pub(crate) use actor::{CallActor, CallParts};
pub(crate) use supervisor::CallSupervisor;
