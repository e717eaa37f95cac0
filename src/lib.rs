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
//! Bottom up; each module uses only those above it in this list (the full map, who owns
//! what and every teardown path: `docs/ARCHITECTURE.md`).
//!
//! - [`protocol`]: pure. The messages (`omsc`, `omsr`, `msm`, `msse`, `cmsc`, `brm`, `ping`,
//!   `pong`), wrapped values ([`Wire`], [`Dynamic`]), their MessagePack codec, and their JSON
//!   forms ([`Encoding`] names the two wires).
//! - [`bus`]: the message bus between calls, local or cluster-wide through Redis.
//! - `auth`: [`AuthInfo`], what endpoints require, access checks, the revocation table.
//! - `method`: what a method is: [`Endpoint`] definitions, the [`Session`] a running method
//!   gets, [`InputStream`], and the services a session may reach (bus, revocation, stats).
//! - [`config`]: every server limit with its default and why.
//! - `socket`: the WebSocket edge, once for both protocols: upgrade, connection permits,
//!   message assembly, keepalive, the outbound gate, going away, the close handshake.
//! - `call`: the call actor (one per call, owning the running method and its input
//!   streams, which its connection feeds directly), the supervisor that owns the calls of
//!   one connection, the hub that gathers wakes of calls from other threads, and the call
//!   log (one line per ended call under [`CALL_LOG_TARGET`]).
//! - `connection`: the method-stream protocol on a socket: validation, routing, opening calls.
//! - [`legacy`]: legacy streaming endpoints (`GET /websocket`): the endpoint actor with
//!   per-session user objects, and the legacy protocol on a socket.
//! - `server`: the assembly: [`ServerBuilder`], [`Server`] (mounting on an actix-web `App`),
//!   [`RunningServer`].
//! - [`client`]: the Rust client, for any tokio runtime, with a legacy client. Uses
//!   `protocol` only.
//!
//! # Lifecycle of a call
//!
//! ```text
//! client                 socket + connection        supervisor      call actor
//!   │ omsc ───────────────▶ validate (§4.3 order)
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
//! - `client` (default): the Rust clients, on tokio-tungstenite. Builds without actix.
//! - `redis` (off by default; implies `server`): the message bus across server nodes
//!   through Redis. Without it, a server configured with a Redis URL does not build.
//! - `tls` (off by default; implies `client`): the Rust clients speak `wss://`, through
//!   rustls with the ring provider and Mozilla's roots; `ClientBuilder::add_root_certificate`
//!   adds others. Server-side TLS is actix-web's own (`HttpServer::bind_rustls_0_23`).
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

// Both sides.
#[cfg(any(feature = "server", feature = "client"))]
mod batches;
#[cfg(any(feature = "server", feature = "client"))]
mod credit;
mod error;
pub mod protocol;
#[cfg(any(feature = "server", feature = "client"))]
mod recent;
#[cfg(any(feature = "server", feature = "client"))]
mod setters;
#[cfg(any(feature = "server", feature = "client"))]
mod sync;

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
mod connection;
#[cfg(feature = "server")]
pub mod legacy;
#[cfg(feature = "server")]
mod method;
#[cfg(feature = "server")]
mod queue;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
mod socket;
#[cfg(feature = "server")]
mod stats;

// The client.
#[cfg(feature = "client")]
pub mod client;

pub use error::{Source, StreamError};
pub use streampod_macros::endpoint;

/// What `#[endpoint]`'s expansion names; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use futures::stream::BoxStream;
    pub use futures::Stream;
    pub use serde;
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
pub use auth::{AuthInfo, Revoked};
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
