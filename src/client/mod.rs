//! The Rust client: calls streaming methods over one shared WebSocket.
//!
//! The socket opens on the first call (concurrent first calls share one attempt), is
//! checked with a `ping` that must be answered within the connect timeout, stays alive with
//! a `ping` every 20 s, fails every call after 40 s without any frame, and closes once no
//! call has been left for `ClientConfig::linger` (1 s by default: the next call reuses it). It runs in any tokio runtime; its futures and streams are `Send`.

mod auth;
mod backoff;
mod builder;
mod call;
mod config;
mod connection;
mod dialer;
mod error;
mod handshake;
mod ids;
mod inputs;
mod keepalive;
mod legacy;
mod link;
mod pump;
mod resumable;
mod slot;
mod state;
mod transport;
mod url;
mod values;

pub use auth::{AuthKeyProvider, RefreshingAuthKey, StaticAuthKey};
pub use backoff::ReconnectPolicy;
pub use builder::ClientBuilder;
pub use call::CallStream;
pub use config::ClientConfig;
pub use error::Error;
pub use inputs::Inputs;
pub use legacy::{
    ConnectionStatus, LegacyClient, LegacyEndpointRef, LegacyMessages, ReconnectHandler,
};
pub use state::ConnectionState;

use crate::protocol::registry::Registry;
use crate::protocol::Wire;
use crate::sync::lock;
use connection::Command;
use futures::{FutureExt, StreamExt};
use serde::Serialize;
use slot::{ClientInner, Slot};
use std::sync::Arc;

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
            roots: Vec::new(),
            registry: Registry::new(),
        }
    }

    /// The WebSocket URL the client connects to.
    pub fn url(&self) -> &str {
        &self.inner.dialer.url
    }

    /// Where the client's socket stands, now and as it changes: `Connecting` for the first
    /// call, `Connected`, `Reconnecting { attempt }` while a dropped socket is being
    /// replaced (its calls stay open), `Disconnected` when no socket is needed or the calls
    /// failed with it. For an app that shows it, or stops feeding inputs meanwhile.
    ///
    /// ```no_run
    /// # async fn demo(client: streampod::client::Client) {
    /// use streampod::client::ConnectionState;
    /// let mut state = client.state();
    /// while state.changed().await.is_ok() {
    ///     if let ConnectionState::Reconnecting { attempt } = *state.borrow() {
    ///         eprintln!("reconnecting (attempt {attempt})");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn state(&self) -> tokio::sync::watch::Receiver<ConnectionState> {
        self.inner.dialer.state.subscribe()
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
            None if crate::protocol::is_void::<T>() => {
                T::read_data(&[0xc0]).map_err(Error::decode_from::<T>)
            }
            None => Err(Error::protocol("the call ended without a value")),
        }
    }

    /// Closes the socket; every open call fails with [`Error::ConnectionClosed`]. The next
    /// call opens a new socket.
    pub async fn close(&self) {
        let slot = std::mem::replace(&mut *lock(&self.inner.connection), Slot::Empty);
        if let Slot::Ready(conn) = slot {
            let _ = conn.commands.send(Command::CloseAll);
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.dialer.url)
            .field("config", &self.inner.dialer.config)
            .finish_non_exhaustive()
    }
}
