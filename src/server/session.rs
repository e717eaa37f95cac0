//! [`Session`]: what a running method knows about its call.

use super::stats::{Counters, Stats};
use std::sync::Arc;
use tokio::sync::watch;
use uuid::Uuid;

/// The context of one call, handed to the method when it starts.
///
/// Cloning is cheap. The session closes when the call ends for any reason: the method
/// finished, the client cancelled, or the connection went away.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

struct SessionInner {
    connection_id: u64,
    endpoint: Arc<str>,
    method: Arc<str>,
    call_id: Uuid,
    closed: watch::Sender<bool>,
    counters: Arc<Counters>,
}

impl Session {
    pub(crate) fn new(
        connection_id: u64,
        endpoint: Arc<str>,
        method: Arc<str>,
        call_id: Uuid,
        counters: Arc<Counters>,
    ) -> Self {
        Session {
            inner: Arc::new(SessionInner {
                connection_id,
                endpoint,
                method,
                call_id,
                closed: watch::channel(false).0,
                counters,
            }),
        }
    }

    /// The id of the WebSocket connection the call runs on, unique within this server.
    pub fn connection_id(&self) -> u64 {
        self.inner.connection_id
    }

    /// The endpoint name as the client sent it.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The method name.
    pub fn method(&self) -> &str {
        &self.inner.method
    }

    /// The call id (`cid`).
    pub fn call_id(&self) -> Uuid {
        self.inner.call_id
    }

    /// True once the call has ended.
    pub fn is_closed(&self) -> bool {
        *self.inner.closed.borrow()
    }

    /// Completes when the call ends.
    pub async fn closed(&self) {
        let mut rx = self.inner.closed.subscribe();
        // An error means the sender is gone, which also means closed.
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// The server's counters, for methods that report on the server itself.
    pub fn server_stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    pub(crate) fn close(&self) {
        self.inner.closed.send_replace(true);
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("connection_id", &self.inner.connection_id)
            .field("endpoint", &self.inner.endpoint)
            .field("method", &self.inner.method)
            .field("call_id", &self.inner.call_id)
            .finish()
    }
}
