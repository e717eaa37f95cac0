//! The server assembly: the builder, the [`Server`] that mounts both protocols on an
//! actix-web `App`, and [`RunningServer`] for a server on its own thread.
//!
//! Everything else is built here and handed down: the socket edge gets its settings, the
//! method-stream and legacy protocols get what their connections share, and sessions get
//! the services they may use. No part below holds the server.

mod graceful;
mod running;

pub use running::RunningServer;

use crate::auth::{guarded, AuthenticationFn, AuthenticationHandler, Handshake, Revoked};
use crate::bus::{BusError, MessageBus};
use crate::config::{Config, ConfigError};
use crate::flow::InputQueue;
use crate::legacy::{Legacy, LegacyConnection, LegacyEndpoints, LegacyHandle, LegacyStats};
use crate::method::{Endpoint, Services};
use crate::method_streams::{CallLimits, CallSetup, MethodConnection, Resume, Sessions};
use crate::protocol::registry::Registry;
use crate::protocol::{Wire, LEGACY_WEBSOCKET_PATH, WEBSOCKET_PATH};
use crate::socket::EdgeSettings;
use crate::stats::{Counters, Stats};
use actix_web::{web, HttpRequest};
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Collects endpoints and settings, then builds a [`Server`].
#[derive(Default)]
pub struct ServerBuilder {
    endpoints: HashMap<String, Endpoint>,
    config: Config,
    authentication: Option<AuthenticationHandler>,
    legacy: Vec<Legacy>,
    /// Classes registered with [`ServerBuilder::model`].
    models: Vec<fn(&Registry)>,
}

impl ServerBuilder {
    /// Registers an endpoint. A second endpoint with the same name replaces the first.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoints.insert(endpoint.name().to_string(), endpoint);
        self
    }

    /// Registers a legacy streaming endpoint, served at `GET /websocket`.
    pub fn legacy_endpoint(mut self, endpoint: Legacy) -> Self {
        self.legacy.push(endpoint);
        self
    }

    /// Makes a model's class known, so dynamic streams accept it. Types used by typed
    /// streams and return values are registered by the method definitions themselves. (The
    /// class table is the server's own: another server in the same process does not
    /// know the classes registered here.)
    pub fn model<T: Wire>(mut self) -> Self {
        self.models.push(|registry| registry.register::<T>());
        self
    }

    /// Replaces the settings, those the builder's shortcuts below set included: call it
    /// first. The environment still wins over them (see [`Config`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets [`Config::websocket_ping_interval`].
    pub fn websocket_ping_interval(mut self, interval: Duration) -> Self {
        self.config.websocket_ping_interval = interval;
        self
    }

    /// Only browsers from these origins may connect: sets [`Config::allowed_origins`].
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.config.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Lets calls opened with `am: "cookie"` authenticate with the handshake's cookie of
    /// this name: sets [`Config::auth_cookie`]. Needs [`ServerBuilder::allowed_origins`].
    pub fn auth_cookie(mut self, name: impl Into<String>) -> Self {
        self.config.auth_cookie = Some(name.into());
        self
    }

    /// Connects the message bus to Redis, for global messages between nodes: sets
    /// [`Config::redis_url`].
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.config.redis_url = Some(url.into());
        self
    }

    /// Sets the authentication handler: from the key unwrapped from a call's `auth` value
    /// to who it belongs to, or `None` for a key that is not valid. It runs once per call,
    /// when the call opens, and only for calls that carry an `auth` value. It takes the key
    /// alone (`|key: String| async move { .. }`), or the key and the connection's
    /// [`Handshake`](crate::Handshake) (`|key: String, handshake: Handshake| ..`: the
    /// peer's address, the headers). A handler that panics authenticates nobody.
    pub fn authentication_handler<M>(mut self, handler: impl AuthenticationFn<M>) -> Self {
        self.authentication = Some(guarded(handler));
        self
    }

    /// Builds the server. Fails if a setting, or the environment, is not valid.
    pub fn build(self) -> Result<Server, ConfigError> {
        let config = self.config.resolved()?;
        let registry = Registry::new();
        self.models.iter().for_each(|register| register(&registry));
        self.endpoints
            .values()
            .for_each(|endpoint| endpoint.register_classes(&registry));
        let bus = MessageBus::new(
            config.bus_buffer,
            config.redis_url.as_deref(),
            registry.clone(),
            config.bus_history.clone(),
        )
        .map_err(ConfigError::Bus)?;
        let counters = Arc::new(Counters::default());
        let services = Services::new(bus, counters.clone(), registry.clone());
        Ok(Server {
            inner: Arc::new(ServerInner {
                edge: Arc::new(EdgeSettings::new(&config, counters)),
                methods: Arc::new(CallSetup {
                    endpoints: self.endpoints,
                    authentication: self.authentication.clone(),
                    services: services.clone(),
                    limits: CallLimits {
                        max_calls_per_connection: config.max_calls_per_connection,
                        max_inputs_per_call: config.max_inputs_per_call,
                        max_queued_inputs: config.max_queued_inputs,
                        input_window: config.input_window,
                        remembered_ended_calls: config.remembered_ended_calls,
                        input_patience: config.websocket_ping_interval,
                    },
                    no_inputs: InputQueue::new(config.max_queued_inputs, services.counters.clone()),
                    sessions: Arc::new(Sessions::new(
                        config.resume_window,
                        services.counters.clone(),
                    )),
                }),
                legacy: Arc::new(LegacyEndpoints {
                    endpoints: self
                        .legacy
                        .into_iter()
                        .map(|spec| (spec.name.clone(), LegacyHandle::new(spec, registry.clone())))
                        .collect(),
                    authentication: self.authentication,
                    registry,
                }),
                services,
                config,
            }),
        })
    }
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut endpoints: Vec<&String> = self.endpoints.keys().collect();
        endpoints.sort();
        f.debug_struct("ServerBuilder")
            .field("endpoints", &endpoints)
            .field("legacy_endpoints", &self.legacy)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The streaming engine: the registered endpoints and the state shared by all connections.
/// Clone it freely; clones share everything.
#[derive(Clone)]
pub struct Server {
    inner: Arc<ServerInner>,
}

struct ServerInner {
    config: Config,
    edge: Arc<EdgeSettings>,
    methods: Arc<CallSetup>,
    legacy: Arc<LegacyEndpoints>,
    services: Services,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut endpoints: Vec<_> = self.inner.methods.endpoints.keys().collect();
        endpoints.sort();
        let mut legacy: Vec<_> = self.inner.legacy.endpoints.keys().collect();
        legacy.sort();
        f.debug_struct("Server")
            .field("endpoints", &endpoints)
            .field("legacy_endpoints", &legacy)
            .field("open_connections", &self.inner.edge.connections().count())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts building a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// A snapshot of the server's counters.
    pub fn stats(&self) -> Stats {
        self.inner.services.stats()
    }

    /// Ends every call (the client sees its stream fail with "connection closed") and
    /// closes every connection with 1001, without waiting. [`Server::shutdown`] does this
    /// and stops the `HttpServer` that serves it, with a deadline;
    /// [`Server::shutdown_on_signal`] does it on SIGTERM or Ctrl-C.
    pub fn close_all_connections(&self) {
        self.inner.methods.sessions.close_all();
        self.inner.edge.connections().close_all();
    }

    /// The message bus, for code outside a call (an HTTP handler, a background task).
    pub fn messages(&self) -> &MessageBus {
        &self.inner.services.bus
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// A snapshot of a legacy endpoint's sessions, user objects and lifecycle calls.
    pub fn legacy_stats(&self, endpoint: &str) -> Option<LegacyStats> {
        self.inner
            .legacy
            .endpoints
            .get(endpoint)
            .map(|h| h.counters.snapshot())
    }

    /// Revokes some or all of a user's authentication: closes the user's open calls that
    /// `revoked` applies to (see [`Revoked`]), on every connection of this server and, with
    /// Redis, of every node; the client sees each end with "closed with error". Calls on
    /// endpoints that require neither login nor scopes are never closed. The revocation
    /// travels on the message bus with scope `Auto`; the error says if Redis did not take it.
    pub async fn revoke_authentication(
        &self,
        user_id: &str,
        revoked: Revoked,
    ) -> Result<(), BusError> {
        self.inner.services.revoke(user_id, revoked).await
    }

    /// Mounts the engine on an actix-web app: `App::new().configure(|c| server.mount(c))`.
    ///
    /// Set `HttpServer::client_disconnect_timeout(Duration::ZERO)` on the `HttpServer` that
    /// serves it. actix-web sees a WebSocket as a response whose request body was never read
    /// to its end, so when the close handshake ends the response, its HTTP/1 dispatcher
    /// lingers for this timeout (default 1 s) waiting for the peer to close TCP, while the
    /// peer (as RFC 6455 §7.1.1 asks) waits for the server to close first: every WebSocket
    /// close then takes a second. With zero, TCP closes as soon as the close frames are out.
    /// The cost: a plain HTTP response sent before its request body was read (a 413 for a
    /// large upload, say) no longer waits for the client before the socket closes.
    pub fn mount(&self, cfg: &mut web::ServiceConfig) {
        let (edge, methods) = (self.inner.edge.clone(), self.inner.methods.clone());
        let cookie = self.inner.config.auth_cookie.clone();
        let (resume_window, resume_buffer) = (
            self.inner.config.resume_window,
            self.inner.config.resume_buffer,
        );
        cfg.route(
            WEBSOCKET_PATH,
            web::get().to(move |req: HttpRequest, body: web::Payload| {
                let cookie_key = cookie
                    .as_deref()
                    .and_then(|name| req.cookie(name))
                    .map(|c| c.value().to_string());
                let methods = methods.clone();
                let handshake = handshake_of(&req);
                // A client that can resume asks with `?resume` (docs/PROTOCOL.md §11).
                let asked = req
                    .query_string()
                    .split('&')
                    .any(|p| p == "resume" || p.starts_with("resume="));
                let resume = if asked && !resume_window.is_zero() {
                    Resume::Asked
                } else {
                    Resume::Off
                };
                let buffer = (resume == Resume::Asked).then_some(resume_buffer);
                let upgraded = edge.upgrade(&req, body, buffer, |id| {
                    MethodConnection::new(id, methods, cookie_key, handshake, resume)
                });
                async move { upgraded }
            }),
        );
        let (edge, legacy) = (self.inner.edge.clone(), self.inner.legacy.clone());
        cfg.route(
            LEGACY_WEBSOCKET_PATH,
            web::get().to(move |req: HttpRequest, body: web::Payload| {
                // `?auth=<key>` carries the unwrapped key.
                let key = web::Query::<HashMap<String, String>>::from_query(req.query_string())
                    .ok()
                    .and_then(|q| q.into_inner().remove("auth"))
                    .filter(|k| !k.is_empty());
                let legacy = legacy.clone();
                let handshake = handshake_of(&req);
                // Legacy connections are not resumable.
                let upgraded = edge.upgrade(&req, body, None, |id| {
                    LegacyConnection::new(id, legacy, key, handshake)
                });
                async move { upgraded }
            }),
        );
    }

    /// The hook to pass to your own `HttpServer::on_connect`, before `bind` or `listen`:
    /// it gives every accepted TCP socket the send timeout ([`Config::send_timeout`]), so
    /// that a peer which stops reading loses its connection instead of holding it for ever.
    /// [`Server::spawn`] installs it itself.
    ///
    /// ```no_run
    /// # fn main() -> std::io::Result<()> {
    /// # let server = streampod::Server::builder().build().unwrap();
    /// let hook = server.on_connect_hook();
    /// actix_web::HttpServer::new(move || {
    ///     let server = server.clone();
    ///     actix_web::App::new().configure(move |c| server.mount(c))
    /// })
    /// .on_connect(hook)
    /// .bind("127.0.0.1:8080")?;
    /// # Ok(()) }
    /// ```
    ///
    /// It sets `TCP_USER_TIMEOUT` (Linux and Android; elsewhere it does nothing), on plain
    /// TCP connections: with TLS terminated by actix-web, set the option in your own hook
    /// (or terminate TLS at a proxy, whose own send timeout then applies). The option
    /// applies to every connection of that `HttpServer`, your other routes' too: data they
    /// send that stays unacknowledged for the timeout also drops the connection. Without
    /// it, the first upgrade logs a warning.
    pub fn on_connect_hook(
        &self,
    ) -> impl Fn(&dyn std::any::Any, &mut actix_web::dev::Extensions) + Send + Sync + 'static {
        crate::socket::send_timeout_hook(self.inner.edge.send_timeout())
    }

    /// Runs the engine on its own actix-web server, in a new thread, on an already bound
    /// listener (bind to port 0 for a free port). For tests, demos and simple deployments;
    /// an application with its own `HttpServer` uses [`Server::mount`] instead.
    pub fn spawn(&self, listener: TcpListener) -> std::io::Result<RunningServer> {
        RunningServer::start(self.clone(), listener, self.inner.config.workers.max(1))
    }

    /// Ends every detached session (the server shuts down).
    fn end_detached(&self) {
        self.inner.methods.sessions.close_all();
    }

    /// Completes once the legacy endpoints have handled what their sessions sent so far.
    async fn legacy_settled(&self) {
        self.inner.legacy.settled().await;
    }

    /// The live connections, for the shutdown.
    fn connections(&self) -> &crate::socket::Connections {
        self.inner.edge.connections()
    }
}

/// The peer's address and the headers of a WebSocket handshake.
fn handshake_of(req: &HttpRequest) -> Handshake {
    let headers = req
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()));
    Handshake::new(req.peer_addr(), headers)
}
