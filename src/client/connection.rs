//! The client's socket task: one per open WebSocket, owner of every call on it.
//!
//! All state of a connection (pending opens, open calls, their input pumps) lives in this
//! one task, which reacts to inbound frames, to commands from calls and to its timers.
//! Nothing else touches the socket. When the last call ends the task closes the socket and
//! refuses further commands; an open that arrives too late is handed back unanswered, and
//! its caller connects afresh.

use super::error::Error;
use super::ClientConfig;
use crate::error::StreamError;
use crate::protocol::{CloseReason, Dynamic, Message, OpenCall, OpenResult, Target};
use crate::recent::RecentIds;
use futures::stream::BoxStream;
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// An input stream, erased to wrapped values.
pub(crate) type InputSource = BoxStream<'static, Result<Dynamic, StreamError>>;

/// Values a call's consumer may leave unread before the socket task waits for it (and so
/// stops reading the socket: a slow consumer bounds the client's memory).
pub(crate) const CALL_BUFFER: usize = 256;

/// How the socket task reaches one call: its values, in a bounded queue, and how it ended,
/// reported once the values are read (a failure is never lost to a full queue).
pub(crate) struct CallOutput {
    pub(crate) values: mpsc::Sender<Dynamic>,
    pub(crate) failure: oneshot::Sender<Error>,
}

/// The answer to an open.
pub(crate) enum OpenReply {
    /// The call is open.
    Opened,
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
        output: CallOutput,
    },
    Input {
        cid: Uuid,
        param: Arc<str>,
        item: Option<Result<Dynamic, StreamError>>,
    },
    Cancel {
        cid: Uuid,
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
pub(crate) async fn connect(url: &str, config: &ClientConfig) -> Result<ConnectionHandle, Error> {
    let (mut socket, _) = timeout(config.connect_timeout, connect_async(url))
        .await
        .map_err(|_| Error::ConnectTimedOut)?
        .map_err(|e| Error::ConnectFailed(e.to_string()))?;
    socket
        .send(WsMessage::Binary(Message::Ping.encode()))
        .await
        .map_err(|e| Error::ConnectFailed(e.to_string()))?;
    let first = match timeout(config.connect_timeout, socket.next()).await {
        Err(_) => {
            let _ = socket.close(None).await;
            return Err(Error::ConnectTimedOut);
        }
        Ok(None) => return Err(Error::ConnectFailed("closed during handshake".into())),
        Ok(Some(Err(e))) => return Err(Error::ConnectFailed(e.to_string())),
        Ok(Some(Ok(frame))) => frame,
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let task = SocketTask {
        socket,
        commands: rx,
        self_tx: tx.downgrade(),
        pending: HashMap::new(),
        calls: HashMap::new(),
        ended: RecentIds::new(256),
        config: config.clone(),
        maybe_idle: false,
    };
    tokio::spawn(task.run(first));
    Ok(ConnectionHandle { commands: tx })
}

struct PendingOpen {
    open: OpenCall,
    inputs: Vec<(Arc<str>, InputSource)>,
    reply: oneshot::Sender<OpenReply>,
    output: CallOutput,
}

struct OpenedCall {
    target: Target,
    values: mpsc::Sender<Dynamic>,
    failure: Option<oneshot::Sender<Error>>,
    pumps: HashMap<Arc<str>, JoinHandle<()>>,
}

impl OpenedCall {
    fn fail(&mut self, error: Error) {
        if let Some(failure) = self.failure.take() {
            let _ = failure.send(error);
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
    socket: Socket,
    commands: mpsc::UnboundedReceiver<Command>,
    self_tx: mpsc::WeakUnboundedSender<Command>,
    pending: HashMap<Uuid, PendingOpen>,
    calls: HashMap<Uuid, OpenedCall>,
    ended: RecentIds,
    config: ClientConfig,
    /// A call or an open just ended: check whether the socket is still needed.
    maybe_idle: bool,
}

/// Why the task stops.
enum Stop {
    /// No calls left: close quietly.
    Idle,
    /// Fail every call with this error.
    Fail(Error),
}

impl SocketTask {
    async fn run(mut self, first: WsMessage) {
        let mut idle_deadline = Instant::now() + self.config.idle_timeout;
        let mut next_ping = Instant::now() + self.config.ping_interval;
        let mut stop = self.on_frame(first).await.err();
        while stop.is_none() {
            stop = tokio::select! {
                frame = self.socket.next() => match frame {
                    Some(Ok(frame)) => {
                        idle_deadline = Instant::now() + self.config.idle_timeout;
                        self.on_frame(frame).await.err()
                    }
                    Some(Err(e)) => {
                        log::debug!("method stream socket error: {e}");
                        Some(Stop::Fail(Error::ConnectionClosed))
                    }
                    None => Some(Stop::Fail(Error::ConnectionClosed)),
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command).await.err(),
                    None => Some(Stop::Idle),
                },
                _ = sleep_until(next_ping) => {
                    next_ping = Instant::now() + self.config.ping_interval;
                    self.write(&Message::Ping).await.err()
                }
                _ = sleep_until(idle_deadline) => Some(Stop::Fail(Error::IdleTimeout)),
            };
            if stop.is_none() && self.maybe_idle {
                self.maybe_idle = false;
                if self.calls.is_empty() && self.pending.is_empty() {
                    stop = Some(Stop::Idle);
                }
            }
        }
        self.shut_down(stop.unwrap_or(Stop::Idle)).await;
    }

    async fn shut_down(mut self, stop: Stop) {
        // Refuse new commands; opens that were queued but never sent go back unanswered,
        // so their callers retry on a fresh connection.
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            if let Command::Open { reply, inputs, .. } = command {
                let _ = reply.send(OpenReply::Retry(inputs));
            }
        }
        let error = match stop {
            Stop::Idle => Error::ConnectionClosed,
            Stop::Fail(e) => e,
        };
        for (_, pending) in self.pending.drain() {
            let _ = pending.reply.send(OpenReply::Failed(error.clone()));
        }
        for (_, mut call) in self.calls.drain() {
            call.fail(error.clone());
        }
        let _ = self.socket.close(None).await;
    }

    async fn write(&mut self, message: &Message) -> Result<(), Stop> {
        self.socket
            .send(WsMessage::Binary(message.encode()))
            .await
            .map_err(|_| Stop::Fail(Error::ConnectionClosed))
    }

    async fn on_frame(&mut self, frame: WsMessage) -> Result<(), Stop> {
        let bytes = match frame {
            WsMessage::Binary(bytes) => bytes,
            WsMessage::Close(_) => return Err(Stop::Fail(Error::ConnectionClosed)),
            WsMessage::Text(_) => {
                let request = "text frames are not supported".to_string();
                let _ = self
                    .write(&Message::BadRequest {
                        request: request.clone(),
                    })
                    .await;
                return Err(Stop::Fail(Error::Protocol(request)));
            }
            _ => return Ok(()),
        };
        let message = match Message::decode(&bytes) {
            Ok(m) => m,
            Err(e) => {
                let _ = self
                    .write(&Message::BadRequest {
                        request: e.to_string(),
                    })
                    .await;
                return Err(Stop::Fail(Error::Protocol(e.to_string())));
            }
        };
        match message {
            Message::Ping => self.write(&Message::Pong).await?,
            Message::Pong | Message::OpenCall(_) => {}
            Message::OpenResponse(r) => self.on_open_response(r.cid, r.result).await?,
            Message::Value { target, value } => match self.calls.get(&target.cid) {
                Some(call) => {
                    // Waits while the consumer is behind: the socket is not read meanwhile.
                    let _ = call.values.send(value).await;
                }
                None if self.ended.contains(&target.cid) => {}
                None => {
                    self.write(&Message::Close {
                        target: target.call(),
                        reason: CloseReason::Error,
                    })
                    .await?
                }
            },
            Message::Exception { target, exception } => {
                if let Some(mut call) = self.remove_call(target.cid) {
                    call.fail(Error::ServerException(exception));
                }
            }
            Message::Close { target, reason } => match &target.param {
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
                        if reason == CloseReason::Error {
                            call.fail(Error::ClosedWithError);
                        }
                    }
                }
            },
            Message::BadRequest { request } => {
                return Err(Stop::Fail(Error::Protocol(format!(
                    "server reported a bad request: {request}"
                ))))
            }
        }
        Ok(())
    }

    fn remove_call(&mut self, cid: Uuid) -> Option<OpenedCall> {
        let call = self.calls.remove(&cid)?;
        self.ended.insert(cid);
        self.maybe_idle = true;
        Some(call)
    }

    async fn on_open_response(&mut self, cid: Uuid, result: OpenResult) -> Result<(), Stop> {
        let Some(pending) = self.pending.remove(&cid) else {
            return Ok(());
        };
        self.maybe_idle = true;
        let target = Target {
            endpoint: pending.open.endpoint.clone(),
            method: pending.open.method.clone(),
            cid,
            param: None,
        };
        if result != OpenResult::Success {
            let _ = pending.reply.send(OpenReply::Refused(
                Error::open_failed(result),
                pending.inputs,
            ));
            return Ok(());
        }
        if pending.reply.send(OpenReply::Opened).is_err() {
            // The caller gave up while the open was in flight.
            self.ended.insert(cid);
            return self
                .write(&Message::Close {
                    target,
                    reason: CloseReason::Done,
                })
                .await;
        }
        let mut pumps = HashMap::new();
        for (param, source) in pending.inputs {
            pumps.insert(
                param.clone(),
                tokio::spawn(pump(self.self_tx.clone(), cid, param, source)),
            );
        }
        self.calls.insert(
            cid,
            OpenedCall {
                target,
                values: pending.output.values,
                failure: Some(pending.output.failure),
                pumps,
            },
        );
        Ok(())
    }

    async fn on_command(&mut self, command: Command) -> Result<(), Stop> {
        match command {
            Command::Open {
                open,
                inputs,
                reply,
                output,
            } => {
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
                self.write(&message).await
            }
            Command::Input { cid, param, item } => {
                let Some(call) = self.calls.get_mut(&cid) else {
                    return Ok(());
                };
                if !call.pumps.contains_key(&param) {
                    return Ok(());
                }
                let target = call.target.input(&param);
                match item {
                    Some(Ok(value)) => self.write(&Message::Value { target, value }).await,
                    Some(Err(error)) => {
                        call.pumps.remove(&param);
                        if let StreamError::Exception(exception) = error {
                            self.write(&Message::Exception {
                                target: target.clone(),
                                exception,
                            })
                            .await?;
                        }
                        self.write(&Message::Close {
                            target,
                            reason: CloseReason::Error,
                        })
                        .await
                    }
                    None => {
                        call.pumps.remove(&param);
                        self.write(&Message::Close {
                            target,
                            reason: CloseReason::Done,
                        })
                        .await
                    }
                }
            }
            Command::Cancel { cid } => {
                // A call still opening is cancelled when its answer finds no caller.
                match self.remove_call(cid) {
                    Some(call) => {
                        self.write(&Message::Close {
                            target: call.target.call(),
                            reason: CloseReason::Done,
                        })
                        .await
                    }
                    None => Ok(()),
                }
            }
            Command::CloseAll => Err(Stop::Fail(Error::ConnectionClosed)),
        }
    }
}

/// Feeds one input stream to the socket task until it ends, fails, or is aborted.
async fn pump(
    tx: mpsc::WeakUnboundedSender<Command>,
    cid: Uuid,
    param: Arc<str>,
    mut source: InputSource,
) {
    loop {
        let item = source.next().await;
        let last = !matches!(item, Some(Ok(_)));
        let Some(tx) = tx.upgrade() else { return };
        let sent = tx.send(Command::Input {
            cid,
            param: param.clone(),
            item,
        });
        if sent.is_err() || last {
            return;
        }
    }
}
