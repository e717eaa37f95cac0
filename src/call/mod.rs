//! Calls: the actor that runs one call, the input streams it shares with its connection,
//! and the supervisor that owns the calls of one connection.

mod actor;
mod call_log;
mod inputs;
mod local_wakes;
pub(crate) mod messages;
mod supervisor;
mod table;

pub(crate) use actor::{CallActor, CallParts};
pub use call_log::CALL_LOG_TARGET;
pub(crate) use inputs::{CallInputs, Delivery};
pub(crate) use supervisor::CallSupervisor;
pub(crate) use table::CallTable;
