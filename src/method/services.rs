//! [`Services`]: the parts of a server that a running method may use, and no more (no
//! connection management, no shutdown).

use crate::auth::{Revocations, Revoked};
use crate::bus::{BusError, MessageBus};
use crate::protocol::registry::Registry;
use crate::stats::{Counters, Stats};
use std::sync::Arc;

/// The server's bus, revocation table, counters and classes, shared by its sessions: one
/// pointer in each (a session is made for every call).
#[derive(Clone)]
pub(crate) struct Services(Arc<ServiceSet>);

/// What [`Services`] shares.
pub(crate) struct ServiceSet {
    pub(crate) bus: MessageBus,
    pub(crate) revocations: Arc<Revocations>,
    pub(crate) counters: Arc<Counters>,
    /// The classes the server knows: what its methods decode runs against.
    pub(crate) registry: Arc<Registry>,
}

impl std::ops::Deref for Services {
    type Target = ServiceSet;
    fn deref(&self) -> &ServiceSet {
        &self.0
    }
}

impl Services {
    pub(crate) fn new(bus: MessageBus, counters: Arc<Counters>, registry: Arc<Registry>) -> Self {
        Services(Arc::new(ServiceSet {
            revocations: Revocations::new(bus.clone()),
            bus,
            counters,
            registry,
        }))
    }

    /// The server's activity now; `Server::stats` and `Session::stats` both read it here.
    pub(crate) fn stats(&self) -> Stats {
        let mut stats = self.counters.snapshot();
        stats.authenticated_calls = self.revocations.tracked();
        stats.bus_channels = self.bus.channel_count();
        stats.redis = self.bus.redis_state();
        stats
    }

    pub(crate) async fn revoke(&self, user_id: &str, revoked: Revoked) -> Result<(), BusError> {
        self.revocations.post(user_id, revoked).await
    }
}
