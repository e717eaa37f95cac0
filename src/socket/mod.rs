//! The WebSocket edge, once for every kind of connection: the upgrade (origin check, connection
//! permit), joining fragmented messages within the size limit, answering pings, the
//! keepalive, the byte-counted outbound gate, going away on shutdown, and the close
//! handshake. A kind of connection (method streams, legacy endpoints) plugs in what it does
//! with a whole message through [`Connection`], and writes through [`Edge`].
//!
//! Frames are decoded here, a whole read at a time (`reader`), and handed to the connection in
//! order; actix-web-actors' `WebsocketContext` runs the actor and writes its frames.
//!
//! This is the only module that knows `actix-web-actors`: a move to `actix-ws` changes this
//! module and nothing else.

mod assembler;
mod drain;
mod keepalive;
mod live;
mod reader;
mod send_timeout;

use crate::shutdown::GoingAway;
pub(crate) use assembler::Data;
pub(crate) use live::Connections;
pub(crate) use send_timeout::hook as send_timeout_hook;

use crate::config::{normalize_origin, Config};
use crate::flow::OutboundGate;
use crate::outbox::{Outbox, Outgoing};
use crate::protocol::{Encoding, Frame};
use crate::stats::Counters;
use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
pub(crate) use actix_web_actors::ws::CloseCode;
use assembler::{FrameAssembler, Incoming};
use bytes::Bytes;
use drain::Drain;
use keepalive::Keepalive;
use live::Permit;
use reader::FrameReader;
use send_timeout::{SendTimeoutSet, Watch};
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What one kind of connection does with its socket.
pub(crate) trait Connection: Sized + Unpin + 'static {
    /// What producers outside the connection (its calls) tell it, in order with the frames
    /// they send, through its [`Outbox`].
    type Event: Send + 'static;

    /// The path such connections are served at: the label of its connections' metrics.
    const PATH: &'static str;

    /// The connection is up.
    fn started(&mut self, _edge: &mut Edge<'_, Self>) {}

    /// A whole data message from the peer.
    fn on_data(&mut self, data: Data, edge: &mut Edge<'_, Self>);

    /// An event from the outbox.
    fn on_event(&mut self, _event: Self::Event, _edge: &mut Edge<'_, Self>) {}

    /// The connection is gone, for whatever reason; nothing more can be written.
    fn stopped(&mut self, _id: u64) {}
}

/// What the edge needs of the server, shared by all its connections.
pub(crate) struct EdgeSettings {
    max_frame_size: usize,
    max_outbound_bytes: usize,
    ping_interval: Duration,
    send_timeout: Duration,
    /// Whether an upgrade without the send timeout was logged already.
    warned_no_send_timeout: AtomicBool,
    allowed_origins: Option<HashSet<String>>,
    counters: Arc<Counters>,
    connections: Connections,
    next_id: AtomicU64,
}

impl EdgeSettings {
    pub(crate) fn new(config: &Config, counters: Arc<Counters>) -> Self {
        EdgeSettings {
            max_frame_size: config.max_frame_size,
            max_outbound_bytes: config.max_outbound_bytes,
            ping_interval: config.websocket_ping_interval,
            send_timeout: config
                .send_timeout
                .unwrap_or(config.websocket_ping_interval * 2),
            warned_no_send_timeout: AtomicBool::new(false),
            allowed_origins: config
                .allowed_origins
                .as_ref()
                .map(|list| list.iter().map(|o| normalize_origin(o)).collect()),
            counters,
            connections: Connections::new(config.max_connections),
            next_id: AtomicU64::new(1),
        }
    }

    /// How long a peer may take none of our bytes.
    pub(crate) fn send_timeout(&self) -> Duration {
        self.send_timeout
    }

    /// The live connections, for shutdown.
    pub(crate) fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Upgrades `req` to a connection running the connection `make` builds for its id: 403
    /// for an `Origin` that is not allowed, 503 when the server is full.
    pub(crate) fn upgrade<C: Connection>(
        self: &Arc<Self>,
        req: &HttpRequest,
        body: web::Payload,
        make: impl FnOnce(u64) -> C,
    ) -> Result<HttpResponse, actix_web::Error> {
        if !self.origin_allowed(req) {
            crate::instruments::connection_refused("origin");
            return Ok(HttpResponse::Forbidden().body("WebSocket origin not allowed."));
        }
        let Some(permit) = self.connections.admit() else {
            crate::instruments::connection_refused("limit");
            return Ok(HttpResponse::ServiceUnavailable().body("Too many connections."));
        };
        let mut response = ws::handshake(req)?;
        if req.conn_data::<SendTimeoutSet>().is_none()
            && !self.warned_no_send_timeout.swap(true, Ordering::Relaxed)
        {
            log::warn!(
                "a WebSocket connection without the send timeout: a peer that stops reading \
                 will hold its connection for ever (pass Server::on_connect_hook() to \
                 HttpServer::on_connect; plain TCP on Linux)"
            );
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sent, received) = crate::instruments::byte_counters(C::PATH);
        let gate = OutboundGate::new(self.max_outbound_bytes, self.counters.clone(), sent);
        let socket = Socket {
            id,
            connection: make(id),
            frames: FrameAssembler::new(self.max_frame_size),
            keepalive: Keepalive::default(),
            unread: VecDeque::new(),
            gate: gate.clone(),
            encoding: Arc::new(OnceLock::new()),
            outbox: None,
            settings: self.clone(),
            _permit: permit,
        };
        let codec = actix_http::ws::Codec::new().max_size(self.max_frame_size);
        // The context gets a body that never yields: the socket reads its frames itself, a
        // read's worth at a time (see `reader`). The context still writes them.
        let output = ws::WebsocketContext::with_factory(
            futures::stream::pending::<Result<Bytes, actix_web::error::PayloadError>>(),
            move |ctx| {
                ctx.add_stream(FrameReader::new(body, codec, received));
                socket
            },
        );
        Ok(response.streaming(Drain {
            inner: Box::pin(output),
            gate,
            watch: Watch::new(self.ping_interval, self.send_timeout),
            id,
        }))
    }

    fn origin_allowed(&self, req: &HttpRequest) -> bool {
        let (Some(allowed), Some(origin)) = (
            self.allowed_origins.as_ref(),
            req.headers().get(actix_web::http::header::ORIGIN),
        ) else {
            // No list, or not a browser.
            return true;
        };
        allowed.contains(&normalize_origin(origin.to_str().unwrap_or_default()))
    }
}

/// One WebSocket connection: the edge's state around its [`Connection`].
pub(crate) struct Socket<C: Connection> {
    id: u64,
    connection: C,
    frames: FrameAssembler,
    keepalive: Keepalive,
    /// Frames read and not yet handled: the rest of a batch, while the connection waits.
    unread: VecDeque<Result<ws::Frame, ws::ProtocolError>>,
    gate: Arc<OutboundGate>,
    /// The wire, once the first data frame has picked it.
    encoding: Arc<OnceLock<Encoding>>,
    outbox: Option<Outbox<C::Event>>,
    settings: Arc<EdgeSettings>,
    _permit: Permit,
}

type Ctx<C> = ws::WebsocketContext<Socket<C>>;

/// A connection's handle on its socket while it handles something.
pub(crate) struct Edge<'a, C: Connection> {
    ctx: &'a mut Ctx<C>,
    id: u64,
    gate: &'a Arc<OutboundGate>,
    encoding: &'a Arc<OnceLock<Encoding>>,
    outbox: &'a mut Option<Outbox<C::Event>>,
    settings: &'a EdgeSettings,
}

impl<C: Connection> Socket<C> {
    /// Runs `f` on the connection with an edge.
    fn with_edge<R>(
        &mut self,
        ctx: &mut Ctx<C>,
        f: impl FnOnce(&mut C, &mut Edge<'_, C>) -> R,
    ) -> R {
        let mut edge = Edge {
            ctx,
            id: self.id,
            gate: &self.gate,
            encoding: &self.encoding,
            outbox: &mut self.outbox,
            settings: &self.settings,
        };
        f(&mut self.connection, &mut edge)
    }

    /// Handles the frames left unread while the connection waited, in order, until it waits
    /// again (then the rest waits with it) or the connection stops.
    fn read_unread(&mut self, ctx: &mut Ctx<C>) {
        while !ctx.waiting() {
            let Some(frame) = self.unread.pop_front() else {
                // Its buffer goes too: most connections never wait.
                self.unread = VecDeque::new();
                return;
            };
            self.on_frame(frame, ctx);
        }
    }

    fn on_frame(&mut self, frame: Result<ws::Frame, ws::ProtocolError>, ctx: &mut Ctx<C>) {
        match self.frames.push(frame) {
            Incoming::Data(data) => {
                // The first data frame picks the wire for the connection's life.
                self.encoding.get_or_init(|| match data {
                    Data::Binary(_) => Encoding::MessagePack,
                    Data::Text(_) => Encoding::Json,
                });
                self.with_edge(ctx, |c, edge| c.on_data(data, edge))
            }
            Incoming::Ping(payload) => ctx.pong(&payload),
            Incoming::Pong => self.keepalive.pong(),
            Incoming::Nothing => {}
            Incoming::Closed(reason) => {
                // Echo the peer's close; TCP closes once it is out.
                ctx.close(reason);
                ctx.stop();
            }
            Incoming::Fail(code, reason) => close(code, reason, ctx),
        }
    }
}

impl<C: Connection> Edge<'_, C> {
    /// Writes one frame, after everything written before.
    pub(crate) fn send(&mut self, frame: Frame) {
        self.gate.add(frame.len());
        write(self.ctx, frame);
    }

    /// The connection's wire: picked by its first data frame (binary: MessagePack, text:
    /// Serverpod's JSON) for its whole life; MessagePack until then.
    pub(crate) fn encoding(&self) -> Encoding {
        self.encoding.get().copied().unwrap_or_default()
    }

    /// The connection's wire, for a producer that may start writing before the first data
    /// frame has picked it (a legacy endpoint's session).
    pub(crate) fn encoding_handle(&self) -> Arc<OnceLock<Encoding>> {
        self.encoding.clone()
    }

    /// Sends a close frame with `code`, after whatever was already written, and stops: the
    /// TCP connection closes as soon as the close frame is out.
    pub(crate) fn close(&mut self, code: CloseCode, reason: &str) {
        close(code, reason, self.ctx);
    }

    /// The gate between this connection's producers and its socket.
    pub(crate) fn gate(&self) -> Arc<OutboundGate> {
        self.gate.clone()
    }

    /// The queue producers send on, in order, opened on first use (an idle connection costs
    /// less). A queue rather than the actor's mailbox: a frame costs no boxed envelope, the
    /// connection takes everything waiting at once, and a connection busy waiting (an
    /// authentication) still has it filled.
    pub(crate) fn outbox(&mut self) -> Outbox<C::Event> {
        if let Some(outbox) = self.outbox {
            return outbox.clone();
        }
        let (outbox, inbox) = crate::outbox::outbox();
        self.ctx.add_stream(inbox);
        *self.outbox = Some(outbox.clone());
        outbox
    }

    /// Runs `future` and then `then`, reading nothing from the socket meanwhile: what the
    /// peer sends next is handled after `then`, as Serverpod's sequential loop does.
    pub(crate) fn wait<F>(
        &mut self,
        future: F,
        then: impl FnOnce(&mut C, F::Output, &mut Edge<'_, C>) + 'static,
    ) where
        F: Future + 'static,
    {
        self.ctx
            .wait(
                actix::fut::wrap_future::<_, Socket<C>>(future).map(move |out, socket, ctx| {
                    socket.with_edge(ctx, |p, edge| then(p, out, edge));
                    socket.read_unread(ctx);
                }),
            );
    }

    /// `helper` hears [`GoingAway`] on shutdown before this connection does.
    pub(crate) fn attach_shutdown_helper(&mut self, helper: Recipient<GoingAway>) {
        self.settings.connections.attach(self.id, helper);
    }
}

fn write<A>(ctx: &mut ws::WebsocketContext<A>, frame: Frame)
where
    A: Actor<Context = ws::WebsocketContext<A>>,
{
    match frame {
        Frame::Binary(bytes) => ctx.binary(bytes),
        Frame::Text(text) => ctx.text(text),
    }
}

fn close<A>(code: CloseCode, reason: &str, ctx: &mut ws::WebsocketContext<A>)
where
    A: Actor<Context = ws::WebsocketContext<A>>,
{
    crate::instruments::closed_with(u16::from(code));
    ctx.close(Some(ws::CloseReason {
        code,
        description: Some(reason.to_string()),
    }));
    ctx.stop();
}

impl<C: Connection> Actor for Socket<C> {
    type Context = Ctx<C>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.settings.counters.connection_opened();
        crate::instruments::connection_opened(C::PATH);
        self.settings
            .connections
            .joined(self.id, ctx.address().recipient());
        ctx.run_interval(self.settings.ping_interval, |socket, ctx| {
            if socket.keepalive.tick() {
                log::debug!("connection {}: no pong within the ping interval", socket.id);
                return close(CloseCode::Away, "ping timeout", ctx);
            }
            ctx.ping(b"");
        });
        log::debug!("connection {} opened", self.id);
        self.with_edge(ctx, |p, edge| p.started(edge));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.connection.stopped(self.id);
        self.settings.connections.left(self.id);
        self.settings.counters.connection_closed();
        crate::instruments::connection_closed(C::PATH);
        log::debug!("connection {} closed", self.id);
    }
}

impl<C: Connection> StreamHandler<reader::Batch> for Socket<C> {
    fn handle(&mut self, batch: reader::Batch, ctx: &mut Self::Context) {
        // Not waiting, or the reader would not have been polled: nothing is left unread.
        let mut frames = batch.into_iter();
        for frame in frames.by_ref() {
            self.on_frame(frame, ctx);
            if ctx.waiting() {
                break;
            }
        }
        self.unread.extend(frames);
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // The peer's side of the socket ended (TCP closed).
        ctx.stop();
    }
}

/// The context's own frame stream, which `WebsocketContext` requires: it reads a body that
/// never yields, so this is never called.
impl<C: Connection> StreamHandler<Result<ws::Message, ws::ProtocolError>> for Socket<C> {
    fn handle(&mut self, _: Result<ws::Message, ws::ProtocolError>, _: &mut Self::Context) {}
}

/// What the producers sent, in batches: everything waiting is taken in one go, so a burst
/// of values leaves in one write.
impl<C: Connection> StreamHandler<VecDeque<Outgoing<C::Event>>> for Socket<C> {
    fn handle(&mut self, batch: VecDeque<Outgoing<C::Event>>, ctx: &mut Self::Context) {
        for item in batch {
            match item {
                Outgoing::Frame(frame) => write(ctx, frame),
                Outgoing::Event(event) => self.with_edge(ctx, |p, edge| p.on_event(event, edge)),
                Outgoing::Close(code, reason) => return close(code, reason, ctx),
            }
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {
        // The inbox never ends: the socket stops on its own.
    }
}

impl<C: Connection> Handler<GoingAway> for Socket<C> {
    type Result = ();
    fn handle(&mut self, _: GoingAway, ctx: &mut Self::Context) {
        close(CloseCode::Away, "server shutting down", ctx);
    }
}
