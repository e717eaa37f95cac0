//! The connection actor: one per WebSocket, the only writer to its socket.
//!
//! It decodes each frame and handles frames strictly in arrival order: an open is validated
//! and its call actor started, with its input streams registered, before the next frame is
//! read. Values and closes for a call are routed to that call's actor; everything a call
//! sends comes back through this actor's mailbox and is written in order. When the
//! connection stops, for any reason, its supervisor stops every call.
//!
//! Everything that touches `actix-web-actors` lives in this module, so moving to `actix-ws`
//! later changes this module only.

mod open;

use crate::call::messages::{
    Adopt, CancelCall, CloseInput, FromCall, InputException, InputItem, StopAll,
};
use crate::call::{CallActor, CallSupervisor};
use crate::protocol::{CloseReason, FrameError, Message, Target};
use crate::recent::RecentIds;
use crate::server::ServerInner;
use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// What the connection knows about one open call.
struct Route {
    endpoint: Arc<str>,
    method: Arc<str>,
    call: Addr<CallActor>,
}

/// One WebSocket connection.
pub(crate) struct Connection {
    id: u64,
    server: Arc<ServerInner>,
    supervisor: Option<Addr<CallSupervisor>>,
    calls: HashMap<Uuid, Route>,
    ended: RecentIds,
    /// A fragmented message being reassembled: whether it is text, and its bytes so far.
    fragment: Option<(bool, Vec<u8>)>,
    /// A WebSocket ping was sent and no pong has come back since.
    awaiting_pong: bool,
}

impl Connection {
    /// Upgrades an HTTP request to a connection actor.
    pub(crate) fn start(
        server: Arc<ServerInner>,
        req: &HttpRequest,
        body: web::Payload,
    ) -> Result<HttpResponse, actix_web::Error> {
        let max = server.config.max_frame_size;
        let remembered = server.config.remembered_ended_calls;
        let conn = Connection {
            id: server.next_connection_id(),
            server,
            supervisor: None,
            calls: HashMap::new(),
            ended: RecentIds::new(remembered),
            fragment: None,
            awaiting_pong: false,
        };
        ws::WsResponseBuilder::new(conn, req, body)
            .codec(actix_http::ws::Codec::new().max_size(max))
            .start()
    }

    fn send(&self, message: &Message, ctx: &mut ws::WebsocketContext<Self>) {
        ctx.binary(message.encode());
    }

    /// Closes the connection with `code`, after whatever was already written.
    fn close(&mut self, code: ws::CloseCode, reason: &str, ctx: &mut ws::WebsocketContext<Self>) {
        ctx.close(Some(ws::CloseReason {
            code,
            description: Some(reason.to_string()),
        }));
        ctx.stop();
    }

    /// Answers a frame that is not a valid message with `brm`, then closes.
    fn bad_request(&mut self, error: FrameError, ctx: &mut ws::WebsocketContext<Self>) {
        log::debug!("connection {}: bad request: {error}", self.id);
        let code = match error {
            FrameError::TextFrame => ws::CloseCode::Unsupported,
            _ => ws::CloseCode::Protocol,
        };
        self.send(
            &Message::BadRequest {
                request: error.to_string(),
            },
            ctx,
        );
        self.close(code, "bad request", ctx);
    }

    fn on_frame(&mut self, frame: &[u8], ctx: &mut ws::WebsocketContext<Self>) {
        match Message::decode(frame) {
            Ok(message) => self.on_message(message, ctx),
            Err(error) => self.bad_request(error, ctx),
        }
    }

    fn on_message(&mut self, message: Message, ctx: &mut ws::WebsocketContext<Self>) {
        match message {
            Message::Ping => self.send(&Message::Pong, ctx),
            Message::Pong => {}
            Message::OpenResponse(r) => {
                log::debug!("connection {}: ignoring omsr for {}", self.id, r.cid);
            }
            Message::OpenCall(open) => self.open_call(open, ctx),
            Message::Value { target, value } => {
                let Some(param) = target.param.clone() else {
                    self.send(
                        &Message::BadRequest {
                            request: "Server does not accept messages targeting the return stream."
                                .into(),
                        },
                        ctx,
                    );
                    return self.close(ws::CloseCode::Protocol, "bad request", ctx);
                };
                match self.route(&target) {
                    Some(call) => call.do_send(InputItem { param, value }),
                    None if self.ended.contains(&target.cid) => {}
                    None => self.send(
                        &Message::Close {
                            target,
                            reason: CloseReason::Error,
                        },
                        ctx,
                    ),
                }
            }
            Message::Exception { target, exception } => {
                if let (Some(param), Some(call)) = (target.param.clone(), self.route(&target)) {
                    call.do_send(InputException { param, exception });
                }
            }
            Message::Close { target, reason } => {
                if let Some(call) = self.route(&target) {
                    match target.param {
                        Some(param) => call.do_send(CloseInput { param, reason }),
                        None => call.do_send(CancelCall { reason }),
                    }
                }
            }
            Message::BadRequest { request } => {
                log::debug!(
                    "connection {}: peer reported a bad request: {request}",
                    self.id
                );
                self.close(ws::CloseCode::Normal, "peer sent brm", ctx);
            }
        }
    }

    /// The call a message is for: same `cid`, and the same `en` and `m` it was opened with.
    fn route(&self, target: &Target) -> Option<&Addr<CallActor>> {
        self.calls
            .get(&target.cid)
            .filter(|r| r.endpoint == target.endpoint && r.method == target.method)
            .map(|r| &r.call)
    }

    /// Reassembles fragmented messages, refusing to grow past the frame limit.
    fn on_fragment(&mut self, item: actix_http::ws::Item, ctx: &mut ws::WebsocketContext<Self>) {
        let (last, bytes) = match item {
            actix_http::ws::Item::FirstText(b) => {
                self.fragment = Some((true, Vec::new()));
                (false, b)
            }
            actix_http::ws::Item::FirstBinary(b) => {
                self.fragment = Some((false, Vec::new()));
                (false, b)
            }
            actix_http::ws::Item::Continue(b) => (false, b),
            actix_http::ws::Item::Last(b) => (true, b),
        };
        let Some((is_text, buf)) = self.fragment.as_mut() else {
            return self.close(
                ws::CloseCode::Protocol,
                "continuation without a first frame",
                ctx,
            );
        };
        if buf.len() + bytes.len() > self.server.config.max_frame_size {
            return self.close(ws::CloseCode::Size, "message too large", ctx);
        }
        buf.extend_from_slice(&bytes);
        if last {
            let (is_text, buf) = (*is_text, std::mem::take(buf));
            self.fragment = None;
            if is_text {
                self.bad_request(FrameError::TextFrame, ctx);
            } else {
                self.on_frame(&buf, ctx);
            }
        }
    }
}

impl Actor for Connection {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.server.counters.connection_opened();
        self.supervisor = Some(CallSupervisor::default().start());
        // Keepalive: a ping every interval; a peer that has not answered the previous one
        // by the next tick is gone, and is closed with 1001 (dart:io's rule, which
        // Serverpod relies on).
        ctx.run_interval(self.server.config.websocket_ping_interval, |act, ctx| {
            if act.awaiting_pong {
                log::debug!("connection {}: no pong within the ping interval", act.id);
                return act.close(ws::CloseCode::Away, "ping timeout", ctx);
            }
            act.awaiting_pong = true;
            ctx.ping(b"");
        });
        log::debug!("connection {} opened", self.id);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.do_send(StopAll);
        }
        self.server.counters.connection_closed();
        log::debug!("connection {} closed", self.id);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for Connection {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Binary(bytes)) => self.on_frame(&bytes, ctx),
            Ok(ws::Message::Text(_)) => self.bad_request(FrameError::TextFrame, ctx),
            Ok(ws::Message::Continuation(item)) => self.on_fragment(item, ctx),
            Ok(ws::Message::Ping(p)) => ctx.pong(&p),
            Ok(ws::Message::Pong(_)) => self.awaiting_pong = false,
            Ok(ws::Message::Nop) => {}
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(ws::ProtocolError::Overflow) => {
                self.close(ws::CloseCode::Size, "message too large", ctx)
            }
            Err(e) => {
                log::debug!("connection {}: websocket error: {e}", self.id);
                self.close(ws::CloseCode::Protocol, "websocket protocol error", ctx);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // The peer's side of the socket ended (TCP closed).
        ctx.stop();
    }
}

impl Handler<FromCall> for Connection {
    type Result = ();
    fn handle(&mut self, msg: FromCall, ctx: &mut Self::Context) {
        match msg {
            FromCall::Frame(bytes) => ctx.binary(bytes),
            FromCall::Ended(cid) => {
                self.calls.remove(&cid);
                self.ended.insert(cid);
            }
        }
    }
}

impl Connection {
    fn adopt(&mut self, target: &Target, call: Addr<CallActor>) {
        if let Some(supervisor) = &self.supervisor {
            supervisor.do_send(Adopt {
                cid: target.cid,
                call: call.clone(),
            });
        }
        self.calls.insert(
            target.cid,
            Route {
                endpoint: target.endpoint.clone(),
                method: target.method.clone(),
                call,
            },
        );
    }
}
