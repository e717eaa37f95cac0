//! [`Session`]: what a running method knows about its call.

use super::Services;
use crate::auth::Handshake;
use crate::auth::{AuthInfo, Revoked};
use crate::bus::{BusError, BusStream, HistoryStream, ListenerId, MessageBus, Scope};
use crate::protocol::{Dynamic, Wire};
use crate::stats::Stats;
use crate::sync::lock;
use crate::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;
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
    /// Boxed: most calls carry none, and an `AuthInfo` is 96 bytes.
    auth: Option<Box<AuthInfo>>,
    /// The connection's handshake, shared by its calls.
    handshake: Handshake,
    /// Set once, when the call ends; `closing` wakes whoever waits for it. Not a `watch`
    /// channel: its state is 280 bytes of every call, this is 40.
    closed: AtomicBool,
    closing: Notify,
    services: Services,
    /// Bus listeners added through this session, removed when it closes.
    listeners: Mutex<Vec<(String, ListenerId)>>,
    /// Run once when the session closes. The lock also covers setting `closed`, so a
    /// listener added while the session closes either runs with the others or at once.
    on_close: Mutex<Vec<CloseListener>>,
    /// The endpoint's application state ([`Endpoint::with_state`](super::Endpoint::with_state)).
    state: Option<AppState>,
}

/// An endpoint's application state, of the type the application gave it.
pub(crate) type AppState = Arc<dyn std::any::Any + Send + Sync>;

type CloseListener = Box<dyn FnOnce() + Send>;

/// Everything a session is made of.
pub(crate) struct SessionParts {
    pub(crate) connection_id: u64,
    pub(crate) endpoint: Arc<str>,
    pub(crate) method: Arc<str>,
    pub(crate) call_id: Uuid,
    pub(crate) auth: Option<AuthInfo>,
    pub(crate) handshake: Handshake,
    pub(crate) services: Services,
    pub(crate) state: Option<AppState>,
}

impl Session {
    pub(crate) fn new(parts: SessionParts) -> Self {
        Session {
            inner: Arc::new(SessionInner {
                connection_id: parts.connection_id,
                endpoint: parts.endpoint,
                method: parts.method,
                call_id: parts.call_id,
                auth: parts.auth.map(Box::new),
                handshake: parts.handshake,
                closed: AtomicBool::new(false),
                closing: Notify::new(),
                services: parts.services,
                listeners: Mutex::new(Vec::new()),
                on_close: Mutex::new(Vec::new()),
                state: parts.state,
            }),
        }
    }

    /// The endpoint's application state, if it has one of type `S`
    /// ([`Endpoint::with_state`](super::Endpoint::with_state)): shared by every call of the
    /// endpoint, as actix's `web::Data` is by every request.
    pub fn state<S: Send + Sync + 'static>(&self) -> Option<Arc<S>> {
        self.inner.state.clone()?.downcast::<S>().ok()
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
        self.inner.auth.as_deref()
    }

    /// The handshake of the connection the call came on: the peer's address and the
    /// headers (for an app that rate-limits or audits by address).
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// The server's activity now (the same snapshot as `Server::stats`).
    pub fn stats(&self) -> Stats {
        self.inner.services.stats()
    }

    /// Revokes some or all of a user's authentication, as
    /// [`Server::revoke_authentication`](crate::Server::revoke_authentication) does: for a
    /// method that signs a user out.
    pub async fn revoke_authentication(
        &self,
        user_id: &str,
        revoked: Revoked,
    ) -> Result<(), BusError> {
        self.inner.services.revoke(user_id, revoked).await
    }

    /// The server's classes, which the method's decoding runs against.
    pub(crate) fn registry(&self) -> &std::sync::Arc<crate::protocol::registry::Registry> {
        &self.inner.services.registry
    }

    fn bus(&self) -> &MessageBus {
        &self.inner.services.bus
    }

    /// True once the call has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Runs `listener` once when the call ends, for any reason (Serverpod's
    /// `addWillCloseListener`): to release what the method holds outside its stream. On a
    /// session that has already closed it runs at once. A listener that panics is logged and
    /// does not stop the others.
    pub fn on_close(&self, listener: impl FnOnce() + Send + 'static) {
        let mut listeners = lock(&self.inner.on_close);
        if self.is_closed() {
            drop(listeners);
            run_close_listener(Box::new(listener));
        } else {
            listeners.push(Box::new(listener));
        }
    }

    /// Completes when the call ends.
    pub async fn closed(&self) {
        let notified = self.inner.closing.notified();
        tokio::pin!(notified);
        // Registered before the check, so a close in between is not missed.
        notified.as_mut().enable();
        if !self.is_closed() {
            notified.await;
        }
    }

    /// The message bus, tied to this session: listeners and streams made here are removed
    /// when the call ends.
    pub fn messages(&self) -> SessionMessages<'_> {
        SessionMessages { session: self }
    }

    pub(crate) fn close(&self) {
        let on_close = {
            let mut on_close = lock(&self.inner.on_close);
            self.inner.closed.store(true, Ordering::Release);
            self.inner.closing.notify_waiters();
            std::mem::take(&mut *on_close)
        };
        for listener in on_close {
            run_close_listener(listener);
        }
        let listeners = std::mem::take(&mut *lock(&self.inner.listeners));
        for (channel, id) in listeners {
            self.bus().remove_listener(&channel, id);
        }
    }
}

fn run_close_listener(listener: CloseListener) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(listener)).is_err() {
        log::error!("a session's close listener panicked");
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
            .bus()
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
        let id = self.session.bus().add_listener(channel, listener);
        let mut listeners = lock(&inner.listeners);
        if self.session.is_closed() {
            // The call already ended: the listener must not outlive it.
            drop(listeners);
            self.session.bus().remove_listener(channel, id);
        } else {
            listeners.push((channel.to_string(), id));
        }
        id
    }

    /// Removes a listener.
    pub fn remove_listener(&self, channel: &str, id: ListenerId) {
        lock(&self.session.inner.listeners).retain(|(_, i)| *i != id);
        self.session.bus().remove_listener(channel, id);
    }

    /// A stream of the messages on `channel` as `T`, which ends when the call ends.
    pub fn create_stream<T: Wire>(&self, channel: &str) -> BusStream<T> {
        let session = self.session.clone();
        let until = Box::pin(async move { session.closed().await });
        self.session.bus().stream_until(channel, Some(until))
    }

    /// The messages on `channel` from a position, as
    /// [`MessageBus::create_stream_since`](crate::bus::MessageBus::create_stream_since)
    /// gives them; the stream ends when the call ends.
    pub async fn create_stream_since<T: Wire>(
        &self,
        channel: &str,
        since: Option<(&str, u64)>,
    ) -> Result<HistoryStream<T>, BusError> {
        let session = self.session.clone();
        let until = Box::pin(async move { session.closed().await });
        self.session
            .bus()
            .history_stream_until(channel, since, Some(until))
            .await
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

impl std::fmt::Debug for SessionMessages<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMessages")
            .field("call_id", &self.session.call_id())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn session() -> Session {
        Session::new(SessionParts {
            connection_id: 1,
            endpoint: "e".into(),
            method: "m".into(),
            call_id: Uuid::nil(),
            auth: None,
            handshake: Default::default(),
            services: {
                let registry = crate::protocol::registry::Registry::new();
                let bus = MessageBus::new(16, None, registry.clone(), Vec::new()).unwrap();
                Services::new(bus, Default::default(), registry)
            },
            state: None,
        })
    }

    #[test]
    fn close_listeners_run_once_each_even_after_a_panic_and_late_ones_at_once() {
        let session = session();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = |runs: &Arc<AtomicUsize>| {
            let runs = runs.clone();
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        };
        session.on_close(counter(&runs));
        session.on_close(|| panic!("a listener that panics"));
        session.on_close(counter(&runs));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        session.close();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // Closing again runs nothing twice; a listener added now runs at once.
        session.close();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        session.on_close(counter(&runs));
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }
}
