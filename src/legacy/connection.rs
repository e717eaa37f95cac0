//! [`LegacyConnection`]: one client connection to the legacy endpoints (`GET /websocket`).
//!
//! On connect (after the `auth` query key is checked) every endpoint the session may use
//! hears `stream_opened`; messages go to their endpoint's actor in arrival order; an `auth`
//! command re-checks access, opening and closing endpoints as it changes; when the
//! connection ends, for any reason, every opened endpoint hears `stream_closed`.

use super::{LegacyEvent, LegacyOut, LegacySession};
use crate::connection::socket::{self, FrameAssembler, HasKeepalive, Incoming, Keepalive};
use crate::protocol::{Dynamic, LegacyMessage};
use crate::server::{check_access, unwrap_auth_value, AuthInfo, GoingAway, ServerInner};
use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// One legacy connection.
pub(crate) struct LegacyConnection {
    id: u64,
    server: Arc<ServerInner>,
    auth: Option<AuthInfo>,
    /// The endpoints that heard `stream_opened` for this session.
    opened: BTreeSet<String>,
    frames: FrameAssembler,
    keepalive: Keepalive,
    /// The key from the `auth` query parameter, used once at start.
    initial_key: Option<String>,
}

impl LegacyConnection {
    /// Upgrades a request to a legacy connection; `?auth=<key>` carries the unwrapped key.
    pub(crate) fn start(
        server: Arc<ServerInner>,
        req: &HttpRequest,
        body: web::Payload,
    ) -> Result<HttpResponse, actix_web::Error> {
        let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
        let max = server.config.max_frame_size;
        let conn = LegacyConnection {
            id: server.next_connection_id(),
            server,
            auth: None,
            opened: BTreeSet::new(),
            frames: FrameAssembler::new(max),
            keepalive: Keepalive::default(),
            initial_key: query.get("auth").filter(|k| !k.is_empty()).cloned(),
        };
        ws::WsResponseBuilder::new(conn, req, body)
            .codec(actix_http::ws::Codec::new().max_size(max))
            .start()
    }

    fn session(&self) -> LegacySession {
        LegacySession {
            id: self.id,
            auth: self.auth.clone(),
        }
    }

    /// Runs the authentication handler for `key` (nil signs out), without reading further
    /// frames until it answers, then brings the endpoints' view of the session up to date.
    fn authenticate(&mut self, key: Option<String>, ctx: &mut ws::WebsocketContext<Self>) {
        match (key, self.server.authentication.clone()) {
            (Some(key), Some(handler)) => {
                ctx.wait(handler(key).into_actor(self).map(|auth, act, ctx| {
                    act.auth = auth;
                    act.sync_endpoints(ctx);
                }));
            }
            _ => {
                self.auth = None;
                self.sync_endpoints(ctx);
            }
        }
    }

    /// Opens the endpoints the session may now use, closes those it may no longer use,
    /// and tells the rest who the session now is.
    fn sync_endpoints(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let server = self.server.clone();
        let session = self.session();
        for (name, endpoint) in &server.legacy {
            let allowed = check_access(&endpoint.requirements, self.auth.as_ref()).is_ok();
            let Some(actor) = endpoint.actor() else {
                continue;
            };
            match (allowed, self.opened.contains(name)) {
                (true, false) => {
                    self.opened.insert(name.clone());
                    actor.do_send(LegacyEvent::Opened {
                        session: session.clone(),
                        out: ctx.address().recipient(),
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

    fn on_frame(&mut self, frame: &[u8], ctx: &mut ws::WebsocketContext<Self>) {
        let message = match LegacyMessage::decode(frame) {
            Ok(m) => m,
            Err(e) => {
                log::debug!("legacy connection {}: malformed frame: {e}", self.id);
                return socket::close(ws::CloseCode::Protocol, "malformed message", ctx);
            }
        };
        match message {
            LegacyMessage::Ping => ctx.binary(LegacyMessage::Pong.encode()),
            LegacyMessage::Pong | LegacyMessage::OtherCommand(_) => {}
            LegacyMessage::Auth { key } => match key.as_deref().map(unwrap_auth_value) {
                // A value of the wrong shape is ignored, as Serverpod does.
                Some(None) => log::debug!(
                    "legacy connection {}: ignoring a malformed auth value",
                    self.id
                ),
                Some(Some(key)) => self.authenticate(Some(key), ctx),
                None => self.authenticate(None, ctx),
            },
            LegacyMessage::Endpoint { endpoint, object } => {
                self.on_endpoint_message(endpoint, object, ctx)
            }
        }
    }

    fn on_endpoint_message(
        &mut self,
        endpoint: String,
        object: Dynamic,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let Some(handle) = self.server.legacy.get(&endpoint) else {
            log::debug!("legacy connection {}: unknown endpoint {endpoint}", self.id);
            return socket::close(ws::CloseCode::Policy, "unknown endpoint", ctx);
        };
        if !self.opened.contains(&endpoint) {
            log::info!(
                "legacy connection {}: dropping a message to {endpoint}: no access",
                self.id
            );
            return;
        }
        let message = match Dynamic::checked(object.class_name(), object.data()) {
            Ok(message) => message,
            Err(e) => {
                log::debug!(
                    "legacy connection {}: bad object for {endpoint}: {e}",
                    self.id
                );
                return socket::close(ws::CloseCode::Protocol, "malformed message", ctx);
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

impl Actor for LegacyConnection {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        socket::joined(&self.server, self.id, ctx);
        let key = self.initial_key.take();
        self.authenticate(key, ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        for name in std::mem::take(&mut self.opened) {
            if let Some(actor) = self.server.legacy.get(&name).and_then(|h| h.actor()) {
                actor.do_send(LegacyEvent::Closed {
                    session_id: self.id,
                });
            }
        }
        socket::left(&self.server, self.id);
    }
}

impl HasKeepalive for LegacyConnection {
    fn keepalive(&mut self) -> &mut Keepalive {
        &mut self.keepalive
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for LegacyConnection {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match self.frames.push(msg, ctx) {
            Incoming::Binary(bytes) => self.on_frame(&bytes, ctx),
            Incoming::Text => socket::close(
                ws::CloseCode::Unsupported,
                "text frames are not supported",
                ctx,
            ),
            Incoming::Pong => self.keepalive.pong(),
            Incoming::Nothing => {}
            Incoming::Closed(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
            Incoming::Fail(code, reason) => socket::close(code, reason, ctx),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<LegacyOut> for LegacyConnection {
    type Result = ();
    fn handle(&mut self, msg: LegacyOut, ctx: &mut Self::Context) {
        ctx.binary(msg.0);
    }
}

impl Handler<GoingAway> for LegacyConnection {
    type Result = ();
    fn handle(&mut self, _: GoingAway, ctx: &mut Self::Context) {
        crate::connection::socket::close(ws::CloseCode::Away, "server shutting down", ctx);
    }
}
