//! [`Session`]: what a running method knows about its call.

use super::auth::AuthInfo;
use super::Server;
use crate::bus::{BusError, BusStream, ListenerId, Scope};
use crate::protocol::{Dynamic, Wire};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use uuid::Uuid;

/// The context of one call, handed to the method when it starts.
///
/// Cloning is cheap. The session closes when the call ends for any reason: the method
/// finished, the client cancelled, authentication was revoked, or the connection went away.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

struct SessionInner {
    connection_id: u64,
    endpoint: Arc<str>,
    method: Arc<str>,
    call_id: Uuid,
    auth: Option<AuthInfo>,
    closed: watch::Sender<bool>,
    server: Server,
    /// Bus listeners added through this session, removed when it closes.
    listeners: Mutex<Vec<(String, ListenerId)>>,
}

/// Everything a session is made of.
pub(crate) struct SessionParts {
    pub(crate) connection_id: u64,
    pub(crate) endpoint: Arc<str>,
    pub(crate) method: Arc<str>,
    pub(crate) call_id: Uuid,
    pub(crate) auth: Option<AuthInfo>,
    pub(crate) server: Server,
}

impl Session {
    pub(crate) fn new(parts: SessionParts) -> Self {
        Session {
            inner: Arc::new(SessionInner {
                connection_id: parts.connection_id,
                endpoint: parts.endpoint,
                method: parts.method,
                call_id: parts.call_id,
                auth: parts.auth,
                closed: watch::channel(false).0,
                server: parts.server,
                listeners: Mutex::new(Vec::new()),
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

    /// Who the call is authenticated as: `None` when it carried no valid credentials.
    pub fn auth(&self) -> Option<&AuthInfo> {
        self.inner.auth.as_ref()
    }

    /// The server the call runs on, for its counters and for revoking authentication.
    pub fn server(&self) -> &Server {
        &self.inner.server
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

    /// The message bus, tied to this session: listeners and streams made here are removed
    /// when the call ends.
    pub fn messages(&self) -> SessionMessages<'_> {
        SessionMessages { session: self }
    }

    pub(crate) fn close(&self) {
        self.inner.closed.send_replace(true);
        let listeners = match self.inner.listeners.lock() {
            Ok(mut l) => std::mem::take(&mut *l),
            Err(_) => return,
        };
        for (channel, id) in listeners {
            self.inner.server.messages().remove_listener(&channel, id);
        }
    }
}

/// The message bus as a call uses it (see [`MessageBus`](crate::bus::MessageBus)).
pub struct SessionMessages<'a> {
    session: &'a Session,
}

impl SessionMessages<'_> {
    /// Posts `message` on `channel` (see [`MessageBus::post_message`](crate::bus::MessageBus::post_message)).
    pub async fn post_message<T: Wire>(
        &self,
        channel: &str,
        message: &T,
        scope: Scope,
    ) -> Result<(), BusError> {
        self.session
            .server()
            .messages()
            .post_message(channel, message, scope)
            .await
    }

    /// Calls `listener` for every message on `channel` until removed or the call ends.
    pub fn add_listener(
        &self,
        channel: &str,
        listener: impl Fn(&Dynamic) + Send + Sync + 'static,
    ) -> ListenerId {
        let inner = &self.session.inner;
        let id = inner.server.messages().add_listener(channel, listener);
        match inner.listeners.lock() {
            Ok(mut l) if !self.session.is_closed() => l.push((channel.to_string(), id)),
            // The call already ended: the listener must not outlive it.
            _ => inner.server.messages().remove_listener(channel, id),
        }
        id
    }

    /// Removes a listener.
    pub fn remove_listener(&self, channel: &str, id: ListenerId) {
        if let Ok(mut l) = self.session.inner.listeners.lock() {
            l.retain(|(_, i)| *i != id);
        }
        self.session
            .server()
            .messages()
            .remove_listener(channel, id);
    }

    /// A stream of the messages on `channel` as `T`, which ends when the call ends.
    pub fn create_stream<T: Wire>(&self, channel: &str) -> BusStream<T> {
        let session = self.session.clone();
        let until = Box::pin(async move { session.closed().await });
        self.session
            .server()
            .messages()
            .stream_until(channel, Some(until))
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("connection_id", &self.inner.connection_id)
            .field("endpoint", &self.inner.endpoint)
            .field("method", &self.inner.method)
            .field("call_id", &self.inner.call_id)
            .field("auth", &self.inner.auth)
            .finish()
    }
}
