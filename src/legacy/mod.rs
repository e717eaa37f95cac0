//! Legacy streaming endpoints: Serverpod's first streaming API, served at `GET /websocket`.
//!
//! A client keeps one connection; the server tells each endpoint when a session opens
//! ([`LegacyEndpoint::stream_opened`]), hands it the session's messages in order
//! ([`LegacyEndpoint::handle_stream_message`]), lets it push messages back and keep a typed
//! user object per session ([`LegacyContext`]), and tells it when the session closes
//! ([`LegacyEndpoint::stream_closed`]), after which the session's user object is dropped.
//!
//! Each registered endpoint runs in one actor (`EndpointActor`) that
//! owns the user's endpoint value and every session's user object, so the endpoint's code
//! needs no locks. Each connection runs a `LegacyConnection` on the socket edge.
//!
//! What an endpoint sends a session is counted in that connection's outbound gate, by the
//! same rule as method streams: while less than `max_outbound_bytes` waits for the socket.
//! An endpoint serves many sessions and cannot wait for one, so a session over its bound
//! is closed with 1013 instead, and the endpoint and its other sessions go on.

mod connection;
mod endpoint_actor;

pub(crate) use connection::LegacyConnection;
pub(crate) use endpoint_actor::{LegacyCounters, LegacyEvent};

use crate::auth::{AuthInfo, AuthenticationHandler, Requirements};
use crate::error::StreamError;
use crate::flow::OutboundGate;
use crate::outbox::{CloseCode, Outbox, Outgoing};
use crate::protocol::registry::Registry;
use crate::protocol::{Dynamic, EncodeError, Encoding, LegacyMessage, Wire};
use crate::sync::{lock, Mutex};
use actix::prelude::*;
use endpoint_actor::{EndpointActor, EndpointState};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What the legacy connections of one server share.
pub(crate) struct LegacyEndpoints {
    pub(crate) endpoints: HashMap<String, LegacyHandle>,
    pub(crate) authentication: Option<AuthenticationHandler>,
    /// The server's classes: messages from sessions are checked against them.
    pub(crate) registry: Arc<Registry>,
}

impl LegacyEndpoints {
    /// Completes once every started endpoint has handled what its sessions sent it so far
    /// (their `stream_closed` included): shutdown waits for it after the last connection.
    pub(crate) async fn settled(&self) {
        for handle in self.endpoints.values() {
            if let Some(Some(actor)) = handle.actor.get() {
                let _ = actor.send(LegacyEvent::Settle).await;
            }
        }
    }
}

/// The way from an endpoint to one session's socket.
pub(crate) struct SessionOut {
    outbox: Outbox<Infallible>,
    gate: Arc<OutboundGate>,
    /// The connection's encoding, once its first data frame has set it (MessagePack
    /// before that).
    encoding: Arc<OnceLock<Encoding>>,
    /// Closed for being over its bound: nothing more is sent.
    overflowed: bool,
}

impl SessionOut {
    pub(crate) fn new(
        outbox: Outbox<Infallible>,
        gate: Arc<OutboundGate>,
        encoding: Arc<OnceLock<Encoding>>,
    ) -> Self {
        SessionOut {
            outbox,
            gate,
            encoding,
            overflowed: false,
        }
    }

    /// Queues `frame` for the session. When its socket is already as far behind as the
    /// server allows, queues a close (1013) instead and returns false: the endpoint then
    /// closes the session on its side at once, since a socket whose peer does not read
    /// runs nothing (actix drives it only as the peer takes its bytes).
    fn send(&mut self, session_id: u64, message: &LegacyMessage) -> Result<bool, EncodeError> {
        if self.overflowed {
            return Ok(true);
        }
        let frame = message.to_frame(self.encoding.get().copied().unwrap_or_default())?;
        if self.gate.try_add(frame.len()) {
            // The connection may be gone already; then so is everything it would have written.
            let _ = self.outbox.send(Outgoing::Frame(frame));
            return Ok(true);
        }
        log::info!("legacy session {session_id} is not reading its socket; closing it");
        self.overflowed = true;
        let _ = self
            .outbox
            .send(Outgoing::Close(CloseCode::Again, "not reading"));
        Ok(false)
    }
}

/// One client connection, as a legacy endpoint sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacySession {
    id: u64,
    auth: Option<AuthInfo>,
}

impl LegacySession {
    /// The connection's id, unique within the server.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Who the connection is authenticated as.
    pub fn auth(&self) -> Option<&AuthInfo> {
        self.auth.as_ref()
    }
}

/// A legacy streaming endpoint. Implement it on your endpoint's state; the server runs it
/// in an actor of its own.
///
/// ```
/// use streampod::legacy::{LegacyContext, LegacyEndpoint, LegacySession};
/// use streampod::{Dynamic, StreamError};
///
/// /// Echoes every message and counts them per session.
/// #[derive(Default)]
/// struct Echo;
///
/// impl LegacyEndpoint for Echo {
///     type UserObject = u64;
///     fn stream_opened(&mut self, ctx: &mut LegacyContext<'_, Self>, session: &LegacySession) {
///         ctx.set_user_object(session, 0);
///     }
///     fn handle_stream_message(
///         &mut self,
///         ctx: &mut LegacyContext<'_, Self>,
///         session: &LegacySession,
///         message: Dynamic,
///     ) -> Result<(), StreamError> {
///         if let Some(count) = ctx.user_object_mut(session) {
///             *count += 1;
///         }
///         ctx.send_stream_message(session, &message).map_err(StreamError::failed)
///     }
/// }
/// ```
pub trait LegacyEndpoint: Sized + Send + Unpin + 'static {
    /// The per-session state kept with [`LegacyContext::set_user_object`].
    type UserObject: Send + Unpin + 'static;

    /// A session that may use this endpoint connected (or, after an `auth` command, gained
    /// access to it).
    fn stream_opened(&mut self, _ctx: &mut LegacyContext<'_, Self>, _session: &LegacySession) {}

    /// The session is gone (or lost access). Its user object is dropped right after.
    fn stream_closed(&mut self, _ctx: &mut LegacyContext<'_, Self>, _session: &LegacySession) {}

    /// A message from the session. An error is logged; the connection goes on.
    fn handle_stream_message(
        &mut self,
        ctx: &mut LegacyContext<'_, Self>,
        session: &LegacySession,
        message: Dynamic,
    ) -> Result<(), StreamError>;
}

/// What a legacy endpoint can do while it handles an event.
pub struct LegacyContext<'a, E: LegacyEndpoint> {
    state: &'a mut EndpointState<E::UserObject>,
    actix: &'a mut Context<EndpointActor<E>>,
}

impl<E: LegacyEndpoint> LegacyContext<'_, E> {
    /// The endpoint's name.
    pub fn endpoint_name(&self) -> &str {
        &self.state.name
    }

    /// Sends `message` to `session`, on this endpoint. Sending to a session that has
    /// closed does nothing. A session whose socket is `Config::max_outbound_bytes` behind is
    /// closed with 1013 (and then hears `stream_closed`) rather than buffered without bound.
    /// The endpoint may handle a few hundred messages in one turn before any socket drains,
    /// so an endpoint that sends large messages in bursts needs a limit above its burst.
    pub fn send_stream_message<T: Wire>(
        &mut self,
        session: &LegacySession,
        message: &T,
    ) -> Result<(), EncodeError> {
        let object = Dynamic::new(message)?;
        if let Some((_, out)) = self.state.sessions.get_mut(&session.id) {
            let frame = LegacyMessage::Endpoint {
                endpoint: self.state.name.to_string(),
                object,
            };
            if !out.send(session.id, &frame)? {
                self.state.overflowed.push(session.id);
            }
        }
        Ok(())
    }

    /// Every session currently open on this endpoint.
    pub fn sessions(&self) -> Vec<LegacySession> {
        self.state
            .sessions
            .values()
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// Stores `value` as `session`'s user object, replacing any earlier one.
    pub fn set_user_object(&mut self, session: &LegacySession, value: E::UserObject) {
        if self.state.sessions.contains_key(&session.id) {
            self.state.user_objects.insert(session.id, value);
        }
    }

    /// `session`'s user object.
    pub fn user_object(&self, session: &LegacySession) -> Option<&E::UserObject> {
        self.state.user_objects.get(&session.id)
    }

    /// `session`'s user object, to change in place.
    pub fn user_object_mut(&mut self, session: &LegacySession) -> Option<&mut E::UserObject> {
        self.state.user_objects.get_mut(&session.id)
    }

    /// Runs `f` on the endpoint after `delay` (the actor's own timer: no threads, no locks).
    pub fn run_later(
        &mut self,
        delay: Duration,
        f: impl FnOnce(&mut E, &mut LegacyContext<'_, E>) + 'static,
    ) {
        self.actix
            .run_later(delay, move |act, ctx| act.with_context(ctx, f));
    }
}

type Starter = Box<dyn FnOnce(Arc<LegacyCounters>, Arc<Registry>) -> Recipient<LegacyEvent> + Send>;

/// A legacy endpoint to register with
/// [`ServerBuilder::legacy_endpoint`](crate::ServerBuilder::legacy_endpoint).
pub struct Legacy {
    pub(crate) name: String,
    pub(crate) requirements: Requirements,
    start: Starter,
}

impl Legacy {
    /// Serves `endpoint` under `name`.
    pub fn new<E: LegacyEndpoint>(name: impl Into<String>, endpoint: E) -> Self {
        let name = name.into();
        let actor_name: Arc<str> = Arc::from(name.as_str());
        Legacy {
            name,
            requirements: Requirements::default(),
            start: Box::new(move |counters, registry| {
                EndpointActor::new(actor_name, endpoint, counters, registry)
                    .start()
                    .recipient()
            }),
        }
    }

    /// Only signed-in sessions may use it.
    pub fn require_login(mut self) -> Self {
        self.requirements.login = true;
        self
    }

    /// Only sessions holding every one of `scopes` may use it.
    pub fn require_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.requirements.add_scopes(scopes);
        self
    }
}

impl<E: LegacyEndpoint> std::fmt::Debug for LegacyContext<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyContext")
            .field("endpoint", &self.state.name)
            .field("sessions", &self.state.sessions.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Legacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Legacy")
            .field("name", &self.name)
            .field("requirements", &self.requirements)
            .finish_non_exhaustive()
    }
}

/// A registered legacy endpoint, as the server holds it. Its actor starts on the first
/// connection, inside the actix system that serves it.
pub(crate) struct LegacyHandle {
    pub(crate) requirements: Requirements,
    pub(crate) counters: Arc<LegacyCounters>,
    start: Mutex<Option<Starter>>,
    /// Set once, by whichever connection comes first; a connection on another worker
    /// that asks meanwhile waits for it (`OnceLock::get_or_init`), never sees it missing.
    actor: OnceLock<Option<Recipient<LegacyEvent>>>,
    registry: Arc<Registry>,
}

impl LegacyHandle {
    pub(crate) fn new(spec: Legacy, registry: Arc<Registry>) -> Self {
        LegacyHandle {
            requirements: spec.requirements,
            counters: Arc::new(LegacyCounters::default()),
            start: Mutex::new(Some(spec.start)),
            actor: OnceLock::new(),
            registry,
        }
    }

    /// The endpoint's actor, started if this is the first use.
    /// (`None` only if starting it panicked.)
    pub(crate) fn actor(&self) -> Option<&Recipient<LegacyEvent>> {
        self.actor
            .get_or_init(|| {
                // Runs once: the starter is there.
                let start = lock(&self.start).take()?;
                Some(start(self.counters.clone(), self.registry.clone()))
            })
            .as_ref()
    }
}

/// A snapshot of one legacy endpoint's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LegacyStats {
    /// Sessions open on the endpoint now.
    pub sessions: usize,
    /// User objects it holds now.
    pub user_objects: usize,
    /// Times `stream_opened` ran.
    pub opened: u64,
    /// Times `stream_closed` ran.
    pub closed: u64,
}
