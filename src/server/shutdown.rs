//! Graceful shutdown, written out in one place.
//!
//! Every live connection (method streams and legacy) registers here when it starts and
//! leaves when it stops. Shutting down first stops every call through each connection's
//! supervisor, which also frees a connection that waits for a method to take its input,
//! then asks each connection to close with 1001, then waits, up to a deadline, for all of
//! them to be gone.

use crate::call::messages::StopAll;
use crate::call::CallSupervisor;
use actix::prelude::*;
use dashmap::DashMap;

/// Tells a connection to close with 1001 ("going away").
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct GoingAway;

/// One live connection, as shutdown reaches it.
pub(crate) struct LiveConnection {
    pub(crate) close: Recipient<GoingAway>,
    pub(crate) supervisor: Option<Addr<CallSupervisor>>,
}

/// The live connections of one server.
#[derive(Default)]
pub(crate) struct Connections {
    live: DashMap<u64, LiveConnection>,
}

impl Connections {
    pub(crate) fn joined(&self, id: u64, connection: LiveConnection) {
        self.live.insert(id, connection);
    }

    /// The connection started its call supervisor.
    pub(crate) fn supervised(&self, id: u64, supervisor: Addr<CallSupervisor>) {
        if let Some(mut entry) = self.live.get_mut(&id) {
            entry.supervisor = Some(supervisor);
        }
    }

    pub(crate) fn left(&self, id: u64) {
        self.live.remove(&id);
    }

    /// Stops every call, then asks every connection to close.
    pub(crate) fn close_all(&self) {
        for entry in self.live.iter() {
            if let Some(supervisor) = &entry.supervisor {
                supervisor.do_send(StopAll);
            }
        }
        for entry in self.live.iter() {
            entry.close.do_send(GoingAway);
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.live.len()
    }
}
