//! The connection actor: one per WebSocket, the only writer to its socket.
//!
//! It decodes each frame and handles frames strictly in arrival order: an open is validated
//! and its call actor started, with its input streams registered, before the next frame is
//! read. Values, exceptions and closes of a call's input streams go straight into that
//! call's input streams; a cancel goes to the call's actor. Everything the calls send comes
//! back on one channel, drained in batches, and is written in order. When the
//! connection stops, for any reason, its supervisor stops every call.
//!
//! Everything that touches `actix-web-actors` lives in this module, so moving to `actix-ws`
//! later changes this module only.

mod open;
pub(crate) mod outbound;
pub(crate) mod socket;

use crate::call::messages::{Adopt, CancelCall, FromCall, Outbox, RefuseInput, StopAll};
use crate::call::{CallActor, CallInputs, CallSupervisor, Delivery};
use crate::protocol::{
    CloseReason, FrameError, Message, MessageRef, Target, TargetRef, WrappedRef,
};
use crate::recent::RecentIds;
use crate::server::{GoingAway, InputCredit, ServerInner};
use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use outbound::{Drain, OutboundGate};
use socket::{FrameAssembler, HasKeepalive, Incoming, Keepalive};
use std::collections::HashMap;
use std::sync::Arc;
use std::task::Poll;
use uuid::Uuid;

/// What the connection knows about one open call.
struct Route {
    endpoint: Arc<str>,
    method: Arc<str>,
    call: Addr<CallActor>,
    inputs: Arc<CallInputs>,
}

/// One WebSocket connection.
pub(crate) struct Connection {
    id: u64,
    server: Arc<ServerInner>,
    supervisor: Option<Addr<CallSupervisor>>,
    /// Where the calls send their frames; opened with the first call.
    outbox: Option<Outbox>,
    calls: HashMap<Uuid, Route>,
    ended: RecentIds,
    frames: FrameAssembler,
    keepalive: Keepalive,
    gate: Arc<OutboundGate>,
    /// The handshake's auth cookie, when the server names one: the key of calls opened
    /// with `am: "cookie"` and no `auth`.
    cookie_key: Option<String>,
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
        let gate = OutboundGate::new(server.config.max_outbound_bytes, server.counters.clone());
        let cookie_key = server
            .config
            .auth_cookie
            .as_deref()
            .and_then(|name| req.cookie(name))
            .map(|cookie| cookie.value().to_string());
        let conn = Connection {
            id: server.next_connection_id(),
            server,
            supervisor: None,
            outbox: None,
            calls: HashMap::new(),
            ended: RecentIds::new(remembered),
            frames: FrameAssembler::new(max),
            keepalive: Keepalive::default(),
            gate: gate.clone(),
            cookie_key,
        };
        let mut response = ws::handshake(req)?;
        let output = ws::WebsocketContext::with_codec(
            conn,
            body,
            actix_http::ws::Codec::new().max_size(max),
        );
        Ok(response.streaming(Drain {
            inner: Box::pin(output),
            gate,
        }))
    }

    fn send(&self, message: &Message, ctx: &mut ws::WebsocketContext<Self>) {
        let frame = message.encode();
        self.gate.add(frame.len());
        ctx.binary(frame);
    }

    /// The flow-control gate the connection's calls share.
    pub(crate) fn gate(&self) -> Arc<OutboundGate> {
        self.gate.clone()
    }

    fn close(&mut self, code: ws::CloseCode, reason: &str, ctx: &mut ws::WebsocketContext<Self>) {
        socket::close(code, reason, ctx);
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
        match MessageRef::decode(frame) {
            Ok(MessageRef::Control(message)) => self.on_control(message, ctx),
            Ok(MessageRef::Value { target, value }) => self.on_value(target, value, ctx),
            Ok(MessageRef::Exception { target, exception }) => {
                if let (Some(param), Some(route)) = (target.param, self.route(&target)) {
                    route.inputs.fail(param, exception.to_dynamic());
                }
            }
            Ok(MessageRef::Close { target, reason }) => {
                if let Some(route) = self.route(&target) {
                    match target.param {
                        Some(param) => route.inputs.close(param, reason),
                        None => route.call.do_send(CancelCall { reason }),
                    }
                }
            }
            Err(error) => self.bad_request(error, ctx),
        }
    }

    /// A value for one of a call's input streams: delivered straight into the stream.
    fn on_value(
        &mut self,
        target: TargetRef<'_>,
        value: WrappedRef<'_>,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let Some(param) = target.param else {
            self.send(
                &Message::BadRequest {
                    request: "Server does not accept messages targeting the return stream.".into(),
                },
                ctx,
            );
            return self.close(ws::CloseCode::Protocol, "bad request", ctx);
        };
        match self.route(&target) {
            Some(route) => match route.inputs.deliver(param, value.class, value.data) {
                Delivery::Queued | Delivery::Ended => {}
                Delivery::Full => {
                    let credit = route.inputs.credit().clone();
                    self.wait_for_input_room(credit, ctx);
                }
                Delivery::Refused => route.call.do_send(RefuseInput {
                    param: Arc::from(param),
                }),
            },
            None if self.ended.contains(&target.cid) => {}
            None => self.send(
                &Message::Close {
                    target: target.to_target(),
                    reason: CloseReason::Error,
                },
                ctx,
            ),
        }
    }

    /// A message that names no stream.
    fn on_control(&mut self, message: Message, ctx: &mut ws::WebsocketContext<Self>) {
        match message {
            Message::Ping => self.send(&Message::Pong, ctx),
            Message::OpenResponse(r) => {
                log::debug!("connection {}: ignoring omsr for {}", self.id, r.cid);
            }
            Message::OpenCall(open) => self.open_call(open, ctx),
            Message::BadRequest { request } => {
                log::debug!(
                    "connection {}: peer reported a bad request: {request}",
                    self.id
                );
                self.close(ws::CloseCode::Normal, "peer sent brm", ctx);
            }
            // Stream messages arrive as `MessageRef`s; a pong needs nothing.
            _ => {}
        }
    }

    /// The method is behind its input: read nothing more until it catches up (TCP
    /// backpressure). A method that takes nothing for a whole ping interval would park the
    /// connection (and its keepalive) for good, so then the connection is closed with 1013.
    fn wait_for_input_room(
        &mut self,
        credit: Arc<InputCredit>,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let patience = self.server.config.websocket_ping_interval;
        let waited = async move {
            tokio::select! {
                _ = credit.room() => true,
                _ = tokio::time::sleep(patience) => false,
            }
        };
        ctx.wait(waited.into_actor(self).map(|room, act, ctx| {
            if !room {
                log::info!(
                    "connection {}: a method took no input for a ping interval; closing",
                    act.id
                );
                act.close(ws::CloseCode::Again, "input not consumed", ctx);
            }
        }));
    }

    /// The call a message is for: same `cid`, and the same `en` and `m` it was opened with.
    fn route(&self, target: &TargetRef<'_>) -> Option<&Route> {
        self.calls
            .get(&target.cid)
            .filter(|r| *r.endpoint == *target.endpoint && *r.method == *target.method)
    }
}

impl Actor for Connection {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The supervisor starts with the first call: an idle connection costs less.
        socket::joined(&self.server, self.id, ctx);
        log::debug!("connection {} opened", self.id);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.do_send(StopAll);
        }
        socket::left(&self.server, self.id);
        log::debug!("connection {} closed", self.id);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for Connection {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match self.frames.push(msg, ctx) {
            Incoming::Binary(bytes) => self.on_frame(&bytes, ctx),
            Incoming::Text => self.bad_request(FrameError::TextFrame, ctx),
            Incoming::Pong => self.keepalive.pong(),
            Incoming::Nothing => {}
            Incoming::Closed(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
            Incoming::Fail(code, reason) => self.close(code, reason, ctx),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // The peer's side of the socket ended (TCP closed).
        ctx.stop();
    }
}

impl HasKeepalive for Connection {
    fn keepalive(&mut self) -> &mut Keepalive {
        &mut self.keepalive
    }
}

/// What the calls sent, in batches: everything waiting is taken in one go, so a burst of
/// values leaves in one write.
impl StreamHandler<Vec<FromCall>> for Connection {
    fn handle(&mut self, batch: Vec<FromCall>, ctx: &mut Self::Context) {
        for msg in batch {
            match msg {
                FromCall::Frame(bytes) => ctx.binary(bytes),
                FromCall::Ended(cid) => {
                    self.calls.remove(&cid);
                    self.ended.insert(cid);
                }
            }
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {
        // The connection holds a sender itself: this does not happen while it runs.
    }
}

/// The most of the calls' messages handled in one go.
const OUTBOX_BATCH: usize = 256;

impl Connection {
    /// The channel the calls send on, opened on first use.
    pub(super) fn outbox(&mut self, ctx: &mut ws::WebsocketContext<Self>) -> Outbox {
        if let Some(outbox) = &self.outbox {
            return outbox.clone();
        }
        let (outbox, mut rx) = tokio::sync::mpsc::unbounded_channel();
        ctx.add_stream(futures::stream::poll_fn(move |cx| {
            let mut batch = Vec::new();
            match rx.poll_recv_many(cx, &mut batch, OUTBOX_BATCH) {
                Poll::Ready(0) => Poll::Ready(None),
                Poll::Ready(_) => Poll::Ready(Some(batch)),
                Poll::Pending => Poll::Pending,
            }
        }));
        self.outbox = Some(outbox.clone());
        outbox
    }

    /// The connection's call supervisor, started on first use.
    pub(super) fn supervisor(&mut self) -> Addr<CallSupervisor> {
        if let Some(supervisor) = &self.supervisor {
            return supervisor.clone();
        }
        let supervisor = CallSupervisor::default().start();
        self.server
            .connections
            .supervised(self.id, supervisor.clone());
        self.supervisor = Some(supervisor.clone());
        supervisor
    }

    fn adopt(&mut self, target: &Target, call: Addr<CallActor>, inputs: Arc<CallInputs>) {
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
                inputs,
            },
        );
    }
}

impl Handler<GoingAway> for Connection {
    type Result = ();
    fn handle(&mut self, _: GoingAway, ctx: &mut Self::Context) {
        crate::connection::socket::close(ws::CloseCode::Away, "server shutting down", ctx);
    }
}
