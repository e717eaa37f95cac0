//! The WebSocket edge, once for every kind of connection: the upgrade (origin check, connection
//! permit), joining fragmented messages within the size limit, answering pings, the
//! keepalive, the byte-counted outbound gate, going away on shutdown, and the close
//! handshake. A kind of connection (method streams, legacy endpoints) plugs in what it does
//! with a whole message through [`Connection`], and writes through [`Edge`].
//!
//! Frames are decoded here, a whole read at a time (`reader`), and handed to the connection in
//! order; frames are written here too, straight into a buffer of the socket's own
//! (`written`), which the response body takes ahead of the context's output (`drain`).
//! actix-web-actors' `WebsocketContext` runs the actor, and writes only the close.
//!
//! This is the only module that knows `actix-web-actors`: a move to `actix-ws` changes this
//! module and nothing else.

mod assembler;
mod drain;
mod held;
mod keepalive;
mod live;
mod reader;
mod send_timeout;
mod written;

use crate::shutdown::GoingAway;
pub(crate) use assembler::Data;
pub(crate) use live::Connections;
pub(crate) use send_timeout::hook as send_timeout_hook;

use crate::config::{normalize_origin, Config};
use crate::flow::OutboundGate;
use crate::outbox::{Inbox, Outbox, Outgoing};
use crate::protocol::registry::Registry;
use crate::protocol::{Encoding, Frame};
use crate::replay::{Replay, ACK_DELAY};
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
use reader::{Batch, FrameFault, FrameReader, FrameRef, Next};
use send_timeout::{SendTimeoutSet, Watch};
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use written::Written;

/// What one kind of connection does with its socket.
pub(crate) trait Connection: Sized + Unpin + 'static {
    /// What producers outside the connection (its calls) tell it, in order with the frames
    /// they send, through its [`Outbox`].
    type Event: Send + 'static;

    /// The path such connections are served at: the label of its connections' metrics.
    const PATH: &'static str;

    /// The connection is up.
    fn started(&mut self, _edge: &mut Edge<'_, Self>) {}

    /// A whole data message from the peer, borrowed from the read it came in.
    fn on_data(&mut self, data: Data<'_>, edge: &mut Edge<'_, Self>);

    /// A data message that arrived while the connection holds its input
    /// ([`Edge::hold`]): true if it was handled now (one that may pass the messages before
    /// it, an acknowledgement); otherwise it waits, in order, for [`Connection::on_data`].
    fn on_held_data(&mut self, _data: &Data<'_>, _edge: &mut Edge<'_, Self>) -> bool {
        false
    }

    /// The classes that what the peer sends is decoded against: made current once for
    /// each read, rather than for each frame (a reference count and a thread-local swap).
    fn classes(&self) -> Option<Arc<Registry>> {
        None
    }

    /// Everything of a read that could be handled now was (the connection may wait with
    /// the rest): what it delivered may be handed on in batches.
    fn read_done(&mut self) {}

    /// An event from the outbox.
    fn on_event(&mut self, _event: Self::Event, _edge: &mut Edge<'_, Self>) {}

    /// The connection is gone, for whatever reason; nothing more can be written.
    fn stopped(&mut self, _id: u64) {}

    /// The socket of a resumable connection is gone without a close (a lost network, a
    /// peer that stopped answering, a takeover): keep the session, edge and all, for the
    /// peer to resume (then `stopped` is not called), or give the edge back to end it.
    fn detach(&mut self, edge: Detached<Self::Event>) -> Result<(), Detached<Self::Event>> {
        Err(edge)
    }
}

/// Tells a resumable connection's socket that another socket resumes its session: it
/// detaches at once (its connection keeps the session) and closes.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct TakeOver;

/// What of a resumable connection's edge outlives its socket, until another socket adopts
/// it ([`Edge::adopt`]) or the session ends.
pub(crate) struct Detached<E> {
    pub(crate) encoding: Encoding,
    gate: Arc<OutboundGate>,
    outbox: Outbox<E>,
    inbox: Inbox<E>,
    /// The connection's slot among `max_connections`: a detached connection keeps it.
    _permit: Permit,
    replay: Replay,
}

impl<E> Detached<E> {
    /// Call frames received from the peer since the session began.
    pub(crate) fn received(&self) -> u64 {
        self.replay.received()
    }
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
    /// for an `Origin` that is not allowed, 503 when the server is full. A resumable one
    /// (`resume_buffer`: the bytes it may keep for its peer) numbers its call frames and
    /// keeps them until acknowledged.
    pub(crate) fn upgrade<C: Connection>(
        self: &Arc<Self>,
        req: &HttpRequest,
        body: web::Payload,
        resume_buffer: Option<usize>,
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
        // A resumable connection's bytes leave its gate when the peer acknowledges them,
        // not when the socket takes them: the gate bounds what it keeps for the peer.
        let limit = resume_buffer.unwrap_or(self.max_outbound_bytes);
        let gate = OutboundGate::new(limit, self.counters.clone());
        let written = Written::default();
        let socket = Socket {
            connection: make(id),
            frames: FrameAssembler::new(self.max_frame_size),
            keepalive: Keepalive::default(),
            unread: None,
            held: held::Held::default(),
            edge: EdgeState {
                id,
                written: written.clone(),
                gate: gate.clone(),
                encoding: Arc::new(OnceLock::new()),
                outbox: None,
                settings: self.clone(),
                permit: Some(permit),
                replay: resume_buffer.map(|_| Replay::default()),
                lost: true,
                ack_scheduled: false,
                holding: false,
                // Twice the peer's bound, which it may pass by one batch.
                held_limit: resume_buffer.unwrap_or(0).saturating_mul(2) + self.max_frame_size,
            },
        };
        let max_frame_size = self.max_frame_size;
        // The context gets a body that never yields: the socket reads its frames itself, a
        // read's worth at a time (see `reader`), and writes them itself (see `written`).
        let output = ws::WebsocketContext::with_factory(
            futures::stream::pending::<Result<Bytes, actix_web::error::PayloadError>>(),
            move |ctx| {
                ctx.add_stream(FrameReader::new(body, max_frame_size, received));
                socket
            },
        );
        Ok(response.streaming(Drain {
            inner: Box::pin(output),
            written,
            after: None,
            gate: resume_buffer.is_none().then_some(gate),
            counters: self.counters.clone(),
            sent,
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
    connection: C,
    frames: FrameAssembler,
    keepalive: Keepalive,
    /// Frames read and not yet handled: the rest of a read, while the connection waits.
    unread: Option<Batch>,
    /// Data messages read while a resumable connection holds its input.
    held: held::Held,
    edge: EdgeState<C::Event>,
}

/// The edge's own state: what a connection reaches through [`Edge`], and what a resumable
/// one hands over ([`Detached`]).
struct EdgeState<E> {
    id: u64,
    /// Where data frames are written: this socket's, not handed over with a detached
    /// session (what it did not take the replay sends again).
    written: Written,
    gate: Arc<OutboundGate>,
    /// The wire, once the first data frame has picked it.
    encoding: Arc<OnceLock<Encoding>>,
    outbox: Option<Outbox<E>>,
    settings: Arc<EdgeSettings>,
    /// Taken when a resumable connection detaches.
    permit: Option<Permit>,
    /// A resumable connection's positions and kept frames.
    replay: Option<Replay>,
    /// The socket went without a close handshake of our own or the peer's: a resumable
    /// session is worth keeping.
    lost: bool,
    /// An acknowledgement is on its way (a timer runs).
    ack_scheduled: bool,
    /// The connection holds its input ([`Edge::hold`]): data messages wait in `held`.
    holding: bool,
    /// The most bytes of data messages a held connection keeps.
    held_limit: usize,
}

type Ctx<C> = ws::WebsocketContext<Socket<C>>;

/// A connection's handle on its socket while it handles something.
pub(crate) struct Edge<'a, C: Connection> {
    ctx: &'a mut Ctx<C>,
    state: &'a mut EdgeState<C::Event>,
}

impl<E: Send + 'static> EdgeState<E> {
    /// Writes a call frame: numbered and kept, on a resumable connection.
    fn write_counted(&mut self, frame: Frame) {
        self.written.frame(&frame);
        // Copied out: the replay keeps the frame itself.
        if let Some(replay) = &mut self.replay {
            replay.sent(frame);
        }
    }

    /// Closes with `code`, after whatever was written. A deliberate close (`lost` false)
    /// ends a resumable session; one for a peer that stopped answering keeps it.
    fn close<A>(
        &mut self,
        ctx: &mut ws::WebsocketContext<A>,
        code: CloseCode,
        reason: &str,
        lost: bool,
    ) where
        A: Actor<Context = ws::WebsocketContext<A>>,
    {
        self.lost = lost;
        close(code, reason, ctx);
    }
}

impl<C: Connection> Socket<C> {
    /// Runs `f` on the connection with an edge.
    fn with_edge<R>(
        &mut self,
        ctx: &mut Ctx<C>,
        f: impl FnOnce(&mut C, &mut Edge<'_, C>) -> R,
    ) -> R {
        with_edge(&mut self.connection, &mut self.edge, ctx, f)
    }

    /// Handles the messages held and then the frames left unread, in order, until the
    /// connection waits (then the rest waits with it) or stops; held messages wait while the
    /// connection holds its input. The connection's classes are current meanwhile.
    fn read_unread(&mut self, ctx: &mut Ctx<C>) {
        match self.connection.classes() {
            Some(classes) => classes.within(|| self.read_on(ctx)),
            None => self.read_on(ctx),
        }
        self.connection.read_done();
    }

    fn read_on(&mut self, ctx: &mut Ctx<C>) {
        let mut batch = self.unread.take();
        while !ctx.waiting() {
            if !self.edge.holding {
                if let Some(data) = self.held.pop() {
                    self.with_edge(ctx, |c, edge| c.on_data(data.as_data(), edge));
                    continue;
                }
            }
            let Some(unread) = batch.as_mut() else {
                return;
            };
            match unread.next() {
                Next::Frame(frame) => self.on_frame(Ok(frame), ctx),
                Next::Fault(fault) => self.on_frame(Err(fault), ctx),
                Next::End => batch = None,
            }
        }
        self.unread = batch.filter(|batch| !batch.is_done());
    }

    fn on_frame(&mut self, frame: Result<FrameRef<'_>, FrameFault>, ctx: &mut Ctx<C>) {
        let Socket {
            connection,
            frames,
            keepalive,
            held,
            edge,
            ..
        } = self;
        let incoming = match frame {
            Ok(frame) => frames.push(frame),
            Err(fault) => Incoming::fault(fault),
        };
        match incoming {
            Incoming::Data(data) if edge.holding => {
                let taken = with_edge(connection, edge, ctx, |c, e| c.on_held_data(&data, e));
                if !taken && held.push(data, edge.held_limit).is_err() {
                    log::info!(
                        "connection {}: more input than its bound while a method took none; closing",
                        edge.id
                    );
                    edge.close(ctx, CloseCode::Again, "input not consumed", false);
                }
            }
            Incoming::Data(data) => {
                // The first data frame picks the wire for the connection's life.
                edge.encoding.get_or_init(|| match data {
                    Data::Binary(_) => Encoding::MessagePack,
                    Data::Text(_) => Encoding::Json,
                });
                with_edge(connection, edge, ctx, |c, edge| c.on_data(data, edge))
            }
            Incoming::Ping(payload) => edge.written.pong(payload),
            Incoming::Pong => keepalive.pong(),
            Incoming::Nothing => {}
            Incoming::Closed(reason) => {
                // Echo the peer's close; TCP closes once it is out. The peer meant it.
                edge.lost = false;
                ctx.close(reason);
                ctx.stop();
            }
            Incoming::Fail(code, reason) => edge.close(ctx, code, reason, false),
        }
    }

    /// Hands a resumable connection's edge to its connection to keep, if the socket went
    /// without a close; true if the connection kept it.
    fn detach(&mut self) -> bool {
        let state = &mut self.edge;
        let (Some(replay), true) = (state.replay.take(), state.lost) else {
            return false;
        };
        let (Some(outbox), Some(permit)) = (state.outbox.take(), state.permit.take()) else {
            // Nothing was ever opened on it: nothing to keep.
            return false;
        };
        let Some(inbox) = outbox.take_over() else {
            return false;
        };
        let detached = Detached {
            encoding: state.encoding.get().copied().unwrap_or_default(),
            gate: state.gate.clone(),
            outbox,
            inbox: Inbox::from(inbox),
            _permit: permit,
            replay,
        };
        self.connection.detach(detached).is_ok()
    }

    /// Sends what is due to acknowledge, uncounted.
    fn acknowledge(&mut self) {
        self.edge.ack_scheduled = false;
        self.edge.write_acknowledgement();
    }
}

impl<E> EdgeState<E> {
    fn encoding(&self) -> Encoding {
        self.encoding.get().copied().unwrap_or_default()
    }

    /// Writes the acknowledgement due, if any (`ack`, uncounted).
    fn write_acknowledgement(&mut self) {
        let due = self.replay.as_mut().and_then(Replay::take_acknowledgement);
        if let Some(Ok(frame)) =
            due.map(|n| crate::protocol::Message::ack(n).to_frame(self.encoding()))
        {
            self.written.frame(&frame);
        }
    }
}

impl<C: Connection> Edge<'_, C> {
    /// Writes one frame, after everything written before: a call frame (numbered and kept
    /// until acknowledged, on a resumable connection).
    pub(crate) fn send(&mut self, frame: Frame) {
        self.state.gate.add(frame.len());
        self.state.write_counted(frame);
    }

    /// Writes one frame that is not a call frame (`pong`, the resume frames): never
    /// numbered, kept or replayed.
    pub(crate) fn send_control(&mut self, frame: Frame) {
        if self.state.replay.is_none() {
            // Counted out of the gate as the socket takes it.
            self.state.gate.add(frame.len());
        }
        self.state.written.frame(&frame);
    }

    /// The connection's wire: picked by its first data frame (binary: MessagePack, text:
    /// Serverpod's JSON) for its whole life; MessagePack until then.
    pub(crate) fn encoding(&self) -> Encoding {
        self.state.encoding()
    }

    /// The connection's wire, for a producer that may start writing before the first data
    /// frame has picked it (a legacy endpoint's session).
    pub(crate) fn encoding_handle(&self) -> Arc<OnceLock<Encoding>> {
        self.state.encoding.clone()
    }

    /// Sends a close frame with `code`, after whatever was already written, and stops: the
    /// TCP connection closes as soon as the close frame is out. Deliberate: a resumable
    /// session ends with it.
    pub(crate) fn close(&mut self, code: CloseCode, reason: &str) {
        self.state.close(self.ctx, code, reason, false);
    }

    /// The gate between this connection's producers and its socket.
    pub(crate) fn gate(&self) -> Arc<OutboundGate> {
        self.state.gate.clone()
    }

    /// The queue producers send on, in order, opened on first use (an idle connection costs
    /// less). A queue rather than the actor's mailbox: a frame costs no boxed envelope, the
    /// connection takes everything waiting at once, and a connection busy waiting (an
    /// authentication) still has it filled.
    pub(crate) fn outbox(&mut self) -> Outbox<C::Event> {
        if let Some(outbox) = &self.state.outbox {
            return outbox.clone();
        }
        let (outbox, inbox) = crate::outbox::outbox();
        self.ctx.add_stream(inbox);
        self.state.outbox = Some(outbox.clone());
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

    /// Runs `future` and then `then`, handling no data message meanwhile (they are handled
    /// after `then`, in order), as [`Edge::wait`] does; for a connection that holds its
    /// input until a method catches up. A resumable connection still reads its socket
    /// meanwhile (see `held.rs`): acknowledgements get through, everything else waits.
    pub(crate) fn hold<F>(
        &mut self,
        future: F,
        then: impl FnOnce(&mut C, F::Output, &mut Edge<'_, C>) + 'static,
    ) where
        F: Future + 'static,
    {
        if self.state.replay.is_none() {
            return self.wait(future, then);
        }
        self.state.holding = true;
        self.ctx
            .spawn(
                actix::fut::wrap_future::<_, Socket<C>>(future).map(move |out, socket, ctx| {
                    socket.edge.holding = false;
                    socket.with_edge(ctx, |p, edge| then(p, out, edge));
                    socket.read_unread(ctx);
                }),
            );
    }

    /// `helper` hears [`GoingAway`] on shutdown before this connection does.
    pub(crate) fn attach_shutdown_helper(&mut self, helper: Recipient<GoingAway>) {
        self.state
            .settings
            .connections
            .attach(self.state.id, helper);
    }

    /// Whether this connection numbers its call frames (its client asked to resume).
    pub(crate) fn is_resumable(&self) -> bool {
        self.state.replay.is_some()
    }

    /// A call frame of `size` bytes arrived (not `ping`, `pong` or a resume frame):
    /// acknowledged at once every few frames or kilobytes, otherwise within a moment.
    pub(crate) fn received_call_frame(&mut self, size: usize) {
        let Some(replay) = &mut self.state.replay else {
            return;
        };
        if replay.received_one(size) {
            self.state.write_acknowledgement();
        } else if !self.state.ack_scheduled {
            self.state.ack_scheduled = true;
            self.ctx
                .run_later(ACK_DELAY, |socket, _| socket.acknowledge());
        }
    }

    /// The peer has received `n` call frames: forget them, and free their room. False when
    /// it claims more than was sent.
    pub(crate) fn acknowledged(&mut self, n: u64) -> bool {
        let Some(replay) = &mut self.state.replay else {
            return true;
        };
        match replay.acknowledged(n) {
            Ok(freed) => {
                self.state.gate.release(freed);
                true
            }
            Err(_) => false,
        }
    }

    /// Where another socket can reach this one to take its session over.
    pub(crate) fn take_over_handle(&self) -> Recipient<TakeOver> {
        self.ctx.address().recipient()
    }

    /// Takes over a detached session's edge, for a peer that has received `received` of its
    /// call frames: its producers write here now, its slot is this socket's, and what the
    /// peer lacks is written again, after `first` (the answer that says where the session
    /// stands). Gives the edge back when `received` does not fit what was sent.
    pub(crate) fn adopt(
        &mut self,
        detached: Detached<C::Event>,
        received: u64,
        first: Frame,
    ) -> Result<(), Detached<C::Event>> {
        let mut detached = detached;
        let (freed, lacking) = match detached.replay.lacking(received) {
            Ok(replay) => replay,
            Err(_) => return Err(detached),
        };
        let Detached {
            gate,
            outbox,
            inbox,
            _permit,
            replay,
            ..
        } = detached;
        gate.release(freed);
        // This socket's own slot goes: the session's is the one it holds now.
        self.state.permit = Some(_permit);
        self.state.gate = gate;
        self.state.replay = Some(replay);
        self.state.outbox = Some(outbox);
        self.ctx.add_stream(inbox);
        self.state.written.frame(&first);
        crate::instruments::frames_replayed(lacking.len());
        for frame in lacking {
            self.state.written.frame(&frame);
        }
        Ok(())
    }
}

/// Runs `f` on `connection` with an edge on `state`.
fn with_edge<C: Connection, R>(
    connection: &mut C,
    state: &mut EdgeState<C::Event>,
    ctx: &mut Ctx<C>,
    f: impl FnOnce(&mut C, &mut Edge<'_, C>) -> R,
) -> R {
    let mut edge = Edge { ctx, state };
    f(connection, &mut edge)
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
        let settings = self.edge.settings.clone();
        settings.counters.connection_opened();
        crate::instruments::connection_opened(C::PATH);
        settings
            .connections
            .joined(self.edge.id, ctx.address().recipient());
        ctx.run_interval(settings.ping_interval, |socket, ctx| {
            if socket.keepalive.tick() {
                log::debug!(
                    "connection {}: no pong within the ping interval",
                    socket.edge.id
                );
                // The peer may be on its way back: a resumable session is kept, and a
                // peer that still hears the close is told to resume.
                let code = match socket.edge.replay {
                    Some(_) => CloseCode::Other(crate::protocol::CLOSE_RESUMABLE),
                    None => CloseCode::Away,
                };
                return socket.edge.close(ctx, code, "ping timeout", true);
            }
            // An idle connection keeps no write buffer: it goes at each ping, and the ping
            // itself goes through the context (it is ordered with nothing written here).
            socket.edge.written.release();
            ctx.ping(b"");
        });
        log::debug!("connection {} opened", self.edge.id);
        self.with_edge(ctx, |p, edge| p.started(edge));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if !self.detach() {
            self.connection.stopped(self.edge.id);
        }
        let settings = &self.edge.settings;
        settings.connections.left(self.edge.id);
        settings.counters.connection_closed();
        crate::instruments::connection_closed(C::PATH);
        log::debug!("connection {} closed", self.edge.id);
    }
}

impl<C: Connection> StreamHandler<Batch> for Socket<C> {
    fn handle(&mut self, batch: Batch, ctx: &mut Self::Context) {
        // Frames are left unread only while the connection waits, and then the reader is
        // not polled; except when a wait's end finds the connection holding its input.
        match &mut self.unread {
            Some(unread) => unread.append(batch),
            None => self.unread = Some(batch),
        }
        self.read_unread(ctx);
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // The peer's side of the socket ended (TCP closed) without a close frame.
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
                Outgoing::Frame(frame) => self.edge.write_counted(frame),
                Outgoing::Event(event) => self.with_edge(ctx, |p, edge| p.on_event(event, edge)),
                Outgoing::Close(code, reason) => return self.edge.close(ctx, code, reason, false),
            }
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {
        // The inbox ends only when another socket took it over: this one is going.
    }
}

impl<C: Connection> Handler<GoingAway> for Socket<C> {
    type Result = ();
    fn handle(&mut self, _: GoingAway, ctx: &mut Self::Context) {
        self.edge
            .close(ctx, CloseCode::Away, "server shutting down", false);
    }
}

impl<C: Connection> Handler<TakeOver> for Socket<C> {
    type Result = ();
    fn handle(&mut self, _: TakeOver, ctx: &mut Self::Context) {
        // Detached now, so that the socket taking over finds the session kept as soon as
        // this answers; the close that follows ends nothing more.
        self.edge.lost = true;
        // Not kept (nothing was ever opened on it): `stopped` ends it as any other.
        let _ = self.detach();
        self.edge
            .close(ctx, CloseCode::Policy, "resumed on another socket", false);
    }
}
