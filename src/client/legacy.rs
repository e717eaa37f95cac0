//! The legacy streaming client (`GET /websocket`): one connection, per-endpoint message
//! streams, a connection status with listeners, and a reconnect handler.

use super::auth::AuthKeyProvider;
use super::backoff::{random_unit, ReconnectPolicy};
use super::error::Error;
use super::handshake::{Handshake, Socket};
use super::keepalive::Tick;
use super::link::{Link, LinkEvent};
use super::transport::Incoming;
use super::ClientConfig;
use crate::protocol::report;
use crate::protocol::{unwrap_auth_value, LEGACY_WEBSOCKET_PATH};
use crate::protocol::{Dynamic, Encoding, Frame, LegacyMessage, Wire};
use crate::sync::lock;
use crate::sync::Mutex;
use futures::Stream;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The state of the legacy connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// The socket is open; the server has not answered yet.
    Connecting,
    /// The server answered; messages flow.
    Connected,
    /// No socket.
    Disconnected,
    /// A [`ReconnectHandler`] will try again soon.
    WaitingToRetry,
}

type Listener = Arc<dyn Fn(ConnectionStatus) + Send + Sync>;

/// What the client hands its socket task.
enum Outbound {
    Frame(Frame),
    /// Send what is queued, close the socket and end.
    Close,
}

/// A client of a server's legacy streaming endpoints.
#[derive(Clone)]
pub struct LegacyClient {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    config: ClientConfig,
    handshake: Handshake,
    auth: Option<Arc<dyn AuthKeyProvider>>,
    status: watch::Sender<ConnectionStatus>,
    listeners: Mutex<Vec<(u64, Listener)>>,
    next_listener: AtomicU64,
    outgoing: Mutex<Option<mpsc::UnboundedSender<Outbound>>>,
    endpoints: Mutex<HashMap<String, Inbox>>,
}

/// Messages one endpoint may have waiting to be taken before the client stops reading its
/// socket (as the method client does per call).
const INBOX: usize = 1024;

/// Messages of one endpoint, buffered until its stream is taken.
struct Inbox {
    tx: mpsc::Sender<Result<Dynamic, Error>>,
    rx: Option<mpsc::Receiver<Result<Dynamic, Error>>>,
}

impl Inbox {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel(INBOX);
        Inbox { tx, rx: Some(rx) }
    }
}

impl LegacyClient {
    /// A client of the server at `url` (`http(s)://` or `ws(s)://`; the path is replaced by
    /// `/websocket`), with optional credentials.
    pub fn new(url: &str, auth: Option<Arc<dyn AuthKeyProvider>>) -> Result<Self, Error> {
        Self::with_config(url, auth, ClientConfig::default())
    }

    /// The same, with settings: all of them apply, as they do to [`Client`](super::Client)
    /// (connect timeout, ping interval, idle timeout, message size, roots).
    pub fn with_config(
        url: &str,
        auth: Option<Arc<dyn AuthKeyProvider>>,
        config: ClientConfig,
    ) -> Result<Self, Error> {
        let base = super::url::websocket_url(url)?;
        super::handshake::check_scheme(&base)?;
        let url = base.replace(crate::protocol::WEBSOCKET_PATH, LEGACY_WEBSOCKET_PATH);
        let handshake = Handshake {
            cookie: None,
            tls: super::handshake::tls_settings(&config.root_certificates)?,
        };
        Ok(LegacyClient {
            inner: Arc::new(Inner {
                url,
                config,
                handshake,
                auth,
                status: watch::channel(ConnectionStatus::Disconnected).0,
                listeners: Mutex::new(Vec::new()),
                next_listener: AtomicU64::new(0),
                outgoing: Mutex::new(None),
                endpoints: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The connection's status now.
    pub fn status(&self) -> ConnectionStatus {
        *self.inner.status.borrow()
    }

    /// A receiver that sees every status change.
    pub fn status_changes(&self) -> watch::Receiver<ConnectionStatus> {
        self.inner.status.subscribe()
    }

    /// Calls `listener` on every status change; returns an id for
    /// [`LegacyClient::remove_status_listener`].
    pub fn add_status_listener(
        &self,
        listener: impl Fn(ConnectionStatus) + Send + Sync + 'static,
    ) -> u64 {
        let id = self.inner.next_listener.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.listeners).push((id, Arc::new(listener)));
        id
    }

    /// Stops calling a listener.
    pub fn remove_status_listener(&self, id: u64) {
        lock(&self.inner.listeners).retain(|(i, _)| *i != id);
    }

    /// Opens the connection: connects with the current credentials (`?auth=<key>`), sends
    /// `ping`, and waits for the server's first frame within the connect timeout. The
    /// status goes `connecting`, then `connected`; on failure, `disconnected`.
    pub async fn open_streaming_connection(&self) -> Result<(), Error> {
        self.close_streaming_connection().await;
        let mut url = self.inner.url.clone();
        if let Some(key) = self.current_key().await.and_then(|v| unwrap_auth_value(&v)) {
            url = format!("{url}?auth={}", percent_encode(&key));
        }
        self.inner.set_status(ConnectionStatus::Connecting);
        let result = self.connect(&url).await;
        if result.is_err() {
            self.inner.set_status(ConnectionStatus::Disconnected);
        }
        result
    }

    async fn connect(&self, url: &str) -> Result<(), Error> {
        let inner = &self.inner;
        let (socket, first) = inner
            .handshake
            .connect(url, &inner.config, inner.frame(&LegacyMessage::Ping)?)
            .await?;
        let (tx, rx) = mpsc::unbounded_channel::<Outbound>();
        *lock(&inner.outgoing) = Some(tx.clone());
        inner.set_status(ConnectionStatus::Connected);
        inner.deliver(first).await;
        tokio::spawn(inner.clone().run(socket, rx, tx));
        Ok(())
    }

    /// Closes the connection; the status becomes `disconnected`.
    pub async fn close_streaming_connection(&self) {
        let tx = lock(&self.inner.outgoing).take();
        if let Some(tx) = tx {
            let _ = tx.send(Outbound::Close);
            self.inner.end_streams();
            self.inner.set_status(ConnectionStatus::Disconnected);
        }
    }

    /// Sends the current credentials on the open connection (`auth` command), so that
    /// endpoints that need them start accepting this session's messages.
    pub async fn update_streaming_connection_authentication_key(&self) -> Result<(), Error> {
        let key = self.current_key().await;
        self.inner.send(LegacyMessage::Auth { key })
    }

    /// A handle on one endpoint.
    pub fn endpoint(&self, name: &str) -> LegacyEndpointRef {
        LegacyEndpointRef {
            name: name.to_string(),
            client: self.clone(),
        }
    }

    async fn current_key(&self) -> Option<String> {
        match &self.inner.auth {
            Some(provider) => provider.auth_header_value().await,
            None => None,
        }
    }
}

impl Inner {
    fn set_status(&self, status: ConnectionStatus) {
        if self.status.send_replace(status) == status {
            return;
        }
        let listeners: Vec<Listener> = lock(&self.listeners)
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for listener in listeners {
            listener(status);
        }
    }

    fn send(&self, message: LegacyMessage) -> Result<(), Error> {
        let frame = self.frame(&message)?;
        let outgoing = lock(&self.outgoing);
        let tx = outgoing.as_ref().ok_or(Error::ConnectionClosed)?;
        tx.send(Outbound::Frame(frame))
            .map_err(|_| Error::ConnectionClosed)
    }

    /// One frame of `message` on the client's wire.
    fn frame(&self, message: &LegacyMessage) -> Result<Frame, Error> {
        message
            .to_frame(self.config.encoding)
            .map_err(|e| Error::protocol_from("a message with no JSON form", e))
    }

    /// The socket task: reads frames into the endpoints' inboxes, writes what the client
    /// sends, and keeps the socket alive, until the socket or the client ends it.
    async fn run(
        self: Arc<Self>,
        socket: Socket,
        mut rx: mpsc::UnboundedReceiver<Outbound>,
        tx: mpsc::UnboundedSender<Outbound>,
    ) {
        let mut link = Link::new(socket, &self.config);
        let close_within = self.config.connect_timeout;
        loop {
            tokio::select! {
                event = link.next_event() => match event {
                    LinkEvent::Frame(Some(Ok(Incoming::Close(_)))) => {
                        // The close's echo leaves before the socket goes.
                        link.close(close_within).await;
                        break;
                    }
                    LinkEvent::Frame(Some(Ok(frame))) => {
                        link.frame_seen();
                        self.deliver(frame).await;
                    }
                    LinkEvent::Frame(_) | LinkEvent::Sent(Err(_)) => break,
                    LinkEvent::Sent(Ok(())) => {}
                    LinkEvent::Tick(Tick::Ping) => match self.frame(&LegacyMessage::Ping) {
                        Ok(ping) => link.send(&ping),
                        Err(_) => break,
                    },
                    LinkEvent::Tick(Tick::Idle) => {
                        log::debug!("legacy client: nothing from the server within the idle timeout");
                        break;
                    }
                },
                out = rx.recv() => match out {
                    Some(Outbound::Frame(frame)) => link.send(&frame),
                    Some(Outbound::Close) | None => {
                        link.close(close_within).await;
                        break;
                    }
                },
            }
        }
        // Only the socket this task owns may mark the client disconnected.
        let mut outgoing = lock(&self.outgoing);
        if outgoing.as_ref().is_some_and(|t| t.same_channel(&tx)) {
            *outgoing = None;
            drop(outgoing);
            self.end_streams();
            self.set_status(ConnectionStatus::Disconnected);
        }
    }

    /// The connection is gone: every endpoint stream an application holds gets
    /// `ConnectionClosed` after the messages it had, and then ends (take the stream again
    /// for the next connection's messages). Messages of a stream not taken yet stay, with
    /// the error after them.
    fn end_streams(&self) {
        for inbox in lock(&self.endpoints).values_mut() {
            // A full inbox is an application that does not read: it ends all the same.
            let _ = inbox.tx.try_send(Err(Error::ConnectionClosed));
            if inbox.rx.is_none() {
                *inbox = Inbox::new();
            }
        }
    }

    /// Hands an endpoint's message to its inbox, waiting while the inbox is full: a client
    /// whose application does not take its messages stops reading its socket, and the
    /// server, not this process, decides what a slow reader may cost.
    async fn deliver(&self, frame: Incoming) {
        let decoded = match (frame, self.config.encoding) {
            (Incoming::Binary(bytes), Encoding::MessagePack) => LegacyMessage::decode(&bytes),
            (Incoming::Text(text), Encoding::Json) => LegacyMessage::decode_json_from_server(&text),
            _ => return,
        };
        match decoded {
            Ok(LegacyMessage::Endpoint { endpoint, object }) => {
                let inbox = lock(&self.endpoints)
                    .entry(endpoint)
                    .or_insert_with(Inbox::new)
                    .tx
                    .clone();
                // A stream taken and then dropped: nobody wants the message.
                let _ = inbox.send(Ok(object)).await;
            }
            Ok(_) => {}
            Err(e) => log::warn!("legacy client: malformed frame: {}", report(&e)),
        }
    }
}

/// One endpoint of a [`LegacyClient`].
#[derive(Clone)]
pub struct LegacyEndpointRef {
    name: String,
    client: LegacyClient,
}

impl LegacyEndpointRef {
    /// Sends a message to the endpoint.
    pub fn send<T: Wire>(&self, message: &T) -> Result<(), Error> {
        let object = Dynamic::new(message)
            .map_err(|e| Error::protocol_from("cannot encode the message", e))?;
        self.client.inner.send(LegacyMessage::Endpoint {
            endpoint: self.name.clone(),
            object,
        })
    }

    /// The endpoint's messages, from the first one not yet taken. Taking the stream again
    /// replaces the previous one (which then ends), as Serverpod's `resetStream` does.
    pub fn stream(&self) -> LegacyMessages {
        let mut endpoints = lock(&self.client.inner.endpoints);
        let inbox = endpoints
            .entry(self.name.clone())
            .or_insert_with(Inbox::new);
        let rx = match inbox.rx.take() {
            Some(rx) => rx,
            None => {
                *inbox = Inbox::new();
                inbox.rx.take().unwrap_or_else(|| mpsc::channel(1).1)
            }
        };
        LegacyMessages { rx }
    }
}

/// The messages of one legacy endpoint. When the connection is gone the stream yields
/// [`Error::ConnectionClosed`] after the messages it had, and ends; take the endpoint's
/// stream again (after reconnecting) for what comes next.
pub struct LegacyMessages {
    rx: mpsc::Receiver<Result<Dynamic, Error>>,
}

impl Stream for LegacyMessages {
    type Item = Result<Dynamic, Error>;
    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Dynamic, Error>>> {
        self.rx.poll_recv(cx)
    }
}

/// Keeps a [`LegacyClient`] connected: whenever it is `disconnected`, waits (status
/// `waiting_to_retry`, reporting the whole seconds left each second) and opens it again,
/// with exponential backoff and jitter. Stops when dropped.
pub struct ReconnectHandler {
    task: tokio::task::JoinHandle<()>,
}

impl ReconnectHandler {
    /// Starts watching `client`; `on_countdown` hears the seconds until the next try.
    pub fn start(
        client: LegacyClient,
        policy: ReconnectPolicy,
        on_countdown: impl Fn(u64) + Send + Sync + 'static,
    ) -> Self {
        let task = tokio::spawn(async move {
            let mut changes = client.status_changes();
            let mut attempt = 0u32;
            loop {
                if *changes.borrow_and_update() != ConnectionStatus::Disconnected {
                    if changes.changed().await.is_err() {
                        return;
                    }
                    continue;
                }
                let wait = policy.delay(attempt, random_unit());
                client.inner.set_status(ConnectionStatus::WaitingToRetry);
                let deadline = tokio::time::Instant::now() + wait;
                loop {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    on_countdown(left.as_secs_f64().ceil() as u64);
                    tokio::time::sleep(left.min(Duration::from_secs(1))).await;
                }
                match client.open_streaming_connection().await {
                    Ok(()) => attempt = 0,
                    Err(e) => {
                        log::debug!("legacy reconnect failed: {e}");
                        attempt = attempt.saturating_add(1);
                    }
                }
            }
        });
        ReconnectHandler { task }
    }
}

impl Drop for ReconnectHandler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl std::fmt::Debug for LegacyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyClient")
            .field("url", &self.inner.url)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LegacyEndpointRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyEndpointRef")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LegacyMessages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyMessages").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ReconnectHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectHandler")
            .field("running", &!self.task.is_finished())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(percent_encode("user:1:t:a,b"), "user%3A1%3At%3Aa%2Cb");
    }
}
