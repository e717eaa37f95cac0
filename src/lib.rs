//! # streampod
//!
//! Serverpod-style streaming methods for actix-web: endpoints whose methods take and return
//! streams, called by clients over one shared, self-managed WebSocket, speaking
//! Serverpod's message set in MessagePack, or in Serverpod's own JSON on a connection that
//! opens with a text frame, so that Serverpod's Dart client works unchanged (see
//! `docs/PROTOCOL.md`).
//!
//! # Layout
//!
//! Bottom up; each module uses only those above it in this list (the full map, a glossary,
//! who owns what and every teardown path: `docs/ARCHITECTURE.md`).
//!
//! - [`protocol`]: pure. The messages (`omsc`, `omsr`, `msm`, `msse`, `cmsc`, `crd`, `brm`,
//!   `ping`, `pong`), wrapped values ([`Wire`], [`Dynamic`]), the class registry, both
//!   codecs, and a message as the frame of a connection's [`Encoding`].
//! - `error`, `instruments` (metrics), `queue` (the one queue that hands items to a task).
//! - [`bus`]: the message bus between calls, local or cluster-wide through Redis.
//! - `stats`, [`config`]: the counters behind [`Server::stats`]; every server setting with
//!   its default, the environment over it, and its check.
//! - `flow`: every bound on what one party makes another hold: per-call credit, the input
//!   queue, the outbound gate.
//! - `outbox`: what a connection's producers write to it, in order.
//! - `auth`: [`AuthInfo`], the connection's [`Handshake`], the authentication handler,
//!   access checks, the revocation table.
//! - `method`: what a method is: [`Endpoint`] definitions, the [`Session`] a running method
//!   gets, [`InputStream`], and the services a session may reach (bus, revocation, stats).
//! - `websocket`: RFC 6455's frame layout, once for both ends (headers, masks, closes).
//! - `socket`: the WebSocket edge, once for every kind of connection: upgrade, permits,
//!   frames read in place, message assembly, the encoding, keepalive, the send timeout,
//!   going away, the close.
//! - `call`: the call actor (one per call, owning the running method and its input
//!   streams, which its connection feeds directly), the supervisor that owns the calls of
//!   one connection, the hub that gathers wakes of calls from other threads, and the call
//!   log (one line per ended call under [`CALL_LOG_TARGET`]). It knows no socket.
//! - `method_streams`: the method-stream connection: validation, routing, opening calls.
//! - [`legacy`]: legacy streaming endpoints (`GET /websocket`): the endpoint actor with
//!   per-session user objects, and the legacy connection.
//! - `server`: the assembly: [`ServerBuilder`], [`Server`] (mounting on an actix-web `App`),
//!   [`RunningServer`].
//! - [`client`]: the Rust client, for any tokio runtime, with a legacy client (no actix).
//! - `testing` (feature `testing`): a server in-process behind a fault-injecting proxy, for
//!   an app's tests of its reconnect handling.
//! - `typescript` (feature `typescript`): a TypeScript module (models, one typed client
//!   class per endpoint) generated from endpoint traits and `model!` types.
//!
//! # Lifecycle of a call
//!
//! ```text
//! client                 socket + connection        supervisor      call actor
//!   │ omsc ───────────────▶ validate (PROTOCOL.md §4.2 order)
//!   │ ◀─────────── omsr    start ─────────────────────────────────▶ run method
//!   │                      adopt ──────────────────▶ owns it
//!   │ msm(p) ─────────────▶ route ───────────────────────────────▶ input stream
//!   │ ◀──────────── msm    write ◀──────── outbox ─────────────── value
//!   │ ◀──────────── cmsc   write ◀─────────────────────────────── end, then stop
//!   │                      CallEnded ── Forget ───▶ forgets it
//!   ╳ socket gone          stopped ── StopAll ─────▶ Shutdown ─────▶ drop method
//! ```
//!
//! # Features
//!
//! - `server` (default): the engine on actix-web: endpoints, both protocols, the
//!   in-process message bus.
//! - `client` (default): the Rust clients, on a WebSocket transport of their own (any tokio
//!   runtime). Builds without actix.
//! - `redis` (off by default; implies `server`): the message bus across server nodes
//!   through Redis. Without it, a server configured with a Redis URL does not build.
//! - `tls` (off by default; implies `client`): the Rust clients speak `wss://`, through
//!   rustls with the ring provider and Mozilla's roots; `ClientBuilder::add_root_certificate`
//!   adds others. Server-side TLS is actix-web's own (`HttpServer::bind_rustls_0_23`).
//! - `testing` (off by default; implies `server` and `client`): [`testing::TestServer`] and
//!   [`testing::FaultProxy`], for tests.
//!
//! `protocol` (the messages and their codec) is in every build.
//!
//! # Example
//!
//! ```
//! use futures::{stream, StreamExt};
//! use streampod::client::{Client, Inputs};
//! use streampod::{Endpoint, InputStream, NoArgs, Server};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // An endpoint with one method that echoes an input stream of ints.
//! let echo = Endpoint::new("example")
//!     .stream("echo", ["stream"], |_session, _: NoArgs, (input,): (InputStream<i64>,)| input);
//! let server = Server::builder().endpoint(echo).build()?;
//!
//! // Serve it on a free port (or mount it on your own App with `server.mount`).
//! let running = server.spawn(std::net::TcpListener::bind("127.0.0.1:0")?)?;
//!
//! let client = Client::new(&format!("http://{}", running.addr()))?;
//! let inputs = Inputs::new().values("stream", stream::iter(vec![1i64, 2, 3]));
//! let echoed: Vec<i64> = client
//!     .stream::<i64>("example", "echo", NoArgs {}, inputs)
//!     .map(Result::unwrap)
//!     .collect()
//!     .await;
//! assert_eq!(echoed, vec![1, 2, 3]);
//! # Ok(()) }
//! ```

#![deny(unreachable_pub)]
#![warn(missing_docs, missing_debug_implementations)]

/// The README's Rust blocks, compiled and run as doctests so that they cannot rot.
#[cfg(all(doctest, feature = "server", feature = "client"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

// Both sides.
#[cfg(any(feature = "server", feature = "client"))]
mod batches;
mod error;
#[cfg(any(feature = "server", feature = "client"))]
mod flow;
pub mod protocol;
#[cfg(any(feature = "server", feature = "client"))]
mod recent;
#[cfg(any(feature = "server", feature = "client"))]
mod replay;
#[cfg(any(feature = "server", feature = "client"))]
mod setters;
#[cfg(any(feature = "server", feature = "client"))]
mod sync;
#[cfg(any(feature = "server", feature = "client"))]
// Each end reads the other's frames: a build with one end leaves the other's half unused.
#[cfg_attr(not(all(feature = "server", feature = "client")), allow(dead_code))]
mod websocket;

// The server, from the bottom up.
#[cfg(feature = "server")]
mod auth;
#[cfg(feature = "server")]
pub mod bus;
#[cfg(feature = "server")]
mod call;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
mod instruments;
#[cfg(feature = "server")]
pub mod legacy;
#[cfg(feature = "server")]
mod method;
#[cfg(feature = "server")]
mod method_streams;
#[cfg(feature = "server")]
mod outbox;
#[cfg(feature = "server")]
mod queue;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
mod shutdown;
#[cfg(feature = "server")]
mod socket;
#[cfg(feature = "server")]
mod stats;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "typescript")]
pub mod typescript;

// The client.
#[cfg(feature = "client")]
pub mod client;

pub use error::{Source, StreamError};
/// Declares an endpoint once, as a Rust trait, for the server and the client.
///
/// ```
/// use futures::{stream, Stream, StreamExt};
/// use streampod::{InputStream, Server, Session, StreamError};
///
/// /// A chat room.
/// #[streampod::endpoint(name = "chat")]
/// pub trait Chat {
///     /// Every line posted to `room` from now on.
///     fn join(&self, session: Session, room: String)
///         -> impl Stream<Item = Result<String, StreamError>> + Send + 'static;
///     /// Posts the client's lines; returns how many were posted.
///     #[streampod(require_login)]
///     async fn post(&self, session: Session, room: String, lines: InputStream<String>)
///         -> Result<u64, StreamError>;
/// }
///
/// struct Rooms;
///
/// impl Chat for Rooms {
///     fn join(&self, session: Session, room: String)
///         -> impl Stream<Item = Result<String, StreamError>> + Send + 'static
///     {
///         let lines = session.messages().create_stream::<String>(&room);
///         lines.map(|line| line.map_err(StreamError::failed))
///     }
///
///     async fn post(&self, session: Session, room: String, lines: InputStream<String>)
///         -> Result<u64, StreamError>
///     {
///         let lines: Vec<_> = lines.collect().await;
///         for line in &lines {
///             let line = line.clone()?;
///             let scope = streampod::bus::Scope::Auto;
///             session.messages().post_message(&room, &line, scope).await.map_err(StreamError::failed)?;
///         }
///         Ok(lines.len() as u64)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The server: the implementation, as an endpoint.
/// let server = Server::builder().endpoint(Rooms.into_endpoint()).build()?;
/// let running = server.spawn(std::net::TcpListener::bind("127.0.0.1:0")?)?;
///
/// // The client: `ChatClient`, generated, with the trait's docs on its methods.
/// let client = streampod::client::Client::new(&format!("http://{}", running.addr()))?;
/// let chat = ChatClient::new(&client);
/// let mut lobby = chat.join("lobby".to_string());   // a CallStream<String>, opened when polled
/// # let _ = &mut lobby;
/// // `post` requires a signed-in caller: this client has no key.
/// let refused = chat.post("lobby".to_string(), stream::iter(["hi".to_string()])).await;
/// assert!(matches!(refused, Err(streampod::client::Error::OpenFailed { code: 401, .. })));
/// # Ok(()) }
/// ```
///
/// **What it generates.** The trait itself, with `Send + Sync + 'static` added as
/// supertraits, each `async fn` turned into a function returning a `Send` future (implement
/// it with `async fn` all the same), and a provided method `into_endpoint(self) ->
/// Endpoint` (with the `server` feature). `<Trait>Client` (with the `client` feature): a
/// method per method, taking the plain arguments and, for each input stream, any `impl
/// Stream<Item = T> + Send + 'static` (`Option<..>` for an optional one), returning
/// [`client::CallStream<T>`] for a stream method and `Result<T, client::Error>` for an
/// `async` one.
///
/// **CallSetup.** `&self` first, then optionally [`Session`], then plain serde parameters
/// (they make the call's `args` map), [`InputStream<T>`] and `Option<InputStream<T>>`
/// parameters (input streams), in any order. A method returns `impl Stream<Item =
/// Result<T, StreamError>> + Send + 'static`, or is `async` and returns `Result<T,
/// StreamError>` (`T` = `()` for a void method).
///
/// **Wire names** follow Serverpod's conventions: method `int_echo_stream` is
/// `intEchoStream`, parameter `interval_ms` is the `args` key (or input stream)
/// `intervalMs`; `#[streampod(name = "..")]` on a method or a parameter overrides it. The
/// endpoint's name is `name = ".."` (default: the trait's name in lowerCamelCase). Frames
/// are exactly those of the builder API: a macro endpoint and a builder endpoint with the
/// same names cannot be told apart on the wire.
///
/// **Access.** `require_login` and `require_scopes = [..]` on the endpoint set the default;
/// `#[streampod(require_login)]`, `#[streampod(require_scopes = [..])]` or
/// `#[streampod(public)]` on a method override it for that method (see
/// [`Endpoint::access`]).
///
/// **A trait shared with a client-only build.** The trait and `into_endpoint` exist only
/// with the `server` feature, the client only with `client`; the trait's tokens vanish in
/// a build without the server, so name server types there by full path
/// (`streampod::Session`) rather than with a `use` that the client-only build cannot
/// resolve.
pub use streampod_macros::endpoint;

/// What `#[endpoint]`'s expansion names; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use futures::stream::BoxStream;
    pub use futures::Stream;
    pub use serde;

    /// What a method's plain parameter must be; checked by `#[endpoint]` for the message.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a method's argument: it is not a serde type",
        label = "an argument of an endpoint method",
        note = "derive `serde::Serialize` and `serde::Deserialize` for it (arguments travel in the call's `args` map)"
    )]
    pub trait Argument: serde::Serialize + serde::de::DeserializeOwned {}
    impl<T: serde::Serialize + serde::de::DeserializeOwned> Argument for T {}

    /// Fails to compile for a `T` that is not an [`Argument`].
    pub const fn argument<T: Argument>() {}
}

/// Expands to its input in builds with the `server` feature, to nothing without (the
/// feature of *this* crate, which the user's code cannot see). For `#[endpoint]`.
#[cfg(feature = "server")]
#[doc(hidden)]
#[macro_export]
macro_rules! __server_only {
    ($($tokens:tt)*) => { $($tokens)* };
}
#[cfg(not(feature = "server"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __server_only {
    ($($tokens:tt)*) => {};
}

/// [`__server_only`]'s twin for the `typescript` feature.
#[cfg(feature = "typescript")]
#[doc(hidden)]
#[macro_export]
macro_rules! __typescript_only {
    ($($tokens:tt)*) => { $($tokens)* };
}
#[cfg(not(feature = "typescript"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __typescript_only {
    ($($tokens:tt)*) => {};
}

/// [`__server_only`]'s twin for the `client` feature.
#[cfg(feature = "client")]
#[doc(hidden)]
#[macro_export]
macro_rules! __client_only {
    ($($tokens:tt)*) => { $($tokens)* };
}
#[cfg(not(feature = "client"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __client_only {
    ($($tokens:tt)*) => {};
}
pub use protocol::{
    basic_auth_value, unwrap_auth_value, BigInt, ByteData, DateTime, Dynamic, Encoding, Wire,
    LEGACY_WEBSOCKET_PATH, WEBSOCKET_PATH,
};

#[cfg(feature = "server")]
pub use auth::{AuthInfo, AuthenticationFn, Handshake, Revoked};
#[cfg(feature = "server")]
pub use call::CALL_LOG_TARGET;
#[cfg(feature = "server")]
pub use config::{Config, ConfigError};
#[cfg(feature = "server")]
pub use method::{
    Access, Endpoint, InputParam, InputSet, InputStream, NoArgs, Session, SessionMessages,
};
#[cfg(feature = "server")]
pub use server::{RunningServer, Server, ServerBuilder};
#[cfg(feature = "server")]
pub use stats::Stats;
