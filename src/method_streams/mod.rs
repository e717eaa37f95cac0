//! The method-stream protocol on one WebSocket (`/v1/websocket`): the [`MethodConnection`] that
//! the socket edge runs for each connection.
//!
//! It decodes each message and handles messages strictly in arrival order: an open is
//! validated and its call actor started, with its input streams registered, before the next
//! message is read. Values, exceptions and closes of a call's input streams go straight into
//! that call's input streams; a cancel goes to the call's actor. Everything the calls send
//! comes back through the socket's outbox, in order. When the connection stops, for any
//! reason, its supervisor stops every call.

mod open;
mod resume;

pub(crate) use resume::Sessions;

use crate::auth::{AuthInfo, AuthenticationHandler, Handshake};
use crate::call::messages::{Adopt, CallEnded, CallRequest, Forget, StopAll};
use crate::call::{CallActor, CallInputs, CallSupervisor, CallTable, Delivery};
use crate::flow::Credit;
use crate::flow::InputQueue;
use crate::method::{Endpoint, Services};
use crate::protocol::registry::Registry;
use crate::protocol::{decode_json_ref, report};
use crate::protocol::{
    CloseReason, Encoding, FrameError, Message, MessageRef, ResumeRefusal, Target, TargetRef,
    WrappedRef,
};
use crate::recent::RecentIds;
use crate::socket::{CloseCode, Connection, Data, Detached, Edge};
use actix::prelude::*;
use actix::WeakAddr;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The `brm` of a value the client sent on a call's return stream (as Serverpod words it).
const RETURN_STREAM_INPUT: &str = "Server does not accept messages targeting the return stream.";

/// What the method-stream connections of one server share: the endpoints, the
/// authentication handler, the services a session reaches, and the limits on calls.
pub(crate) struct CallSetup {
    pub(crate) endpoints: HashMap<String, Endpoint>,
    pub(crate) authentication: Option<AuthenticationHandler>,
    pub(crate) services: Services,
    pub(crate) limits: CallLimits,
    /// The input queue of every call whose client listed no input streams: such a call
    /// gets no stream to queue for, so it needs no queue of its own.
    pub(crate) no_inputs: Arc<InputQueue>,
    /// The resumable sessions.
    pub(crate) sessions: Arc<Sessions>,
}

/// The per-connection limits on calls (see [`Config`](crate::Config)).
pub(crate) struct CallLimits {
    pub(crate) max_calls_per_connection: usize,
    pub(crate) max_inputs_per_call: usize,
    pub(crate) max_queued_inputs: usize,
    /// Input credit of a flow-controlled call, per input stream.
    pub(crate) input_window: u32,
    pub(crate) remembered_ended_calls: usize,
    /// How long a method may take no input before its connection is closed with 1013.
    pub(crate) input_patience: Duration,
}

/// What the connection knows about one open call.
struct Route {
    endpoint: Arc<str>,
    method: Arc<str>,
    /// Weak: the supervisor holds the call's address, and every strong clone of an actix
    /// address allocates sender state of its own (~100 bytes a call).
    call: WeakAddr<CallActor>,
    inputs: Arc<CallInputs>,
    /// What the client has granted on the return stream, for a flow-controlled call.
    credit: Option<Arc<Credit>>,
    /// Who opened a call that required authentication: a resume must come from them.
    auth: Option<Box<AuthInfo>>,
    /// The key of a call whose open took one (docs/PROTOCOL.md §12).
    key: Option<u32>,
    /// For a keyed call, its input streams' names in the order of its open's `is`: a keyed
    /// value frame names its input stream by its place there.
    places: Box<[Arc<str>]>,
}

impl Route {
    /// Tells the call what the client asked of it (nothing, if it has already stopped).
    fn ask(&self, request: CallRequest) {
        if let Some(call) = self.call.upgrade() {
            call.do_send(request);
        }
    }
}

/// The method-stream protocol of one connection.
pub(crate) struct MethodConnection {
    id: u64,
    methods: Arc<CallSetup>,
    supervisor: Option<Addr<CallSupervisor>>,
    calls: CallTable<Route>,
    ended: RecentIds,
    /// The handshake's auth cookie, when the server names one: the key of calls opened
    /// with `am: "cookie"` and no `auth`.
    cookie_key: Option<String>,
    /// The handshake that opened the connection: for the authentication handler, and every
    /// call's session.
    handshake: Handshake,
    /// Whether the connection is resumable, and its session's key once it has one.
    resume: Resume,
    /// The calls with keys, by key, and the highest key taken: a keyed value frame for a
    /// key at most that and no longer here is for a call that has ended.
    keys: CallTable<Uuid, u32>,
    highest_key: u32,
    /// The calls with values staged by the read being handled: flushed at its end.
    staged: Vec<Arc<CallInputs>>,
}

/// A connection's resumability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resume {
    /// Its client did not ask, or the server resumes nothing.
    Off,
    /// Its client asked: the first frame opens a session, or resumes one.
    Asked,
    /// Its session.
    On(resume::Key),
}

impl MethodConnection {
    pub(crate) fn new(
        id: u64,
        methods: Arc<CallSetup>,
        cookie_key: Option<String>,
        handshake: Handshake,
        resume: Resume,
    ) -> Self {
        MethodConnection {
            id,
            ended: RecentIds::new(methods.limits.remembered_ended_calls),
            methods,
            supervisor: None,
            calls: CallTable::new(),
            cookie_key,
            handshake,
            resume,
            keys: CallTable::new(),
            highest_key: 0,
            staged: Vec::new(),
        }
    }

    /// Writes `message` in the connection's encoding (MessagePack until a first text frame
    /// made it a JSON connection): a call frame, or one of the frames that are not
    /// (`pong`, the resume frames).
    fn send(&self, message: &Message, edge: &mut Edge<'_, Self>) {
        match message.to_frame(edge.encoding()) {
            Ok(frame) if message.is_counted() => edge.send(frame),
            Ok(frame) => edge.send_control(frame),
            // The connection's own messages carry no values: this does not happen.
            Err(e) => log::error!(
                "connection {}: no JSON for a frame: {}",
                self.id,
                report(&e)
            ),
        }
    }

    /// Ends the connection's calls: the connection is gone for good.
    pub(super) fn end(&mut self, _id: u64) {
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.do_send(StopAll);
        }
    }

    /// Answers a frame that is not a valid message with `brm`, then closes.
    fn bad_request(&self, error: FrameError, edge: &mut Edge<'_, Self>) {
        let request = report(&error);
        log::debug!("connection {}: bad request: {request}", self.id);
        crate::instruments::protocol_error(&error);
        let code = match error {
            FrameError::TextFrame => CloseCode::Unsupported,
            _ => CloseCode::Protocol,
        };
        self.send(&Message::BadRequest { request }, edge);
        edge.close(code, "bad request");
    }

    /// A frame on a JSON connection (text, or binary taken as UTF-8 as Serverpod 4.0 does).
    /// One that cannot be read is answered with `brm` carrying the frame's own text, then
    /// the connection closes (docs/PROTOCOL.md §9).
    fn on_json(&mut self, frame: &[u8], edge: &mut Edge<'_, Self>) {
        let Ok(text) = std::str::from_utf8(frame) else {
            log::debug!("connection {}: a JSON frame that is not UTF-8", self.id);
            return edge.close(CloseCode::Invalid, "not UTF-8");
        };
        // Stream traffic takes the same way as a MessagePack frame's, borrowed from here. A
        // JSON value's class is normalized to this server's models as it is read.
        let registry = self.methods.services.registry.clone();
        let decoded =
            registry.within(|| decode_json_ref(text, |m| self.on_message(m, frame.len(), edge)));
        if let Err(error) = decoded {
            log::debug!("connection {}: bad request: {}", self.id, report(&error));
            crate::instruments::protocol_error(&error);
            let answer = Message::BadRequest {
                request: text.to_string(),
            };
            self.send(&answer, edge);
            edge.close(CloseCode::Protocol, "bad request");
        }
    }

    fn on_frame(&mut self, frame: &[u8], edge: &mut Edge<'_, Self>) {
        match MessageRef::decode(frame) {
            Ok(message) => self.on_message(message, frame.len(), edge),
            Err(error) => self.bad_request(error, edge),
        }
    }

    /// A message, from a frame of `size` bytes.
    fn on_message(&mut self, message: MessageRef<'_>, size: usize, edge: &mut Edge<'_, Self>) {
        if self.resume == Resume::Asked {
            // The first frame: a resume, or (anything else) the start of a new session.
            if let MessageRef::Control(Message::Resume {
                token,
                received,
                auth,
            }) = message
            {
                return self.resume_session(token, received, auth, edge);
            }
            self.open_session(edge);
        }
        let counted = match &message {
            MessageRef::Control(message) => message.is_counted(),
            _ => true,
        };
        if counted {
            edge.received_call_frame(size);
        }
        match message {
            MessageRef::Control(message) => self.on_control(message, edge),
            MessageRef::Value { target, value } => self.on_value(target, value, edge),
            MessageRef::KeyedValue { key, input, value } => {
                self.on_keyed_value(key, input, value, edge)
            }
            MessageRef::Exception { target, exception } => {
                if let (Some(param), Some(route)) = (target.param, self.route(&target)) {
                    route.inputs.fail(param, exception.to_dynamic());
                }
            }
            MessageRef::Close { target, reason, .. } => {
                if let Some(route) = self.route(&target) {
                    match target.param {
                        Some(param) => route.inputs.close(param, reason),
                        None => route.ask(CallRequest::Cancel(reason)),
                    }
                }
            }
            // Credit for the return stream; a call that is not flow-controlled, or has
            // ended, has no use for it. Input credit is the server's to give.
            MessageRef::Credit { target, n } => {
                match (
                    target.param,
                    self.route(&target).and_then(|r| r.credit.as_ref()),
                ) {
                    (None, Some(credit)) => credit.grant(n),
                    _ => log::trace!("connection {}: crd with no use ignored", self.id),
                }
            }
        }
    }

    /// A value for one of a call's input streams: delivered straight into the stream.
    fn on_value(
        &mut self,
        target: TargetRef<'_>,
        value: WrappedRef<'_>,
        edge: &mut Edge<'_, Self>,
    ) {
        let Some(param) = target.param else {
            return self.return_stream_input(edge);
        };
        let staged = match self.route(&target) {
            Some(route) => self.deliver(route, param, value, edge),
            None if self.ended.contains(&target.cid) => None,
            None => {
                let close = Message::Close {
                    target: target.to_target(),
                    reason: CloseReason::Error,
                };
                self.send(&close, edge);
                None
            }
        };
        self.staged.extend(staged);
    }

    /// A keyed value frame: as [`on_value`](Self::on_value), for the call that took `key`
    /// and its input stream at place `input` of the open's `is`.
    fn on_keyed_value(
        &mut self,
        key: u32,
        input: Option<u32>,
        value: WrappedRef<'_>,
        edge: &mut Edge<'_, Self>,
    ) {
        let Some(input) = input else {
            return self.return_stream_input(edge);
        };
        let invalid = |field, reason| FrameError::InvalidField {
            message: "msm",
            field,
            reason,
        };
        let staged = match self.keys.get(&key).and_then(|cid| self.calls.get(cid)) {
            Some(route) => match route.places.get(input as usize) {
                Some(param) => self.deliver(route, param, value, edge),
                None => {
                    let inputs = route.places.len();
                    let why = format!("input {input} of a call with {inputs} input streams");
                    self.bad_request(invalid("i", why), edge);
                    None
                }
            },
            // A call that has ended: its values are dropped, as an `msm`'s are.
            None if key <= self.highest_key => None,
            None => {
                self.bad_request(invalid("k", format!("no open took key {key}")), edge);
                None
            }
        };
        self.staged.extend(staged);
    }

    /// Delivers a value into input `param` of `route`'s call; returns the call's inputs if
    /// they are to be flushed once the read is handled ([`Connection::read_done`]).
    fn deliver(
        &self,
        route: &Route,
        param: &str,
        value: WrappedRef<'_>,
        edge: &mut Edge<'_, Self>,
    ) -> Option<Arc<CallInputs>> {
        let registry = &self.methods.services.registry;
        match route
            .inputs
            .deliver(registry, param, value.class, value.data)
        {
            Delivery::Staged { first, full } => {
                if full {
                    let credit = route.inputs.credit().clone();
                    self.wait_for_input_room(credit, edge);
                }
                first.then(|| route.inputs.clone())
            }
            Delivery::Ended => None,
            Delivery::Refused(why) => {
                route.ask(CallRequest::RefuseInput {
                    param: Arc::from(param),
                    why,
                });
                None
            }
        }
    }

    /// Answers a value on the return stream (the server's to send) with `brm`, then closes.
    fn return_stream_input(&self, edge: &mut Edge<'_, Self>) {
        let request = RETURN_STREAM_INPUT.to_string();
        self.send(&Message::BadRequest { request }, edge);
        edge.close(CloseCode::Protocol, "bad request");
    }

    /// A message that names no stream.
    fn on_control(&mut self, message: Message, edge: &mut Edge<'_, Self>) {
        match message {
            Message::Ping => self.send(&Message::Pong, edge),
            Message::OpenResponse(r) => {
                log::debug!("connection {}: ignoring omsr for {}", self.id, r.cid);
            }
            Message::OpenCall(open) => self.open_call(open, edge),
            Message::BadRequest { request } => {
                log::debug!(
                    "connection {}: peer reported a bad request: {request}",
                    self.id
                );
                edge.close(CloseCode::Normal, "peer sent brm");
            }
            Message::Ack { received } if !edge.acknowledged(received) => {
                let request = format!("ack of {received} frames, more than were sent");
                self.send(&Message::bad_request(request), edge);
                edge.close(CloseCode::Protocol, "bad request");
            }
            // A resume that is not a connection's first frame, or on a server (or a
            // connection) that does not resume.
            Message::Resume { .. } => {
                let why = if edge.is_resumable() {
                    ResumeRefusal::Unknown
                } else {
                    ResumeRefusal::Off
                };
                self.refuse_resume(why, edge);
            }
            // Stream messages arrive as `MessageRef`s; a pong needs nothing.
            _ => {}
        }
    }

    /// The method is behind its input: read nothing more until it catches up (TCP
    /// backpressure). A method that takes nothing for a whole ping interval would park the
    /// connection (and its keepalive) for good, so then the connection is closed with 1013.
    fn wait_for_input_room(&self, credit: Arc<InputQueue>, edge: &mut Edge<'_, Self>) {
        let patience = self.methods.limits.input_patience;
        let waited = async move {
            tokio::select! {
                _ = credit.room() => true,
                _ = tokio::time::sleep(patience) => false,
            }
        };
        edge.hold(waited, |conn, room, edge| {
            if !room {
                log::info!(
                    "connection {}: a method took no input for a ping interval; closing",
                    conn.id
                );
                edge.close(CloseCode::Again, "input not consumed");
            }
        });
    }

    /// The call a message is for: same `cid`, and the same `en` and `m` it was opened with.
    fn route(&self, target: &TargetRef<'_>) -> Option<&Route> {
        self.calls
            .get(&target.cid)
            .filter(|r| *r.endpoint == *target.endpoint && *r.method == *target.method)
    }

    /// Starts the connection's call supervisor, on first use (an idle connection costs
    /// less); on shutdown it stops the calls before the connection is told to close.
    pub(super) fn start_supervisor(&mut self, edge: &mut Edge<'_, Self>) {
        if self.supervisor.is_none() {
            let supervisor = CallSupervisor::default().start();
            edge.attach_shutdown_helper(supervisor.clone().recipient());
            self.supervisor = Some(supervisor);
        }
    }

    fn adopt(
        &mut self,
        target: &Target,
        call: Addr<CallActor>,
        inputs: Arc<CallInputs>,
        credit: Option<Arc<Credit>>,
        auth: Option<AuthInfo>,
        (key, places): (Option<u32>, Box<[Arc<str>]>),
    ) {
        let weak = call.downgrade();
        if let Some(key) = key {
            self.keys.insert(key, target.cid);
            self.highest_key = key;
        }
        if let Some(supervisor) = &self.supervisor {
            supervisor.do_send(Adopt {
                cid: target.cid,
                call,
            });
        }
        self.calls.insert(
            target.cid,
            Route {
                endpoint: target.endpoint.clone(),
                method: target.method.clone(),
                call: weak,
                inputs,
                credit,
                auth: auth.map(Box::new),
                key,
                places,
            },
        );
    }
}

impl Connection for MethodConnection {
    type Event = CallEnded;
    const PATH: &'static str = crate::protocol::WEBSOCKET_PATH;

    fn on_data(&mut self, data: Data<'_>, edge: &mut Edge<'_, Self>) {
        // The socket's first data frame picked the wire (docs/PROTOCOL.md §9). What a frame
        // brings is decoded against this server's classes, which the socket made current
        // for the read (`classes`).
        match (edge.encoding(), data) {
            (Encoding::MessagePack, Data::Binary(frame)) => self.on_frame(frame, edge),
            (Encoding::MessagePack, Data::Text(_)) => self.bad_request(FrameError::TextFrame, edge),
            (Encoding::Json, Data::Text(frame) | Data::Binary(frame)) => self.on_json(frame, edge),
        }
    }

    fn classes(&self) -> Option<Arc<Registry>> {
        Some(self.methods.services.registry.clone())
    }

    /// What the read brought for each call reaches its method now, in one batch per call.
    fn read_done(&mut self) {
        for inputs in self.staged.drain(..) {
            inputs.flush();
        }
    }

    /// While the connection holds its input, the peer's acknowledgements are taken at
    /// once: they free room for output that the held input may be waiting on.
    fn on_held_data(&mut self, data: &Data<'_>, edge: &mut Edge<'_, Self>) -> bool {
        let ack = match (edge.encoding(), data) {
            (Encoding::MessagePack, Data::Binary(frame)) => match MessageRef::decode(frame) {
                Ok(MessageRef::Control(Message::Ack { received })) => Some(received),
                _ => None,
            },
            // Only a frame that can be an `ack` is parsed twice.
            (Encoding::Json, Data::Text(frame) | Data::Binary(frame))
                if frame.len() < 64 && frame.windows(5).any(|w| w == b"\"ack\"") =>
            {
                match std::str::from_utf8(frame).map(Message::decode_json) {
                    Ok(Ok(Message::Ack { received })) => Some(received),
                    _ => None,
                }
            }
            _ => None,
        };
        // One that claims too much is left for `on_data`, which refuses it.
        ack.is_some_and(|n| edge.acknowledged(n))
    }

    fn on_event(&mut self, CallEnded(cid): CallEnded, _: &mut Edge<'_, Self>) {
        if let Some(key) = self.calls.remove(&cid).and_then(|route| route.key) {
            self.keys.remove(&key);
        }
        self.ended.insert(cid);
        if let Some(supervisor) = &self.supervisor {
            supervisor.do_send(Forget { cid });
        }
    }

    fn stopped(&mut self, id: u64) {
        if let Resume::On(key) = self.resume {
            self.methods.sessions.closed(key);
        }
        self.end(id);
    }

    fn detach(&mut self, edge: Detached<CallEnded>) -> Result<(), Detached<CallEnded>> {
        let Resume::On(key) = self.resume else {
            return Err(edge);
        };
        log::debug!(
            "connection {}: socket lost; its session is kept for {:?}",
            self.id,
            self.methods.sessions.window()
        );
        // What is left here is an empty shell: the socket that resumes takes it all.
        let shell = MethodConnection::new(
            self.id,
            self.methods.clone(),
            None,
            Handshake::default(),
            Resume::Off,
        );
        let connection = std::mem::replace(self, shell);
        let sessions = connection.methods.sessions.clone();
        sessions.park(key, resume::Parked { connection, edge });
        Ok(())
    }
}
