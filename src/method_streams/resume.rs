//! Resumable sessions (docs/PROTOCOL.md §11): a method-stream connection whose client asked
//! for it (`?resume`) gets a token with its first answer; when its socket goes without a
//! close, the connection keeps everything (calls, routes, the frames its client has not
//! acknowledged, its connection slot) under that token for the resume window, and a new
//! socket that presents the token in its first frame takes it all over.
//!
//! [`Sessions`] is the server's table of them: a live session's socket (which a second
//! socket presenting the token takes the session from), or a detached session, parked
//! until it is resumed or its window runs out. Tokens are 32 bytes: 8 that name this server
//! (a token from another node is told apart) and 24 from the operating system's CSPRNG.
//! They are compared in full and never logged.

use super::{MethodConnection, Resume};
use crate::auth::{AuthInfo, Revoke};
use crate::call::messages::CallEnded;
use crate::protocol::{unwrap_auth_value, Message, ResumeRefusal};
use crate::socket::{CloseCode, Detached, Edge, TakeOver};
use crate::stats::Counters;
use crate::sync::{lock, Mutex};
use actix::prelude::*;
use base64::Engine;
use dashmap::DashMap;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// A session's token, as bytes.
pub(crate) type Key = [u8; 32];

/// Tokens that ended recently, so that a late resume hears why: at most this many.
const RETIRED: usize = 4096;

/// The resumable sessions of one server.
pub(crate) struct Sessions {
    /// Names this server in its tokens.
    node: [u8; 8],
    window: Duration,
    table: DashMap<Key, Slot>,
    retired: Mutex<Retired>,
    counters: Arc<Counters>,
}

/// Where a session is.
enum Slot {
    /// On a socket, which hands it over when told to.
    Live(Recipient<TakeOver>),
    /// Detached, until resumed or expired (`generation` tells an old timer from a new one).
    Parked(Box<Parked>, u64),
}

/// A detached session: the connection's state and its edge.
pub(crate) struct Parked {
    pub(crate) connection: MethodConnection,
    pub(crate) edge: Detached<CallEnded>,
}

/// Why tokens that no longer name a session stopped doing so.
#[derive(Default)]
struct Retired {
    why: HashMap<Key, ResumeRefusal>,
    order: VecDeque<Key>,
}

impl Retired {
    fn insert(&mut self, key: Key, why: ResumeRefusal) {
        if self.why.insert(key, why).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > RETIRED {
            if let Some(old) = self.order.pop_front() {
                self.why.remove(&old);
            }
        }
    }
}

/// What a token finds.
pub(crate) enum Found {
    /// A detached session, now the caller's.
    Parked(Box<Parked>),
    /// A session on another socket: take it over, then look again.
    Live(Recipient<TakeOver>),
    /// Nothing, and why.
    Refused(ResumeRefusal),
}

impl Sessions {
    pub(crate) fn new(window: Duration, counters: Arc<Counters>) -> Self {
        let mut node = [0u8; 8];
        // Without the system's randomness a node name is still good enough to tell nodes
        // apart most of the time; tokens themselves are never made without it.
        let _ = getrandom::fill(&mut node);
        Sessions {
            node,
            window,
            table: DashMap::new(),
            retired: Mutex::new(Retired::default()),
            counters,
        }
    }

    /// How long a detached session is kept.
    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// A new session on `socket`: its token, as the client gets it, and its key. `None`
    /// when the system has no randomness to give (then the connection is not resumable).
    pub(crate) fn open(&self, socket: Recipient<TakeOver>) -> Option<(String, Key)> {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.node);
        getrandom::fill(&mut key[8..]).ok()?;
        self.table.insert(key, Slot::Live(socket));
        Some((
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key),
            key,
        ))
    }

    /// The session `token` names, taken out of a detached slot (its socket's, if live).
    pub(crate) fn find(&self, token: &str) -> (Option<Key>, Found) {
        let key = match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) {
            Ok(bytes) => match <Key>::try_from(bytes.as_slice()) {
                Ok(key) => key,
                Err(_) => return (None, Found::Refused(ResumeRefusal::Unknown)),
            },
            Err(_) => return (None, Found::Refused(ResumeRefusal::Unknown)),
        };
        if key[..8] != self.node {
            return (Some(key), Found::Refused(ResumeRefusal::Elsewhere));
        }
        if let Some((_, Slot::Parked(parked, _))) = self
            .table
            .remove_if(&key, |_, slot| matches!(slot, Slot::Parked(..)))
        {
            self.counters.session_resumed();
            crate::instruments::detached(-1.0);
            return (Some(key), Found::Parked(parked));
        }
        if let Some(slot) = self.table.get(&key) {
            if let Slot::Live(socket) = &*slot {
                return (Some(key), Found::Live(socket.clone()));
            }
        }
        let why = lock(&self.retired)
            .why
            .get(&key)
            .copied()
            .unwrap_or(ResumeRefusal::Unknown);
        (Some(key), Found::Refused(why))
    }

    /// The session `key` lives on `socket` now.
    pub(crate) fn live(&self, key: Key, socket: Recipient<TakeOver>) {
        self.table.insert(key, Slot::Live(socket));
    }

    /// Parks a detached session for the window; after it, the session ends.
    pub(crate) fn park(self: &Arc<Self>, key: Key, parked: Parked) {
        static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let generation = GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.table
            .insert(key, Slot::Parked(Box::new(parked), generation));
        self.counters.session_detached();
        crate::instruments::detached(1.0);
        let sessions = self.clone();
        actix::spawn(async move {
            tokio::time::sleep(sessions.window).await;
            sessions.expire(key, generation);
        });
    }

    /// Puts back a session taken out for a resume that did not happen.
    pub(crate) fn put_back(self: &Arc<Self>, key: Key, parked: Box<Parked>) {
        self.park(key, *parked);
    }

    /// The window of a parked session ran out.
    fn expire(&self, key: Key, generation: u64) {
        let removed = self.table.remove_if(
            &key,
            |_, slot| matches!(slot, Slot::Parked(_, g) if *g == generation),
        );
        if let Some((_, Slot::Parked(parked, _))) = removed {
            log::debug!(
                "connection {}: its session's resume window ran out",
                parked.connection.id
            );
            self.end(key, *parked, ResumeRefusal::Expired);
        }
    }

    /// Ends a detached session: its calls are torn down as a closed connection's are.
    fn end(&self, key: Key, mut parked: Parked, why: ResumeRefusal) {
        lock(&self.retired).insert(key, why);
        self.counters.session_resumed();
        crate::instruments::detached(-1.0);
        let id = parked.connection.id;
        parked.connection.end(id);
    }

    /// A session on a socket ended (its client closed it, a protocol error): its token
    /// resumes nothing any more.
    pub(crate) fn closed(&self, key: Key) {
        self.table
            .remove_if(&key, |_, slot| matches!(slot, Slot::Live(_)));
        lock(&self.retired).insert(key, ResumeRefusal::Closed);
    }

    /// Ends every detached session (the server shuts down); live ones close with their
    /// sockets.
    pub(crate) fn close_all(&self) {
        let parked: Vec<Key> = self
            .table
            .iter()
            .filter(|entry| matches!(entry.value(), Slot::Parked(..)))
            .map(|entry| *entry.key())
            .collect();
        for key in parked {
            if let Some((_, Slot::Parked(parked, _))) = self
                .table
                .remove_if(&key, |_, slot| matches!(slot, Slot::Parked(..)))
            {
                self.end(key, *parked, ResumeRefusal::Closed);
            }
        }
    }

    /// Ends a session taken out for a resume that cannot go on.
    fn discard(&self, key: Key, parked: Parked) {
        self.counters.session_detached();
        self.end(key, parked, ResumeRefusal::Closed);
    }
}

/// Whether `auth` is still the caller of a call opened as `opened`: the same user and, if
/// the call's authentication had an id, the same id.
fn same_caller(opened: &AuthInfo, auth: Option<&AuthInfo>) -> bool {
    auth.is_some_and(|auth| auth.user_id == opened.user_id && auth.auth_id == opened.auth_id)
}

impl MethodConnection {
    /// The first frame of a connection whose client asked to resume, and not a resume: a
    /// new session, whose token goes out before anything else.
    pub(super) fn open_session(&mut self, edge: &mut Edge<'_, Self>) {
        let sessions = self.methods.sessions.clone();
        match sessions.open(edge.take_over_handle()) {
            Some((token, key)) => {
                self.resume = Resume::On(key);
                let window = millis(sessions.window());
                self.send(&Message::resume_state(token, 0, window), edge);
            }
            None => {
                log::warn!(
                    "no randomness for a resume token: connection {} is not resumable",
                    self.id
                );
                self.resume = Resume::Off;
            }
        }
    }

    /// A new socket's first frame resumes the session of `token`, whose client has
    /// received `received` of its call frames.
    pub(super) fn resume_session(
        &mut self,
        token: String,
        received: u64,
        auth: Option<String>,
        edge: &mut Edge<'_, Self>,
    ) {
        let sessions = self.methods.sessions.clone();
        match sessions.find(&token) {
            (Some(key), Found::Parked(parked)) => {
                self.take_session(token, key, parked, received, auth, edge)
            }
            (_, Found::Live(socket)) => {
                // On another socket still (the client saw the drop first): that socket
                // hands it over, then it is parked here to take.
                edge.wait(socket.send(TakeOver), move |conn, _, edge| {
                    match sessions.find(&token) {
                        (Some(key), Found::Parked(parked)) => {
                            conn.take_session(token, key, parked, received, auth, edge)
                        }
                        (_, Found::Live(_)) => conn.refuse_resume(ResumeRefusal::Closed, edge),
                        (_, Found::Refused(why)) => conn.refuse_resume(why, edge),
                        (None, Found::Parked(_)) => {}
                    }
                });
            }
            (_, Found::Refused(why)) => self.refuse_resume(why, edge),
            (None, Found::Parked(_)) => {}
        }
    }

    /// A detached session is this socket's, once its caller is known again.
    fn take_session(
        &mut self,
        token: String,
        key: Key,
        parked: Box<Parked>,
        received: u64,
        auth: Option<String>,
        edge: &mut Edge<'_, Self>,
    ) {
        let sessions = self.methods.sessions.clone();
        if parked.edge.encoding != edge.encoding() {
            sessions.put_back(key, parked);
            return self.refuse_resume(ResumeRefusal::Encoding, edge);
        }
        let needs_caller = parked.connection.calls.values().any(|r| r.auth.is_some());
        // The key the resume carries, else (cookie mode) the new socket's auth cookie.
        let key_value = auth
            .as_deref()
            .and_then(unwrap_auth_value)
            .or_else(|| self.cookie_key.clone());
        match (needs_caller, key_value, self.methods.authentication.clone()) {
            (true, Some(auth_key), Some(handler)) => {
                edge.wait(
                    handler(auth_key, self.handshake.clone()),
                    move |conn, caller, edge| {
                        conn.finish_resume(token, key, parked, received, caller, edge)
                    },
                );
            }
            _ => self.finish_resume(token, key, parked, received, None, edge),
        }
    }

    /// Adopts the session: its edge (what the client lacks is written again), its calls,
    /// its slot. A call that required authentication goes on only if `caller` is who opened
    /// it; otherwise it ends revoked.
    fn finish_resume(
        &mut self,
        token: String,
        key: Key,
        parked: Box<Parked>,
        received: u64,
        caller: Option<AuthInfo>,
        edge: &mut Edge<'_, Self>,
    ) {
        let sessions = self.methods.sessions.clone();
        let Parked {
            connection,
            edge: detached,
        } = *parked;
        let answer = Message::resume_state(token, detached.received(), millis(sessions.window()));
        let Ok(first) = answer.to_frame(edge.encoding()) else {
            return;
        };
        match edge.adopt(detached, received, first) {
            Err(detached) => {
                // The client claims frames that were never sent, or that it acknowledged
                // already: the session cannot go on.
                log::debug!(
                    "connection {}: a resume from an impossible position",
                    connection.id
                );
                sessions.discard(
                    key,
                    Parked {
                        connection,
                        edge: detached,
                    },
                );
                self.refuse_resume(ResumeRefusal::Closed, edge);
            }
            Ok(()) => {
                let from = self.id;
                // The session's calls, on this socket: its credentials and handshake are
                // the ones later opens use.
                let socket = std::mem::replace(self, connection);
                self.cookie_key = socket.cookie_key;
                self.handshake = socket.handshake;
                sessions.live(key, edge.take_over_handle());
                if let Some(supervisor) = &self.supervisor {
                    edge.attach_shutdown_helper(supervisor.clone().recipient());
                }
                for route in self.calls.values() {
                    let still = route
                        .auth
                        .as_deref()
                        .is_none_or(|opened| same_caller(opened, caller.as_ref()));
                    if !still {
                        if let Some(call) = route.call.upgrade() {
                            call.do_send(Revoke);
                        }
                    }
                }
                crate::instruments::resumed();
                log::debug!(
                    "connection {}: session resumed on connection {from}",
                    self.id
                );
            }
        }
    }

    /// Refuses a resume: `rsx` with why, then a close. The client fails its calls.
    pub(super) fn refuse_resume(&mut self, why: ResumeRefusal, edge: &mut Edge<'_, Self>) {
        crate::instruments::resume_refused(why.as_str());
        log::debug!("connection {}: resume refused: {why}", self.id);
        self.resume = Resume::Off;
        self.send(&Message::resume_refused(why), edge);
        edge.close(CloseCode::Policy, "resume refused");
    }
}

/// A duration in whole milliseconds, as the wire carries it.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
