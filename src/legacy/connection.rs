//! [`LegacyConnection`]: one client connection to the legacy endpoints (`GET /websocket`).
//!
//! On connect (after the `auth` query key is checked) every endpoint the session may use
//! hears `stream_opened`; messages go to their endpoint's actor in arrival order; an `auth`
//! command re-checks access, opening and closing endpoints as it changes; when the
//! connection ends, for any reason, every opened endpoint hears `stream_closed`.

use super::{LegacyEndpoints, LegacyEvent, LegacySession, SessionOut};
use crate::auth::{check_access, AuthInfo, Handshake};
use crate::protocol::report;
use crate::protocol::Encoding;
use crate::protocol::{unwrap_auth_value, Dynamic, LegacyMessage};
use crate::socket::{CloseCode, Connection, Data, Edge};
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;

/// The legacy protocol of one connection.
pub(crate) struct LegacyConnection {
    id: u64,
    endpoints: Arc<LegacyEndpoints>,
    auth: Option<AuthInfo>,
    /// The endpoints that heard `stream_opened` for this session.
    opened: BTreeSet<String>,
    /// The key from the `auth` query parameter, used once at start.
    initial_key: Option<String>,
    /// The handshake that opened the connection, for the authentication handler.
    handshake: Handshake,
}

impl LegacyConnection {
    /// A legacy connection; `initial_key` is the unwrapped key of `?auth=<key>`.
    pub(crate) fn new(
        id: u64,
        endpoints: Arc<LegacyEndpoints>,
        initial_key: Option<String>,
        handshake: Handshake,
    ) -> Self {
        LegacyConnection {
            id,
            endpoints,
            auth: None,
            opened: BTreeSet::new(),
            initial_key,
            handshake,
        }
    }

    fn session(&self) -> LegacySession {
        LegacySession {
            id: self.id,
            auth: self.auth.clone(),
        }
    }

    /// Runs the authentication handler for `key` (nil signs out), without reading further
    /// frames until it answers, then brings the endpoints' view of the session up to date.
    fn authenticate(&mut self, key: Option<String>, edge: &mut Edge<'_, Self>) {
        match (key, self.endpoints.authentication.clone()) {
            (Some(key), Some(handler)) => {
                edge.wait(handler(key, self.handshake.clone()), |conn, auth, edge| {
                    conn.auth = auth;
                    conn.sync_endpoints(edge);
                });
            }
            _ => {
                self.auth = None;
                self.sync_endpoints(edge);
            }
        }
    }

    /// Opens the endpoints the session may now use, closes those it may no longer use,
    /// and tells the rest who the session now is.
    fn sync_endpoints(&mut self, edge: &mut Edge<'_, Self>) {
        let endpoints = self.endpoints.clone();
        let session = self.session();
        for (name, endpoint) in &endpoints.endpoints {
            let allowed = check_access(&endpoint.requirements, self.auth.as_ref()).is_ok();
            let Some(actor) = endpoint.actor() else {
                continue;
            };
            match (allowed, self.opened.contains(name)) {
                (true, false) => {
                    self.opened.insert(name.clone());
                    actor.do_send(LegacyEvent::Opened {
                        session: session.clone(),
                        out: SessionOut::new(edge.outbox(), edge.gate(), edge.encoding_handle()),
                    });
                }
                (false, true) => {
                    self.opened.remove(name);
                    actor.do_send(LegacyEvent::Closed {
                        session_id: self.id,
                    });
                }
                (true, true) => actor.do_send(LegacyEvent::Reauthenticated {
                    session: session.clone(),
                }),
                (false, false) => {}
            }
        }
    }

    fn on_frame(&mut self, frame: &[u8], encoding: Encoding, edge: &mut Edge<'_, Self>) {
        let decoded = match encoding {
            Encoding::MessagePack => LegacyMessage::decode(frame),
            // Binary frames too, as UTF-8 text (as on the method path).
            // A JSON value's class is normalized to this server's models as it is read.
            Encoding::Json => match std::str::from_utf8(frame) {
                Ok(text) => self
                    .endpoints
                    .registry
                    .within(|| LegacyMessage::decode_json(text)),
                Err(_) => return edge.close(CloseCode::Invalid, "not UTF-8"),
            },
        };
        let message = match decoded {
            Ok(m) => m,
            Err(e) => {
                // Serverpod ends the connection without a reply.
                log::debug!(
                    "legacy connection {}: malformed frame: {}",
                    self.id,
                    report(&e)
                );
                return edge.close(CloseCode::Protocol, "malformed message");
            }
        };
        match message {
            LegacyMessage::Ping => {
                // A pong carries no value: it always has a form.
                if let Ok(pong) = LegacyMessage::Pong.to_frame(encoding) {
                    edge.send(pong);
                }
            }
            LegacyMessage::Pong | LegacyMessage::OtherCommand(_) => {}
            LegacyMessage::Auth { key } => match key.as_deref().map(unwrap_auth_value) {
                // A value of the wrong shape is ignored, as Serverpod does.
                Some(None) => log::debug!(
                    "legacy connection {}: ignoring a malformed auth value",
                    self.id
                ),
                Some(Some(key)) => self.authenticate(Some(key), edge),
                None => self.authenticate(None, edge),
            },
            LegacyMessage::Endpoint { endpoint, object } => {
                self.on_endpoint_message(endpoint, object, edge)
            }
        }
    }

    fn on_endpoint_message(
        &mut self,
        endpoint: String,
        object: Dynamic,
        edge: &mut Edge<'_, Self>,
    ) {
        let Some(handle) = self.endpoints.endpoints.get(&endpoint) else {
            log::debug!("legacy connection {}: unknown endpoint {endpoint}", self.id);
            return edge.close(CloseCode::Policy, "unknown endpoint");
        };
        if !self.opened.contains(&endpoint) {
            log::info!(
                "legacy connection {}: dropping a message to {endpoint}: no access",
                self.id
            );
            return;
        }
        let checked = self
            .endpoints
            .registry
            .decode::<Dynamic>(object.class_name(), object.data());
        let message = match checked {
            Ok(message) => message,
            Err(e) => {
                // Often a model nobody registered: say so where the server's owner looks.
                log::warn!(
                    "legacy connection {}: a `{}` for {endpoint} cannot be read ({e}); the \
                     connection closes. A model must be registered with \
                     `ServerBuilder::model::<T>()` (or be a type of a method's values)",
                    self.id,
                    object.class_name()
                );
                return edge.close(CloseCode::Protocol, "malformed message");
            }
        };
        if let Some(actor) = handle.actor() {
            actor.do_send(LegacyEvent::Message {
                session_id: self.id,
                message,
            });
        }
    }
}

impl Connection for LegacyConnection {
    /// Legacy endpoints only send frames (and closes) through the outbox.
    type Event = Infallible;
    const PATH: &'static str = crate::protocol::LEGACY_WEBSOCKET_PATH;

    fn started(&mut self, edge: &mut Edge<'_, Self>) {
        let key = self.initial_key.take();
        self.authenticate(key, edge);
    }

    fn on_data(&mut self, data: Data<'_>, edge: &mut Edge<'_, Self>) {
        let encoding = edge.encoding();
        let frame = match (encoding, data) {
            (Encoding::MessagePack, Data::Text(_)) => {
                return edge.close(CloseCode::Unsupported, "text frames are not supported")
            }
            (_, Data::Binary(frame) | Data::Text(frame)) => frame,
        };
        self.on_frame(frame, encoding, edge)
    }

    fn stopped(&mut self, _: u64) {
        for name in std::mem::take(&mut self.opened) {
            if let Some(actor) = self.endpoints.endpoints.get(&name).and_then(|h| h.actor()) {
                actor.do_send(LegacyEvent::Closed {
                    session_id: self.id,
                });
            }
        }
    }
}
