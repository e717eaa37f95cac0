//! The actor that runs one legacy endpoint: the user's endpoint value, every session's
//! user object, and the lifecycle calls, one event at a time.

use super::{LegacyContext, LegacyEndpoint, LegacySession, LegacyStats, SessionOut};
use crate::instruments::LegacyGauges;
use crate::protocol::registry::Registry;
use crate::protocol::Dynamic;
use actix::prelude::*;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Connection → endpoint: what happened to a session.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) enum LegacyEvent {
    /// The session may use the endpoint: call `stream_opened`.
    Opened {
        session: LegacySession,
        out: SessionOut,
    },
    /// The session's authentication changed; it keeps its access.
    Reauthenticated { session: LegacySession },
    /// A message from the session.
    Message { session_id: u64, message: Dynamic },
    /// The session is gone or lost access: call `stream_closed`, drop its user object.
    Closed { session_id: u64 },
    /// Nothing: its answer says that everything sent before it has been handled.
    Settle,
}

/// The live counters behind [`LegacyStats`].
#[derive(Debug, Default)]
pub(crate) struct LegacyCounters {
    sessions: AtomicUsize,
    user_objects: AtomicUsize,
    opened: AtomicU64,
    closed: AtomicU64,
}

impl LegacyCounters {
    pub(crate) fn snapshot(&self) -> LegacyStats {
        LegacyStats {
            sessions: self.sessions.load(Ordering::Relaxed),
            user_objects: self.user_objects.load(Ordering::Relaxed),
            opened: self.opened.load(Ordering::Relaxed),
            closed: self.closed.load(Ordering::Relaxed),
        }
    }
}

/// Sessions and user objects of one endpoint.
pub(crate) struct EndpointState<U> {
    pub(crate) name: Arc<str>,
    pub(crate) sessions: HashMap<u64, (LegacySession, SessionOut)>,
    pub(crate) user_objects: HashMap<u64, U>,
    /// Sessions found over their outbound bound while the endpoint ran: closed right after.
    pub(crate) overflowed: Vec<u64>,
}

/// One legacy endpoint.
pub(crate) struct EndpointActor<E: LegacyEndpoint> {
    endpoint: E,
    state: EndpointState<E::UserObject>,
    counters: Arc<LegacyCounters>,
    /// The same two numbers as metrics.
    gauges: LegacyGauges,
    /// The server's classes: the endpoint's code decodes against them.
    registry: Arc<Registry>,
}

impl<E: LegacyEndpoint> EndpointActor<E> {
    pub(crate) fn new(
        name: Arc<str>,
        endpoint: E,
        counters: Arc<LegacyCounters>,
        registry: Arc<Registry>,
    ) -> Self {
        EndpointActor {
            endpoint,
            gauges: LegacyGauges::new(&name),
            state: EndpointState {
                name,
                sessions: HashMap::new(),
                user_objects: HashMap::new(),
                overflowed: Vec::new(),
            },
            counters,
            registry,
        }
    }

    /// Runs user code with a context; a panic in it is logged and contained.
    pub(crate) fn with_context(
        &mut self,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut E, &mut LegacyContext<'_, E>),
    ) {
        let mut lctx = LegacyContext {
            state: &mut self.state,
            actix: ctx,
        };
        let endpoint = &mut self.endpoint;
        let run = || self.registry.within(|| f(endpoint, &mut lctx));
        if catch_unwind(AssertUnwindSafe(run)).is_err() {
            log::error!("legacy endpoint {} panicked", self.state.name);
        }
        for session_id in std::mem::take(&mut self.state.overflowed) {
            self.close_session(session_id, ctx);
        }
        self.update_gauges();
    }

    /// Runs `stream_closed` for a session, then forgets it and its user object.
    fn close_session(&mut self, session_id: u64, ctx: &mut Context<Self>) {
        let Some((session, _)) = self.state.sessions.get(&session_id) else {
            return;
        };
        let session = session.clone();
        self.with_context(ctx, |e, c| e.stream_closed(c, &session));
        // Whatever the endpoint did, the session and its user object go now.
        self.state.sessions.remove(&session_id);
        self.state.user_objects.remove(&session_id);
        self.counters.closed.fetch_add(1, Ordering::Relaxed);
    }

    fn update_gauges(&self) {
        let (sessions, user_objects) = (self.state.sessions.len(), self.state.user_objects.len());
        self.counters.sessions.store(sessions, Ordering::Relaxed);
        self.counters
            .user_objects
            .store(user_objects, Ordering::Relaxed);
        self.gauges.set(sessions, user_objects);
    }
}

impl<E: LegacyEndpoint> Actor for EndpointActor<E> {
    type Context = Context<Self>;
}

impl<E: LegacyEndpoint> Handler<LegacyEvent> for EndpointActor<E> {
    type Result = ();

    fn handle(&mut self, event: LegacyEvent, ctx: &mut Context<Self>) {
        match event {
            LegacyEvent::Opened { session, out } => {
                self.state
                    .sessions
                    .insert(session.id, (session.clone(), out));
                self.counters.opened.fetch_add(1, Ordering::Relaxed);
                self.with_context(ctx, |e, c| e.stream_opened(c, &session));
            }
            LegacyEvent::Reauthenticated { session } => {
                if let Some(entry) = self.state.sessions.get_mut(&session.id) {
                    entry.0 = session;
                }
            }
            LegacyEvent::Message {
                session_id,
                message,
            } => {
                let Some((session, _)) = self.state.sessions.get(&session_id) else {
                    return;
                };
                let session = session.clone();
                let name = self.state.name.clone();
                self.with_context(ctx, |e, c| {
                    if let Err(error) = e.handle_stream_message(c, &session, message) {
                        log::warn!("legacy endpoint {name}: handling a message of session {session_id} failed: {error}");
                    }
                });
            }
            LegacyEvent::Closed { session_id } => {
                self.close_session(session_id, ctx);
                self.update_gauges();
            }
            LegacyEvent::Settle => {}
        }
    }
}
