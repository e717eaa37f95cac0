//! The client's socket slot: none, being opened (one attempt shared by concurrent first
//! calls, in a task of its own), or open; and opening a call on it, with the one retry
//! after a refreshed key (docs/PROTOCOL.md §5).

use super::call::OpenCallHandle;
use super::connection::{self, CallOutput, Command, ConnectionHandle, OpenReply};
use super::dialer::Dialer;
use super::values;
use super::{Error, Inputs};
use crate::flow::GrantBack;
use crate::protocol::registry::Registry;
use crate::protocol::{OpenCall, OpenResult, AUTH_MODE_COOKIE, MAX_CREDIT};
use crate::sync::{lock, Mutex};
use futures::future::{BoxFuture, Shared};
use futures::FutureExt;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// What every clone of a [`Client`](super::Client) shares.
pub(super) struct ClientInner {
    /// The URL, settings and credentials of every socket.
    pub(super) dialer: Arc<Dialer>,
    pub(super) connection: Mutex<Slot>,
    /// The classes this client knows (its dynamic streams accept them).
    pub(super) registry: Arc<Registry>,
}

impl ClientInner {
    /// The live socket, opened if there is none. The attempt runs in a task of its own and
    /// concurrent callers share it, so that it progresses even when the caller that started
    /// it is not being polled (a lazily opened stream waiting in a `select!`).
    pub(super) async fn connection(&self) -> Result<ConnectionHandle, Error> {
        let attempt = {
            let mut slot = lock(&self.connection);
            match &*slot {
                Slot::Ready(conn) if !conn.is_closed() => return Ok(conn.clone()),
                Slot::Connecting(attempt) => attempt.clone(),
                _ => {
                    let dialer = self.dialer.clone();
                    let task = tokio::spawn(async move { connection::connect(&dialer).await });
                    let attempt = async move {
                        task.await.unwrap_or_else(|e| {
                            Err(Error::connect_failed_from("the connecting task failed", e))
                        })
                    }
                    .boxed()
                    .shared();
                    *slot = Slot::Connecting(attempt.clone());
                    attempt
                }
            }
        };
        let result = attempt.clone().await;
        let mut slot = lock(&self.connection);
        // Only the attempt still in the slot may settle it.
        if matches!(&*slot, Slot::Connecting(current) if current.ptr_eq(&attempt)) {
            *slot = match &result {
                Ok(conn) => Slot::Ready(conn.clone()),
                Err(_) => Slot::Empty,
            };
        }
        drop(slot);
        result
    }

    /// Opens a call; on `authenticationFailed`, refreshes the key once if the provider
    /// can, and tries once more with a new `cid` (docs/PROTOCOL.md §5).
    pub(super) async fn open(
        &self,
        endpoint: Arc<str>,
        method: Arc<str>,
        args: Vec<u8>,
        inputs: Inputs,
    ) -> Result<OpenCallHandle, Error> {
        let call = PendingCall {
            endpoint,
            method,
            args,
        };
        let auth = match &self.dialer.auth {
            Some(provider) => provider.auth_header_value().await,
            None => None,
        };
        match self.open_once(&call, auth, inputs).await {
            Err((
                error @ Error::OpenFailed {
                    response: OpenResult::AuthenticationFailed,
                    ..
                },
                Some(inputs),
            )) => {
                let Some(provider) = self.dialer.auth.as_ref().filter(|p| p.can_refresh()) else {
                    return Err(error);
                };
                if !provider.refresh().await {
                    return Err(error);
                }
                let auth = provider.auth_header_value().await;
                self.open_once(&call, auth, inputs)
                    .await
                    .map_err(|(e, _)| e)
            }
            result => result.map_err(|(e, _)| e),
        }
    }

    /// One open, on the live socket. A socket may close between being handed out and
    /// receiving the open; the open is then returned unsent and is tried on a fresh socket.
    /// A refused open returns its inputs, so that it can be tried again.
    async fn open_once(
        &self,
        call: &PendingCall,
        auth: Option<String>,
        mut inputs: Inputs,
    ) -> Result<OpenCallHandle, (Error, Option<Inputs>)> {
        for _ in 0..3 {
            let connection = self.connection().await.map_err(|e| (e, None))?;
            let cid = Uuid::new_v4();
            let (reply_tx, reply_rx) = oneshot::channel();
            // With flow control the server sends no more than the window ahead of the
            // consumer, so the values always fit; without it, this bound stops the socket:
            // half of it queued, and at most as many in the batch the consumer is reading.
            let window = self.dialer.config.window.map(|w| w.clamp(1, MAX_CREDIT));
            let buffer = window.map_or(connection::CALL_BUFFER / 2, |w| w as usize);
            let (values_tx, values) = values::channel(buffer);
            let (failure_tx, failure) = oneshot::channel();
            let open = OpenCall {
                endpoint: call.endpoint.clone(),
                method: call.method.clone(),
                cid,
                args: call.args.clone(),
                inputs: inputs.streams.iter().map(|(n, _)| n.to_string()).collect(),
                auth: auth.clone(),
                auth_mode: (auth.is_none() && self.dialer.handshake.cookie.is_some())
                    .then(|| AUTH_MODE_COOKIE.to_string()),
                flow: window,
                // The socket task gives the open its key, if the connection uses them.
                key: None,
            };
            let command = Command::Open {
                open,
                inputs: std::mem::take(&mut inputs.streams),
                reply: reply_tx,
                output: Box::new(CallOutput {
                    values: values_tx,
                    failure: failure_tx,
                }),
            };
            if let Err(mpsc::error::SendError(Command::Open { inputs: back, .. })) =
                connection.commands.send(command)
            {
                inputs.streams = back;
                continue;
            }
            match reply_rx.await {
                Ok(OpenReply::Opened { flow_controlled }) => {
                    return Ok(OpenCallHandle {
                        cid,
                        values,
                        failure,
                        connection,
                        finished: false,
                        // A server that does not know `fc` answers without it: then
                        // nothing is granted back.
                        grant_back: window.filter(|_| flow_controlled).map(GrantBack::new),
                    });
                }
                Ok(OpenReply::Failed(e)) => return Err((e, None)),
                Ok(OpenReply::Refused(e, back)) => return Err((e, Some(Inputs { streams: back }))),
                Ok(OpenReply::Retry(back)) => inputs.streams = back,
                Err(_) => return Err((Error::ConnectionClosed, None)),
            }
        }
        Err((Error::ConnectionClosed, None))
    }
}

/// The client's socket: none, being opened, or open.
pub(super) enum Slot {
    Empty,
    Connecting(Shared<BoxFuture<'static, Result<ConnectionHandle, Error>>>),
    Ready(ConnectionHandle),
}

/// What an open needs besides its inputs and credentials.
struct PendingCall {
    endpoint: Arc<str>,
    method: Arc<str>,
    args: Vec<u8>,
}
