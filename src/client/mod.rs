//! The Rust client: calls streaming methods over one shared WebSocket.
//!
//! The socket opens on the first call (concurrent first calls share one attempt), is
//! checked with a `ping` that must be answered within the connect timeout, stays alive with
//! a `ping` every 20 s, fails every call after 40 s without any frame, and closes once no
//! call has been left for `ClientConfig::linger` (1 s by default: the next call reuses it). It runs in any tokio runtime; its futures and streams are `Send`.

mod auth;
mod call;
mod connection;
mod error;
mod handshake;
mod keepalive;
mod legacy;
mod outgoing;
mod pump;

pub use auth::{AuthKeyProvider, RefreshingAuthKey, StaticAuthKey};
pub use call::CallStream;
pub use error::Error;
pub use legacy::{
    ConnectionStatus, LegacyClient, LegacyEndpointRef, LegacyMessages, ReconnectHandler,
    ReconnectPolicy,
};

use crate::error::StreamError;
use crate::flow::GrantBack;
use crate::protocol::registry::Registry;
use crate::protocol::{Dynamic, OpenCall, OpenResult, Wire, AUTH_MODE_COOKIE, MAX_CREDIT};
use crate::protocol::{Encoding, WEBSOCKET_PATH};
use call::OpenCallHandle;
use connection::{CallOutput, Command, ConnectionHandle, InputSource, OpenReply};
use futures::future::{BoxFuture, Shared};
use futures::{FutureExt, Stream, StreamExt};
use serde::Serialize;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// A frame of the protocol as tungstenite writes it.
fn ws_frame(frame: crate::protocol::Frame) -> tokio_tungstenite::tungstenite::Message {
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    match frame {
        crate::protocol::Frame::Binary(bytes) => WsMessage::Binary(bytes.into()),
        crate::protocol::Frame::Text(text) => WsMessage::Text(text),
    }
}

/// Client settings. Build with [`ClientConfig::default`] and change what you need, with the
/// setters of the same names: `ClientConfig::default().idle_timeout(Duration::from_secs(60))`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Time allowed to open the socket, and then for the first frame after it. Default 5 s.
    pub connect_timeout: Duration,
    /// Interval of the client's `ping`. Default 20 s.
    pub ping_interval: Duration,
    /// Time without any frame after which every call fails. Default 40 s.
    pub idle_timeout: Duration,
    /// Largest message the client accepts from the server; a larger one fails every call on
    /// the socket with [`Error::Protocol`] and closes it. Default 16 MiB: far above any sane
    /// stream value (the server's own default for what clients send is 1 MiB), small enough
    /// that a broken or hostile server cannot make the client hold much per value.
    pub max_message_size: usize,
    /// Roots to trust for `wss://` besides Mozilla's, as DER certificates: a private CA,
    /// or a self-signed server. Default none. (`wss://` needs the `tls` feature; without
    /// it there is nothing to trust them for.)
    pub root_certificates: Vec<Vec<u8>>,
    /// The wire: MessagePack in binary frames (default), or Serverpod's JSON in text
    /// frames, as Serverpod's own Dart client speaks it.
    pub encoding: Encoding,
    /// Per-call flow control (`docs/PROTOCOL.md` §10): the values the client
    /// grants the server on a call's return stream before the consumer takes any (`fc`),
    /// granted back in batches of half of it as the consumer takes them. A consumer that
    /// stops polling one call then stops that call alone, while the socket and every other
    /// call go on; a server that grants input credit in turn gets each input stream pulled
    /// only as far as it allows. `None` turns it off: every call then shares one bound,
    /// and a stalled consumer stops the socket. Default `Some(1024)`, from
    /// `benches/echo.rs` (`flow_control`): on loopback the echo with 1,024 runs as fast as
    /// without flow control (0.97–1.29 of it), with 256 at 0.89–1.21 and with 64 at about
    /// 0.6, because half a window must cover a grant's round trip at full speed. A stalled
    /// call then holds at most 1,024 of its values in the client. Taken within
    /// 1..=[`MAX_CREDIT`].
    pub window: Option<u32>,
    /// How long the socket stays open after its last call ends, for the next call to use.
    /// Default 1 s: request-style calls made one after another (a click, then another)
    /// share one socket instead of paying a WebSocket handshake each (200 sequential calls
    /// took 4× as long with a new socket each), and an idle socket costs the server one
    /// connection for a second. Zero closes it at once, as Serverpod's client does.
    pub linger: Duration,
}

crate::setters::setters!(ClientConfig {
    connect_timeout: Duration,
    ping_interval: Duration,
    idle_timeout: Duration,
    max_message_size: usize,
    root_certificates: Vec<Vec<u8>>,
    encoding: Encoding,
    window: Option<u32>,
    linger: Duration,
});

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(40),
            max_message_size: 16 << 20,
            root_certificates: Vec::new(),
            encoding: Encoding::MessagePack,
            window: Some(1024),
            linger: Duration::from_secs(1),
        }
    }
}

/// The input streams of one call, by parameter name.
///
/// ```
/// use futures::stream;
/// use streampod::client::Inputs;
/// let inputs = Inputs::new().values("stream", stream::iter(vec![1i64, 2, 3]));
/// ```
#[derive(Default)]
pub struct Inputs {
    streams: Vec<(Arc<str>, InputSource)>,
}

impl Inputs {
    /// No input streams.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an input stream that may fail: an `Err` ends it with an error (a
    /// [`StreamError::Exception`] reaches the method as that value).
    pub fn stream<T, S>(mut self, name: &str, stream: S) -> Self
    where
        T: Wire,
        S: Stream<Item = Result<T, StreamError>> + Send + 'static,
    {
        let source = stream
            .map(|item| item.and_then(|v| Dynamic::new(&v).map_err(StreamError::failed)))
            .boxed();
        self.streams.push((Arc::from(name), source));
        self
    }

    /// Adds an input stream of plain values.
    pub fn values<T, S>(self, name: &str, stream: S) -> Self
    where
        T: Wire,
        S: Stream<Item = T> + Send + 'static,
    {
        self.stream(name, stream.map(Ok))
    }
}

/// A client of one streampod server.
///
/// ```no_run
/// # async fn demo() -> Result<(), streampod::client::Error> {
/// use futures::{stream, StreamExt};
/// use streampod::client::{Client, Inputs};
/// use streampod::NoArgs;
///
/// let client = Client::new("http://localhost:8080")?;
/// let inputs = Inputs::new().values("stream", stream::iter(vec![1i64, 2, 3]));
/// let mut echo = client.stream::<i64>("methodStreaming", "intEchoStream", NoArgs {}, inputs);
/// while let Some(value) = echo.next().await {
///     println!("{}", value?);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    url: String,
    config: ClientConfig,
    auth: Option<Arc<dyn AuthKeyProvider>>,
    /// The auth cookie and TLS settings of every handshake.
    handshake: handshake::Handshake,
    connection: Mutex<Slot>,
    /// The classes this client knows (its dynamic streams accept them).
    registry: Arc<Registry>,
}

impl Client {
    /// A client with default settings. `url` is the server's address, `http(s)://` or
    /// `ws(s)://`; its path is replaced by `/v1/websocket`, as Serverpod's client does.
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::with_config(url, ClientConfig::default())
    }

    /// A client with the given settings.
    pub fn with_config(url: &str, config: ClientConfig) -> Result<Self, Error> {
        Self::builder(url).config(config).build()
    }

    /// Starts building a client, for settings and credentials.
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder {
            url: url.to_string(),
            config: ClientConfig::default(),
            auth: None,
            cookie: None,
            #[cfg(feature = "tls")]
            roots: Vec::new(),
            registry: Registry::new(),
        }
    }

    /// The WebSocket URL the client connects to.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Calls a method that returns a stream. The call opens when the stream is first
    /// polled; an open that fails yields the error as the only item.
    pub fn stream<T: Wire>(
        &self,
        endpoint: &str,
        method: &str,
        args: impl Serialize,
        inputs: Inputs,
    ) -> CallStream<T> {
        let inner = self.inner.clone();
        let args = rmp_serde::to_vec_named(&args)
            .map_err(|e| Error::protocol_from("cannot encode arguments", e));
        let (endpoint, method): (Arc<str>, Arc<str>) = (Arc::from(endpoint), Arc::from(method));
        let registry = self.inner.registry.clone();
        CallStream::new(
            async move { inner.open(endpoint, method, args?, inputs).await }.boxed(),
            registry,
        )
    }

    /// Calls a method that returns one value (`T = ()` for a void method).
    pub async fn call<T: Wire>(
        &self,
        endpoint: &str,
        method: &str,
        args: impl Serialize,
        inputs: Inputs,
    ) -> Result<T, Error> {
        let mut stream = self.stream::<T>(endpoint, method, args, inputs);
        let mut result = None;
        while let Some(item) = stream.next().await {
            let value = item?;
            result.get_or_insert(value);
        }
        match result {
            Some(v) => Ok(v),
            None if T::VOID => T::read_data(&[0xc0]).map_err(Error::decode_from),
            None => Err(Error::protocol("the call ended without a value")),
        }
    }

    /// Closes the socket; every open call fails with [`Error::ConnectionClosed`]. The next
    /// call opens a new socket.
    pub async fn close(&self) {
        let slot = match self.inner.connection.lock() {
            Ok(mut slot) => std::mem::replace(&mut *slot, Slot::Empty),
            Err(_) => return,
        };
        if let Slot::Ready(conn) = slot {
            let _ = conn.commands.send(Command::CloseAll);
        }
    }
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    url: String,
    config: ClientConfig,
    auth: Option<Arc<dyn AuthKeyProvider>>,
    /// The auth cookie's name and value.
    cookie: Option<(String, String)>,
    /// Extra trusted roots for `wss://`, DER.
    #[cfg(feature = "tls")]
    roots: Vec<Vec<u8>>,
    /// Classes registered with [`ClientBuilder::model`].
    registry: Arc<Registry>,
}

impl ClientBuilder {
    /// Replaces the settings.
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Sends credentials with every call, from `provider`.
    pub fn auth_key(mut self, provider: impl AuthKeyProvider) -> Self {
        self.auth = Some(Arc::new(provider));
        self
    }

    /// Authenticates with an auth cookie (Serverpod 4.0's cookie mode, for a server built
    /// with [`ServerBuilder::auth_cookie`](crate::ServerBuilder::auth_cookie)): the cookie
    /// goes with the WebSocket handshake, and every call that carries no `auth` value asks
    /// the server to use it (`am: "cookie"`). A key from [`ClientBuilder::auth_key`], when
    /// it gives one, wins.
    pub fn auth_cookie(mut self, name: &str, value: &str) -> Self {
        self.cookie = Some((name.to_string(), value.to_string()));
        self
    }

    /// Trusts `der` (a DER-encoded certificate) as a root for `wss://`, besides Mozilla's
    /// roots and [`ClientConfig::root_certificates`]: for a private CA, or a self-signed
    /// server.
    #[cfg(feature = "tls")]
    pub fn add_root_certificate(mut self, der: &[u8]) -> Self {
        self.roots.push(der.to_vec());
        self
    }

    /// Makes a model's class known, so that values of it on dynamic streams (a
    /// `CallStream<Dynamic>`, a `Dynamic` inside a container) are accepted. Typed streams
    /// need nothing: their type decodes the value. The class table is the client's own.
    pub fn model<T: crate::Wire>(self) -> Self {
        self.registry.register::<T>();
        self
    }

    /// Builds the client; fails for a URL it cannot use (`https`/`wss` need the `tls`
    /// feature), a root certificate that does not parse, or a cookie that cannot be sent (a
    /// name with `=`, `;`, spaces or control characters, a value with `;`, `,`, spaces or
    /// control characters).
    pub fn build(self) -> Result<Client, Error> {
        let url = websocket_url(&self.url)?;
        handshake::check_scheme(&url)?;
        let handshake = handshake::Handshake {
            cookie: match &self.cookie {
                Some((name, value)) => Some(cookie_pair(name, value)?),
                None => None,
            },
            #[cfg(feature = "tls")]
            tls: handshake::tls::config(
                &[&self.config.root_certificates[..], &self.roots[..]].concat(),
            )?,
        };
        Ok(Client {
            inner: Arc::new(ClientInner {
                url,
                config: self.config,
                auth: self.auth,
                handshake,
                connection: Mutex::new(Slot::Empty),
                registry: self.registry,
            }),
        })
    }
}

impl ClientInner {
    /// The live socket, opened if there is none. The attempt runs in a task of its own and
    /// concurrent callers share it, so that it progresses even when the caller that started
    /// it is not being polled (a lazily opened stream waiting in a `select!`).
    async fn connection(&self) -> Result<ConnectionHandle, Error> {
        let attempt = {
            let mut slot = self
                .connection
                .lock()
                .map_err(|_| Error::ConnectionClosed)?;
            match &*slot {
                Slot::Ready(conn) if !conn.is_closed() => return Ok(conn.clone()),
                Slot::Connecting(attempt) => attempt.clone(),
                _ => {
                    let (url, config) = (self.url.clone(), self.config.clone());
                    let handshake = self.handshake.clone();
                    let task = tokio::spawn(async move {
                        connection::connect(&url, &config, &handshake).await
                    });
                    let attempt = async move {
                        task.await
                            .unwrap_or_else(|e| Err(Error::connect_failed_from(e)))
                    }
                    .boxed()
                    .shared();
                    *slot = Slot::Connecting(attempt.clone());
                    attempt
                }
            }
        };
        let result = attempt.clone().await;
        if let Ok(mut slot) = self.connection.lock() {
            // Only the attempt still in the slot may settle it.
            if matches!(&*slot, Slot::Connecting(current) if current.ptr_eq(&attempt)) {
                *slot = match &result {
                    Ok(conn) => Slot::Ready(conn.clone()),
                    Err(_) => Slot::Empty,
                };
            }
        }
        result
    }

    /// Opens a call; on `authenticationFailed`, refreshes the key once if the provider
    /// can, and tries once more with a new `cid` (docs/PROTOCOL.md §5).
    async fn open(
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
        let auth = match &self.auth {
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
                let Some(provider) = self.auth.as_ref().filter(|p| p.can_refresh()) else {
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
            // consumer, so the values always fit; without it, this bound stops the socket.
            let window = self.config.window.map(|w| w.clamp(1, MAX_CREDIT));
            let buffer = window.map_or(connection::CALL_BUFFER, |w| w as usize);
            let (values_tx, values) = mpsc::channel(buffer);
            let (failure_tx, failure) = oneshot::channel();
            let open = OpenCall {
                endpoint: call.endpoint.clone(),
                method: call.method.clone(),
                cid,
                args: call.args.clone(),
                inputs: inputs.streams.iter().map(|(n, _)| n.to_string()).collect(),
                auth: auth.clone(),
                auth_mode: (auth.is_none() && self.handshake.cookie.is_some())
                    .then(|| AUTH_MODE_COOKIE.to_string()),
                flow: window,
            };
            let command = Command::Open {
                open,
                inputs: std::mem::take(&mut inputs.streams),
                reply: reply_tx,
                output: CallOutput {
                    values: values_tx,
                    failure: failure_tx,
                },
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
enum Slot {
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

/// `name=value`, if a `Cookie` header can carry it (RFC 6265 §4.1.1, loosely: no separators
/// in the name, none of `;`, `,`, `"`, `\`, spaces or controls in the value).
fn cookie_pair(name: &str, value: &str) -> Result<String, Error> {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    let value_ok = value
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b";,\"\\".contains(&b));
    if name_ok && value_ok {
        Ok(format!("{name}={value}"))
    } else {
        Err(Error::invalid_setting(format!(
            "not a cookie that can be sent: {name:?}={value:?}"
        )))
    }
}

/// Maps `http(s)://host/any/path` to `ws(s)://host/v1/websocket`.
fn websocket_url(url: &str) -> Result<String, Error> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Error::invalid_setting(format!("not a URL: {url}")))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => {
            return Err(Error::invalid_setting(format!(
                "unsupported scheme `{other}`"
            )))
        }
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(Error::invalid_setting(format!("no host in {url}")));
    }
    Ok(format!("{scheme}://{host}{WEBSOCKET_PATH}"))
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.streams.iter().map(|(n, _)| &**n).collect();
        f.debug_struct("Inputs").field("streams", &names).finish()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.url)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("config", &self.config)
            .field("auth", &self.auth.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::{cookie_pair, websocket_url};

    #[test]
    fn url_path_is_replaced() {
        assert_eq!(
            websocket_url("https://x/api/").unwrap(),
            "wss://x/v1/websocket"
        );
        assert_eq!(
            websocket_url("http://127.0.0.1:8080").unwrap(),
            "ws://127.0.0.1:8080/v1/websocket"
        );
        assert_eq!(
            websocket_url("ws://h:1/v1/websocket").unwrap(),
            "ws://h:1/v1/websocket"
        );
        assert!(websocket_url("localhost:8080").is_err());
    }

    #[test]
    fn only_cookies_a_header_can_carry_are_accepted() {
        assert_eq!(cookie_pair("sp_auth", "a:b.c=").unwrap(), "sp_auth=a:b.c=");
        assert_eq!(cookie_pair("sp", "").unwrap(), "sp=");
        for (name, value) in [
            ("", "v"),
            ("a=b", "v"),
            ("a b", "v"),
            ("a;b", "v"),
            ("a", "v;w"),
            ("a", "v w"),
            ("a", "v,w"),
            ("a", "v\r\n"),
            ("a", "é"),
        ] {
            assert!(cookie_pair(name, value).is_err(), "{name:?}={value:?}");
        }
    }
}
