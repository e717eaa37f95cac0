//! The client's socket task: one per connection, owner of every call on it.
//!
//! All state of a connection (pending opens, open calls, their input pumps) lives in this
//! one task, which reacts to inbound frames, to commands from calls, to input items from the
//! pumps (`pump`) and to its timers, and writes through a queue that never makes it stop
//! reading (`link`). Nothing else touches the socket. When the last call ends the task
//! closes the socket and refuses further commands; an open that arrives too late is handed
//! back unanswered, and its caller connects afresh.
//!
//! A resumable connection (docs/PROTOCOL.md §11) outlives its socket: when the socket drops
//! with calls open, the task dials a new one (`dialer`) and keeps the calls meanwhile,
//! their frames kept (`resumable`) and written when it is back.

use super::dialer::{Dialer, Resumed};
use super::error::Error;
use super::ids::IdMap;
use super::keepalive::Tick;
use super::link::{next_event, Link, LinkEvent};
pub(crate) use super::pump::InputSource;
use super::pump::{InputItem, InputPump, INPUT_BATCH, INPUT_QUEUE};
use super::resumable::Resumable;
use super::state::ConnectionState;
use super::transport::{Incoming, TransportError};
use super::values::ValueSender;
use crate::error::StreamError;
use crate::flow::Credit;
use crate::protocol::{
    borrow, report, CloseReason, Dynamic, Encoding, Frame, FrameError, Message, MessageRef,
    OpenCall, OpenResponse, OpenResult, Target, TargetRef, ValueFrames, WrappedRef,
    CLOSE_RESUMABLE, MAX_KEY, REVOKED,
};
use crate::recent::RecentIds;
use bytes::{Buf, Bytes};
use futures::future::poll_fn;
use futures::future::BoxFuture;
use futures::FutureExt;
use std::collections::HashMap;
use std::iter::Peekable;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use std::vec;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Values a call's consumer may leave unread before the socket task waits for it (and so
/// stops reading the socket: a slow consumer bounds the client's memory): half of them
/// queued, half in the batch the consumer took (`values`).
pub(crate) const CALL_BUFFER: usize = 256;

/// How the socket task reaches one call: its values, in a bounded queue, and how it ended,
/// reported once the values are read (a failure is never lost to a full queue).
pub(crate) struct CallOutput {
    pub(crate) values: ValueSender,
    pub(crate) failure: oneshot::Sender<Error>,
}

/// The answer to an open.
pub(crate) enum OpenReply {
    /// The call is open; `flow_controlled` when the server took the call's `fc` (it
    /// answered with its own).
    Opened { flow_controlled: bool },
    /// The socket failed.
    Failed(Error),
    /// The server refused the open; the inputs come back, for a retry.
    Refused(Error, Vec<(Arc<str>, InputSource)>),
    /// The socket was closing and never sent the open: try again on a new socket.
    Retry(Vec<(Arc<str>, InputSource)>),
}

/// Requests to the socket task.
pub(crate) enum Command {
    Open {
        open: OpenCall,
        inputs: Vec<(Arc<str>, InputSource)>,
        reply: oneshot::Sender<OpenReply>,
        /// Boxed: the other commands are a few words.
        output: Box<CallOutput>,
    },
    Cancel {
        cid: Uuid,
    },
    /// The consumer of a flow-controlled call took `n` values: grant them back.
    Credit {
        cid: Uuid,
        n: u32,
    },
    CloseAll,
}

/// A handle on a live socket task.
#[derive(Clone)]
pub(crate) struct ConnectionHandle {
    pub(crate) commands: mpsc::UnboundedSender<Command>,
}

impl ConnectionHandle {
    pub(crate) fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }
}

/// Opens the socket, sends `ping`, waits for the first frame, then starts the task.
pub(crate) async fn connect(dialer: &Arc<Dialer>) -> Result<ConnectionHandle, Error> {
    let generation = dialer.began_connecting();
    let (socket, first) = match dialer.open().await {
        Ok(opened) => opened,
        Err(e) => {
            dialer.publish(generation, ConnectionState::Disconnected);
            return Err(e);
        }
    };
    dialer.publish(generation, ConnectionState::Connected);
    let config = &dialer.config;
    let (tx, rx) = mpsc::unbounded_channel();
    let (input_tx, inputs) = mpsc::channel(INPUT_QUEUE);
    let task = SocketTask {
        link: Some(Link::new(socket, config)),
        resumable: None,
        redialing: None,
        dialer: dialer.clone(),
        generation,
        commands: rx,
        inputs,
        input_tx,
        pending: IdMap::default(),
        calls: IdMap::default(),
        staged: Vec::new(),
        ended: RecentIds::new(256),
        keys: IdMap::default(),
        next_key: (config.keyed_frames && config.encoding == Encoding::MessagePack).then_some(1),
        encoding: config.encoding,
        maybe_idle: false,
        linger: config.linger,
        lingering: None,
    };
    tokio::spawn(task.run(first));
    Ok(ConnectionHandle { commands: tx })
}

struct PendingOpen {
    open: OpenCall,
    inputs: Vec<(Arc<str>, InputSource)>,
    reply: oneshot::Sender<OpenReply>,
    output: Box<CallOutput>,
}

struct OpenedCall {
    target: Target,
    values: ValueSender,
    failure: Option<oneshot::Sender<Error>>,
    pumps: HashMap<Arc<str>, InputPump>,
    /// The class of the last value received.
    last_class: Option<Arc<str>>,
    /// The server took the call's `fc`: it sends no more than the consumer has room for.
    flow_controlled: bool,
    /// The key the server took for the call's keyed value frames.
    key: Option<u32>,
}

impl OpenedCall {
    /// A value read for this call: where its data is in the MessagePack `frame` it came in
    /// (which becomes the value, once the frame is handled: no copy, and no count of the
    /// read buffer the frame shares beyond the frame's own), or a copy of it (JSON). A
    /// stream's values mostly share one class, whose name is kept.
    fn read(&mut self, value: WrappedRef<'_>, frame: Option<&Bytes>) -> ReadValue {
        let class = match &self.last_class {
            Some(class) if **class == *value.class => class.clone(),
            _ => {
                let class: Arc<str> = Arc::from(value.class);
                self.last_class = Some(class.clone());
                class
            }
        };
        let start = frame.and_then(|frame| {
            let start = (value.data.as_ptr() as usize).checked_sub(frame.as_ptr() as usize)?;
            (!value.data.is_empty() && start + value.data.len() <= frame.len()).then_some(start)
        });
        match start {
            Some(start) => ReadValue::InFrame {
                class,
                at: start..start + value.data.len(),
            },
            None => ReadValue::Copied(Dynamic::from_parts(class, value.data)),
        }
    }

    fn fail(&mut self, error: Error) {
        if let Some(failure) = self.failure.take() {
            let _ = failure.send(error);
        }
    }
}

/// A value read for a call, on its way to the call's consumer.
enum ReadValue {
    /// Its data is this range of the frame it came in.
    InFrame { class: Arc<str>, at: Range<usize> },
    /// A value of its own.
    Copied(Dynamic),
}

impl ReadValue {
    /// The value, taking `frame` for one that is a range of it (`None` if it is one and
    /// `frame` is missing).
    fn into_value(self, frame: Option<Bytes>) -> Option<Dynamic> {
        match self {
            ReadValue::Copied(value) => Some(value),
            ReadValue::InFrame { class, at } => {
                let mut frame = frame?;
                frame.truncate(at.end);
                frame.advance(at.start);
                Some(Dynamic::from_shared(class, frame))
            }
        }
    }
}

impl Drop for OpenedCall {
    fn drop(&mut self) {
        for (_, pump) in self.pumps.drain() {
            pump.abort();
        }
    }
}

struct SocketTask {
    /// The socket; none while a resumable connection dials its next one.
    link: Option<Link>,
    /// The session, once the server made the connection resumable.
    resumable: Option<Resumable>,
    /// Dialing the socket that resumes the session.
    redialing: Option<BoxFuture<'static, Result<Resumed, Error>>>,
    dialer: Arc<Dialer>,
    /// Which of the client's connections this is, for the state it reports.
    generation: u64,
    commands: mpsc::UnboundedReceiver<Command>,
    inputs: mpsc::Receiver<InputItem>,
    /// Cloned for each pump; held here too, so `inputs` never reports its end.
    input_tx: mpsc::Sender<InputItem>,
    pending: IdMap<Uuid, PendingOpen>,
    calls: IdMap<Uuid, OpenedCall>,
    /// The calls with values staged since the last hand-over ([`ValueSender::flush`]).
    staged: Vec<Uuid>,
    ended: RecentIds,
    /// The open calls with keys, by key (docs/PROTOCOL.md §12).
    keys: IdMap<u32, Uuid>,
    /// The key the next open asks for: one above the last, for the connection's (and its
    /// session's) life; none when the connection does not use keys, or has used them all.
    next_key: Option<u32>,
    /// The wire this connection speaks, chosen by the client.
    encoding: Encoding,
    /// A call or an open just ended: check whether the socket is still needed.
    maybe_idle: bool,
    /// How long an idle socket stays open for the next call (`ClientConfig::linger`).
    linger: std::time::Duration,
    /// Running while the socket is idle: when it fires, the socket closes.
    lingering: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

/// The most commands, input batches or frames read handled before the queued frames are
/// flushed.
const COMMAND_BURST: usize = 64;

/// Why the task stops.
enum Stop {
    /// No calls left: close quietly.
    Idle,
    /// Fail every call with this error.
    Fail(Error),
    /// The socket is gone without a close from the server: a resumable connection dials
    /// another; any other fails every call with this error.
    Lost(Error),
}

impl SocketTask {
    async fn run(mut self, first: Incoming) {
        let mut stop = self.on_frame(first).await.err();
        while stop.is_none() {
            let room = self.has_room();
            stop = tokio::select! {
                // Queued frames go out while the task keeps reading.
                event = next_event(&mut self.link) => self.on_link_event(event).await,
                command = self.commands.recv(), if room => match command {
                    Some(command) => self.on_commands(command).await.err(),
                    None => Some(Stop::Idle),
                },
                Some(input) = self.inputs.recv(), if room => {
                    self.on_inputs(input);
                    None
                }
                Some(n) = ack_due(&mut self.resumable) => {
                    self.write(&Message::ack(n));
                    None
                }
                redialed = redialed(&mut self.redialing) => self.on_redialed(redialed),
                () = lingered(&mut self.lingering) => Some(Stop::Idle),
            };
            if let Some(Stop::Lost(error)) = stop {
                stop = self.lost(error);
            }
            self.flush_values();
            let idle = self.calls.is_empty() && self.pending.is_empty();
            if !idle {
                self.lingering = None;
            } else if stop.is_none() && self.maybe_idle && self.lingering.is_none() {
                if self.linger.is_zero() {
                    stop = Some(Stop::Idle);
                } else {
                    self.lingering = Some(Box::pin(tokio::time::sleep(self.linger)));
                }
            }
            self.maybe_idle = false;
        }
        self.shut_down(stop.unwrap_or(Stop::Idle)).await;
    }

    /// Whether the task may take more commands and input values: the socket's queue has
    /// room, and so has a resumable connection's kept frames.
    fn has_room(&self) -> bool {
        self.link.as_ref().is_none_or(Link::has_room)
            && self.resumable.as_ref().is_none_or(Resumable::has_room)
    }

    async fn on_link_event(&mut self, event: LinkEvent) -> Option<Stop> {
        match event {
            LinkEvent::Sent(sent) => sent.err().map(|_| Stop::Lost(Error::ConnectionClosed)),
            LinkEvent::Frame(frame) => self.on_frames(frame).await,
            LinkEvent::Tick(Tick::Ping) => {
                self.write(&Message::Ping);
                None
            }
            LinkEvent::Tick(Tick::Idle) => Some(Stop::Lost(Error::IdleTimeout)),
        }
    }

    /// The socket is gone. A resumable connection with calls open dials a new one for as
    /// long as the server keeps the session; otherwise every call fails with `error`.
    fn lost(&mut self, error: Error) -> Option<Stop> {
        let busy = !self.calls.is_empty() || !self.pending.is_empty();
        let Some(resumable) = self
            .resumable
            .as_ref()
            .filter(|r| busy && !r.window.is_zero())
        else {
            return Some(Stop::Fail(error));
        };
        log::debug!("the socket dropped ({error}): resuming");
        self.link = None;
        let dialer = self.dialer.clone();
        let token = resumable.token.clone();
        let received = resumable.received();
        let deadline = tokio::time::Instant::now() + resumable.window;
        let generation = self.generation;
        self.redialing = Some(
            async move { dialer.resume(generation, &token, received, deadline).await }.boxed(),
        );
        None
    }

    /// The dialing is over: the session goes on on the new socket, after the frames the
    /// server lacks, or every call fails.
    fn on_redialed(&mut self, redialed: Result<Resumed, Error>) -> Option<Stop> {
        self.redialing = None;
        let Resumed { socket, received } = match redialed {
            Ok(resumed) => resumed,
            Err(e) => return Some(Stop::Fail(e)),
        };
        let lacking = match self.resumable.as_mut().map(|r| r.resumed(received)) {
            Some(Ok(lacking)) => lacking,
            _ => {
                return Some(Stop::Fail(Error::protocol(
                    "the server resumed from a position the client cannot replay from",
                )))
            }
        };
        let mut link = Link::new(socket, &self.dialer.config);
        for frame in &lacking {
            link.send(frame);
        }
        self.link = Some(link);
        self.dialer
            .publish(self.generation, ConnectionState::Connected);
        log::debug!("the connection resumed");
        None
    }

    /// Handles what the socket gave, then every frame it has ready (up to a burst): a burst
    /// from the server is one turn of the task's loop, not one per frame.
    async fn on_frames(&mut self, first: Option<Result<Incoming, TransportError>>) -> Option<Stop> {
        let mut next = first;
        for taken in 1..=COMMAND_BURST {
            let stop = match next {
                Some(Ok(frame)) => {
                    if let Some(link) = &mut self.link {
                        link.frame_seen();
                    }
                    self.on_frame(frame).await.err()
                }
                Some(Err(e @ TransportError::TooLarge { .. })) => Some(Stop::Fail(
                    Error::protocol_from("the server sent more than the client accepts", e),
                )),
                Some(Err(e @ TransportError::Violation(_))) => Some(Stop::Fail(
                    Error::protocol_from("the server broke the WebSocket protocol", e),
                )),
                Some(Err(e)) => {
                    log::debug!("method stream socket error: {e}");
                    Some(Stop::Lost(Error::ConnectionClosed))
                }
                None => Some(Stop::Lost(Error::ConnectionClosed)),
            };
            if stop.is_some() || taken == COMMAND_BURST {
                return stop;
            }
            next = self.link.as_mut()?.ready_message()?;
        }
        None
    }

    /// Handles a command and every other one already waiting (up to a burst), so that their
    /// frames share one flush.
    async fn on_commands(&mut self, first: Command) -> Result<(), Stop> {
        self.on_command(first).await?;
        for _ in 1..COMMAND_BURST {
            match self.commands.try_recv() {
                Ok(command) => self.on_command(command).await?,
                Err(_) => break,
            }
        }
        Ok(())
    }

    async fn shut_down(mut self, stop: Stop) {
        // Refuse new commands; opens that were queued but never sent go back unanswered,
        // so their callers retry on a fresh connection.
        self.dialer
            .publish(self.generation, ConnectionState::Disconnected);
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            if let Command::Open { reply, inputs, .. } = command {
                let _ = reply.send(OpenReply::Retry(inputs));
            }
        }
        let error = match stop {
            Stop::Idle => Error::ConnectionClosed,
            Stop::Fail(e) | Stop::Lost(e) => e,
        };
        for (_, pending) in self.pending.drain() {
            let _ = pending.reply.send(OpenReply::Failed(error.clone()));
        }
        for (_, mut call) in self.calls.drain() {
            call.fail(error.clone());
        }
        // What was queued still leaves, then the close.
        if let Some(link) = self.link.take() {
            link.close(self.dialer.config.connect_timeout).await;
        }
    }

    /// Queues a message; it leaves with the next batch the socket takes. False for a value
    /// that has no form on this wire (a non-finite double in JSON).
    fn write(&mut self, message: &Message) -> bool {
        match message.to_frame(self.encoding) {
            Ok(frame) => {
                self.send(frame, message.is_counted());
                true
            }
            Err(e) => {
                log::warn!("a message with no JSON form: {}", report(&e));
                false
            }
        }
    }

    /// Queues a frame for the socket. A resumable connection keeps a call frame (`counted`)
    /// until the server acknowledges it, and between sockets keeps it only: it leaves when
    /// the connection resumes. Other frames (`ping`, `pong`, `ack`) are for this socket.
    fn send(&mut self, frame: Frame, counted: bool) {
        if let Some(link) = &mut self.link {
            link.send(&frame);
        }
        // Copied out: the replay keeps the frame itself.
        if let (true, Some(resumable)) = (counted, &mut self.resumable) {
            resumable.sent(frame);
        }
    }

    /// One frame from the server: decoded on the connection's wire, then handled by kind.
    async fn on_frame(&mut self, frame: Incoming) -> Result<(), Stop> {
        let owned;
        let size = frame.len();
        // A MessagePack frame, which received values share.
        let mut shared: Option<Bytes> = None;
        let message = match (frame, self.encoding) {
            // The server ended the connection; or it gave up on this socket and keeps the
            // session (a resumable connection whose pings went unanswered).
            (Incoming::Close(code), _) => {
                return Err(match code {
                    Some(CLOSE_RESUMABLE) => Stop::Lost(Error::ConnectionClosed),
                    _ => Stop::Fail(Error::ConnectionClosed),
                })
            }
            (Incoming::Binary(frame), Encoding::MessagePack) => {
                shared = Some(frame);
                MessageRef::decode(shared.as_deref().unwrap_or_default())
            }
            (Incoming::Text(text), Encoding::Json) => match Message::decode_json(&text) {
                Ok(message) => {
                    owned = message;
                    Ok(borrow(&owned))
                }
                Err(e) => Err(e),
            },
            (Incoming::Binary(_) | Incoming::Text(_), _) => {
                return Err(self.bad_frame("a frame of the other wire".to_string(), None))
            }
        };
        let read = match message {
            Ok(message) => self.on_message(message, size, shared.as_ref()).await?,
            Err(e) => return Err(self.bad_frame(report(&e), Some(e))),
        };
        // A value for a call: the message is handled, so the frame is free to become the
        // value.
        let Some((cid, read)) = read else {
            return Ok(());
        };
        match read.into_value(shared) {
            Some(value) => self.deliver(cid, value).await,
            // Only a MessagePack frame's values are ranges of it, and it is here.
            None => log::error!("a value read in a frame that is gone: dropped"),
        }
        Ok(())
    }

    /// Answers a frame the client cannot read with `brm`, and fails the socket.
    fn bad_frame(&mut self, request: String, error: Option<FrameError>) -> Stop {
        self.write(&Message::BadRequest {
            request: request.clone(),
        });
        Stop::Fail(match error {
            Some(e) => Error::protocol_from("the server sent a bad frame", e),
            None => Error::protocol(request),
        })
    }

    /// A message, from a frame of `size` bytes (`shared`, on the MessagePack wire). A value
    /// for an open call comes back, for the caller to deliver once the frame is free.
    async fn on_message(
        &mut self,
        message: MessageRef<'_>,
        size: usize,
        shared: Option<&Bytes>,
    ) -> Result<Option<(Uuid, ReadValue)>, Stop> {
        let counted = match &message {
            MessageRef::Control(message) => message.is_counted(),
            _ => true,
        };
        if let (true, Some(resumable)) = (counted, &mut self.resumable) {
            if let Some(n) = resumable.received_one(size) {
                self.write(&Message::ack(n));
            }
        }
        match message {
            MessageRef::Value { target, value } => {
                if let Some(read) = self.read_value(target.cid, value, shared) {
                    return Ok(Some((target.cid, read)));
                }
                if !self.ended.contains(&target.cid) {
                    self.write(&Message::Close {
                        target: target.to_target().call(),
                        reason: CloseReason::Error,
                    });
                }
            }
            MessageRef::KeyedValue { key, input, value } => {
                match (input, self.keys.get(&key).copied()) {
                    (None, Some(cid)) => {
                        return Ok(self.read_value(cid, value, shared).map(|read| (cid, read)));
                    }
                    // A call that has ended (or was never keyed, and that the server
                    // would not do): dropped, as an `msm`'s value is.
                    (None, None) if self.next_key.is_none_or(|next| key < next) => {}
                    _ => {
                        let why = format!("a keyed value frame for key {key}, input {input:?}");
                        return Err(self.bad_frame(why, None));
                    }
                }
            }
            MessageRef::Exception { target, exception } => {
                if let Some(mut call) = self.remove_call(target.cid) {
                    call.fail(Error::ServerException(exception.to_dynamic()));
                }
            }
            MessageRef::Close {
                target,
                reason,
                why,
            } => self.on_close(target, reason, why),
            MessageRef::Credit { target, n } => self.on_credit(target, n),
            MessageRef::Control(Message::Ping) => {
                self.write(&Message::Pong);
            }
            MessageRef::Control(Message::OpenResponse(r)) => self.on_open_response(r).await?,
            MessageRef::Control(Message::BadRequest { request }) => {
                return Err(Stop::Fail(Error::protocol(format!(
                    "server reported a bad request: {request}"
                ))))
            }
            MessageRef::Control(Message::ResumeState {
                token, window_ms, ..
            }) if self.resumable.is_none() && self.dialer.config.resume => {
                self.resumable = Some(Resumable::new(
                    token,
                    Duration::from_millis(window_ms),
                    self.dialer.config.resume_buffer,
                ));
            }
            MessageRef::Control(Message::Ack { received }) => {
                let acknowledged = self.resumable.as_mut().map(|r| r.acknowledged(received));
                if let Some(Err(_)) = acknowledged {
                    return Err(Stop::Fail(Error::protocol(format!(
                        "the server acknowledged {received} frames, more than were sent"
                    ))));
                }
            }
            // Pongs need nothing; an open from the server is not for a client, nor is a
            // resume frame out of place.
            MessageRef::Control(_) => {}
        }
        Ok(None)
    }

    /// A value on the return stream of call `cid`, if it is open.
    fn read_value(
        &mut self,
        cid: Uuid,
        value: WrappedRef<'_>,
        shared: Option<&Bytes>,
    ) -> Option<ReadValue> {
        Some(self.calls.get_mut(&cid)?.read(value, shared))
    }

    /// Hands `value` to call `cid`'s consumer (staged, for the next hand-over).
    async fn deliver(&mut self, cid: Uuid, value: Dynamic) {
        let Some(call) = self.calls.get_mut(&cid) else {
            return;
        };
        let first = !call.values.has_staged();
        let mut refused = match call.values.stage(value) {
            Ok(()) => {
                if first {
                    self.staged.push(cid);
                }
                return;
            }
            // A flow-controlled call has room for whatever the server may send: a value
            // beyond its credit fails that call alone.
            Err(_) if call.flow_controlled => {
                self.beyond_credit(cid);
                return;
            }
            Err(refused) => refused,
        };
        // Otherwise wait while the consumer is behind: the socket is not read meanwhile.
        // Every call's staged values go first: the consumer may be waiting for one of them
        // before it reads this call's.
        self.flush_values();
        let Some(call) = self.calls.get_mut(&cid) else {
            return;
        };
        loop {
            poll_fn(|cx| call.values.poll_room(cx)).await;
            match call.values.stage(refused) {
                Ok(()) => break,
                Err(again) => refused = again,
            }
        }
        self.staged.push(cid);
    }

    /// Hands the values read for each call over to its consumer: one hand-over per call
    /// per read.
    fn flush_values(&mut self) {
        for cid in self.staged.drain(..) {
            if let Some(call) = self.calls.get_mut(&cid) {
                call.values.flush();
            }
        }
    }

    /// A close: of an input stream (stop pulling it), or of the call (its end).
    fn on_close(&mut self, target: TargetRef<'_>, reason: CloseReason, why: Option<&str>) {
        match target.param {
            Some(param) => {
                if let Some(pump) = self
                    .calls
                    .get_mut(&target.cid)
                    .and_then(|c| c.pumps.remove(param))
                {
                    pump.abort();
                }
            }
            None => {
                if let Some(mut call) = self.remove_call(target.cid) {
                    match (reason, why) {
                        (CloseReason::Done, _) => {}
                        (CloseReason::Error, Some(REVOKED)) => call.fail(Error::Revoked),
                        (CloseReason::Error, Some(why)) => call.fail(Error::Rejected {
                            reason: why.to_string(),
                        }),
                        (CloseReason::Error, None) => call.fail(Error::ClosedWithError),
                    }
                }
            }
        }
    }

    /// Credit for an input stream; the return stream's is the client's to give.
    fn on_credit(&mut self, target: TargetRef<'_>, n: u32) {
        let pump = target
            .param
            .and_then(|param| self.calls.get(&target.cid)?.pumps.get(param));
        if let Some(credit) = pump.and_then(|pump| pump.credit.as_ref()) {
            credit.grant(n);
        }
    }

    fn remove_call(&mut self, cid: Uuid) -> Option<OpenedCall> {
        let call = self.calls.remove(&cid)?;
        if let Some(key) = call.key {
            self.keys.remove(&key);
        }
        self.ended.insert(cid);
        self.maybe_idle = true;
        Some(call)
    }

    /// The server sent a value beyond a flow-controlled call's credit: the call fails, and
    /// is cancelled.
    fn beyond_credit(&mut self, cid: Uuid) {
        if let Some(mut call) = self.remove_call(cid) {
            call.fail(Error::protocol("the server sent beyond the call's credit"));
            self.write(&Message::Close {
                target: call.target.call(),
                reason: CloseReason::Error,
            });
        }
    }

    async fn on_open_response(&mut self, response: OpenResponse) -> Result<(), Stop> {
        let (cid, result) = (response.cid, response.result);
        let Some(pending) = self.pending.remove(&cid) else {
            return Ok(());
        };
        // The server's input credit, if it took the call's `fc`.
        let input_window = response.flow.filter(|_| pending.open.flow.is_some());
        self.maybe_idle = true;
        let target = Target {
            endpoint: pending.open.endpoint.clone(),
            method: pending.open.method.clone(),
            cid,
            param: None,
        };
        if result != OpenResult::Success {
            let _ = pending.reply.send(OpenReply::Refused(
                Error::open_failed(result, response.why),
                pending.inputs,
            ));
            return Ok(());
        }
        let opened = OpenReply::Opened {
            flow_controlled: input_window.is_some(),
        };
        if pending.reply.send(opened).is_err() {
            // The caller gave up while the open was in flight.
            self.ended.insert(cid);
            self.write(&Message::Close {
                target,
                reason: CloseReason::Done,
            });
            return Ok(());
        }
        // The server took the key the open asked for: values travel keyed, both ways.
        let key = response.key.filter(|key| pending.open.key == Some(*key));
        if let Some(key) = key {
            self.keys.insert(key, cid);
        }
        let mut pumps = HashMap::new();
        for (place, (param, source)) in (0u32..).zip(pending.inputs) {
            let frames = ValueFrames::for_stream(&target.input(&param), key, Some(place));
            let credit = input_window.map(Credit::shared);
            let pump = InputPump::start(
                self.input_tx.clone(),
                (cid, param.clone()),
                source,
                frames,
                credit,
            );
            pumps.insert(param, pump);
        }
        self.calls.insert(
            cid,
            OpenedCall {
                target,
                values: pending.output.values,
                failure: Some(pending.output.failure),
                pumps,
                last_class: None,
                flow_controlled: input_window.is_some(),
                key,
            },
        );
        Ok(())
    }

    async fn on_command(&mut self, command: Command) -> Result<(), Stop> {
        match command {
            Command::Open {
                mut open,
                inputs,
                reply,
                output,
            } => {
                if let Some(key) = self.next_key {
                    open.key = Some(key);
                    self.next_key = key.checked_add(1).filter(|next| *next <= MAX_KEY);
                }
                let message = Message::OpenCall(open.clone());
                self.pending.insert(
                    open.cid,
                    PendingOpen {
                        open,
                        inputs,
                        reply,
                        output,
                    },
                );
                self.write(&message);
                Ok(())
            }
            Command::Cancel { cid } => {
                // A call still opening is cancelled when its answer finds no caller.
                match self.remove_call(cid) {
                    Some(call) => {
                        self.write(&Message::Close {
                            target: call.target.call(),
                            reason: CloseReason::Done,
                        });
                        Ok(())
                    }
                    None => Ok(()),
                }
            }
            Command::Credit { cid, n } => {
                if let Some(call) = self.calls.get(&cid) {
                    let target = call.target.call();
                    self.write(&Message::Credit { target, n });
                }
                Ok(())
            }
            Command::CloseAll => Err(Stop::Fail(Error::ConnectionClosed)),
        }
    }

    /// Handles an input item and every other one already waiting (up to a burst, and while
    /// there is room for their frames).
    fn on_inputs(&mut self, first: InputItem) {
        self.on_input(first);
        for _ in 1..COMMAND_BURST {
            if !self.has_room() {
                break;
            }
            match self.inputs.try_recv() {
                Ok(input) => self.on_input(input),
                Err(_) => break,
            }
        }
    }

    fn on_input(&mut self, input: InputItem) {
        let InputItem {
            cid,
            param,
            items,
            ended,
        } = input;
        let mut items = items.into_iter().peekable();
        if self.encoding == Encoding::MessagePack {
            while items.peek().is_some_and(Result::is_ok) {
                self.send_values(cid, &param, &mut items);
            }
        }
        for item in items {
            self.on_input_item(cid, &param, Some(item));
        }
        if ended {
            self.on_input_item(cid, &param, None);
        }
    }

    /// Sends the values at the front of `items` (up to a batch) on the MessagePack wire,
    /// each frame in a buffer it shares with others (`ValueFrames::encode_shared`).
    fn send_values(
        &mut self,
        cid: Uuid,
        param: &str,
        items: &mut Peekable<vec::IntoIter<Result<Dynamic, StreamError>>>,
    ) {
        let Some(pump) = self.calls.get(&cid).and_then(|call| call.pumps.get(param)) else {
            // The call or its input is gone: so are its values.
            while items.next_if(Result::is_ok).is_some() {}
            return;
        };
        let mut frames: [Bytes; INPUT_BATCH] = Default::default();
        let mut n = 0;
        while n < INPUT_BATCH {
            let Some(Ok(value)) = items.next_if(Result::is_ok) else {
                break;
            };
            frames[n] = pump.frames.encode_shared(&value);
            n += 1;
        }
        for frame in frames.into_iter().take(n) {
            self.send(Frame::Binary(frame), true);
        }
    }

    fn on_input_item(
        &mut self,
        cid: Uuid,
        param: &Arc<str>,
        item: Option<Result<Dynamic, StreamError>>,
    ) {
        let Some(call) = self.calls.get_mut(&cid) else {
            return;
        };
        if !call.pumps.contains_key(param) {
            return;
        }
        let item = match item {
            // A JSON value (MessagePack's went out in `send_values`).
            Some(Ok(value)) => {
                let message = Message::Value {
                    target: call.target.input(param),
                    value,
                };
                if self.write(&message) {
                    return;
                }
                // A value with no JSON form ends its input stream with an error.
                Some(Err(StreamError::failed("a value with no JSON form")))
            }
            item => item,
        };
        let Some(call) = self.calls.get_mut(&cid) else {
            return;
        };
        let target = call.target.input(param);
        match item {
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                call.pumps.remove(param);
                if let StreamError::Exception(exception) = error {
                    self.write(&Message::Exception {
                        target: target.clone(),
                        exception,
                    });
                }
                self.write(&Message::Close {
                    target,
                    reason: CloseReason::Error,
                });
            }
            None => {
                call.pumps.remove(param);
                self.write(&Message::Close {
                    target,
                    reason: CloseReason::Done,
                });
            }
        }
    }
}

/// Completes with an acknowledgement owed, when its timer fires; never while none is owed.
async fn ack_due(resumable: &mut Option<Resumable>) -> Option<u64> {
    match resumable {
        Some(resumable) => resumable.ack_due().await,
        None => futures::future::pending().await,
    }
}

/// Completes when the dialing of a resumed socket is over; never while there is none.
async fn redialed(
    redialing: &mut Option<BoxFuture<'static, Result<Resumed, Error>>>,
) -> Result<Resumed, Error> {
    match redialing {
        Some(dialing) => dialing.await,
        None => futures::future::pending().await,
    }
}

/// Completes when the idle socket's linger is over; never while it is not lingering.
async fn lingered(lingering: &mut Option<std::pin::Pin<Box<tokio::time::Sleep>>>) {
    match lingering {
        Some(sleep) => sleep.await,
        None => futures::future::pending().await,
    }
}
