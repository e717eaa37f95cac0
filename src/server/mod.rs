//! The server side: the builder, endpoint definitions, and mounting on an actix-web `App`.

mod auth;
mod endpoint;
mod inputs;
mod revocation;
mod session;
mod shutdown;
mod stats;

pub use auth::{basic_auth_value, unwrap_auth_value, AuthInfo, Revoked};
pub(crate) use auth::{check_access, AuthenticationHandler, Denied, Requirements};
pub use endpoint::{Endpoint, NoArgs};
pub(crate) use endpoint::{PrepareError, Prepared};
pub(crate) use inputs::{InputCredit, NamedSink};
pub use inputs::{InputParam, InputSet, InputStream};
pub(crate) use revocation::{Registration, Revocations, Revoke};
pub(crate) use session::SessionParts;
pub use session::{Session, SessionMessages};
pub(crate) use shutdown::{Connections, GoingAway, LiveConnection};
pub use stats::Stats;
pub(crate) use stats::{release, Counters};

use crate::bus::{BusError, MessageBus};
use crate::config::{
    normalize_origin, ping_interval_from_env, redis_url_from_env, Config, ConfigError,
};
use crate::connection::Connection;
use crate::legacy::{Legacy, LegacyConnection, LegacyHandle, LegacyStats};
use crate::protocol::{registry, Wire};
use actix_web::{web, HttpRequest};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The path method streams are served at.
pub const WEBSOCKET_PATH: &str = "/v1/websocket";

/// The path legacy streaming endpoints are served at.
pub const LEGACY_WEBSOCKET_PATH: &str = "/websocket";

/// Collects endpoints and settings, then builds a [`Server`].
#[derive(Default)]
pub struct ServerBuilder {
    endpoints: HashMap<String, Endpoint>,
    config: Config,
    ping_interval: Option<Duration>,
    allowed_origins: Option<Vec<String>>,
    auth_cookie: Option<String>,
    redis_url: Option<String>,
    authentication: Option<AuthenticationHandler>,
    legacy: Vec<Legacy>,
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
    /// streams and return values are registered by the method definitions themselves.
    pub fn model<T: Wire>(self) -> Self {
        registry::register::<T>();
        self
    }

    /// Replaces the settings. The builder's own setters (`websocket_ping_interval`,
    /// `allowed_origins`, `auth_cookie`, `redis_url`) win over these, whatever the order of
    /// the calls.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the interval of the server's WebSocket pings. Set here, it wins over the
    /// `STREAMPOD_WEBSOCKET_PING_INTERVAL` environment variable, which in turn wins over
    /// [`Config::websocket_ping_interval`].
    pub fn websocket_ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = Some(interval);
        self
    }

    /// Only browsers from these origins may connect (see [`Config::allowed_origins`]).
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Lets calls opened with `am: "cookie"` authenticate with the handshake's cookie of
    /// this name (see [`Config::auth_cookie`]). Needs [`ServerBuilder::allowed_origins`].
    pub fn auth_cookie(mut self, name: impl Into<String>) -> Self {
        self.auth_cookie = Some(name.into());
        self
    }

    /// Connects the message bus to Redis, for global messages between nodes. Set here, it
    /// wins over `STREAMPOD_REDIS_URL`, which wins over [`Config::redis_url`].
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// Sets the authentication handler: from the key unwrapped from a call's `auth` value
    /// to who it belongs to, or `None` for a key that is not valid. It runs once per call,
    /// when the call opens, and only for calls that carry an `auth` value.
    pub fn authentication_handler<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<AuthInfo>> + Send + 'static,
    {
        self.authentication = Some(Arc::new(
            move |key| -> BoxFuture<'static, Option<AuthInfo>> {
                // A handler that panics authenticates nobody, and takes no connection with it.
                let started =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(key)));
                match started {
                    Ok(future) => std::panic::AssertUnwindSafe(future)
                        .catch_unwind()
                        .map(|result| {
                            result.unwrap_or_else(|_| {
                                log::error!("the authentication handler panicked");
                                None
                            })
                        })
                        .boxed(),
                    Err(_) => {
                        log::error!("the authentication handler panicked");
                        Box::pin(async { None })
                    }
                }
            },
        ));
        self
    }

    /// Builds the server. Fails if a setting, or the environment, is not valid.
    pub fn build(mut self) -> Result<Server, ConfigError> {
        match (self.ping_interval, ping_interval_from_env()?) {
            (Some(interval), _) | (None, Some(interval)) => {
                self.config.websocket_ping_interval = interval
            }
            (None, None) => {}
        }
        if self.config.websocket_ping_interval.is_zero() {
            return Err(ConfigError::Invalid {
                setting: "websocket_ping_interval",
                reason: "must be longer than zero",
            });
        }
        if let Some(origins) = self.allowed_origins {
            self.config.allowed_origins = Some(origins);
        }
        if let Some(name) = self.auth_cookie {
            self.config.auth_cookie = Some(name);
        }
        if self.config.auth_cookie.is_some() && self.config.allowed_origins.is_none() {
            // As Serverpod's config does: without an origin check, any web page could open
            // calls as the user whose browser visits it.
            return Err(ConfigError::Invalid {
                setting: "auth_cookie",
                reason: "needs allowed_origins, or any web page could use the cookie",
            });
        }
        if let Some(url) = self.redis_url.or_else(redis_url_from_env) {
            self.config.redis_url = Some(url);
        }
        let bus = MessageBus::new(self.config.bus_buffer, self.config.redis_url.as_deref())
            .map_err(|e| ConfigError::Bus(e.to_string()))?;
        let allowed_origins = self
            .config
            .allowed_origins
            .as_ref()
            .map(|list| list.iter().map(|o| normalize_origin(o)).collect());
        Ok(Server {
            inner: Arc::new(ServerInner {
                endpoints: self.endpoints,
                config: self.config,
                counters: Arc::new(Counters::default()),
                next_connection_id: AtomicU64::new(1),
                authentication: self.authentication,
                revocations: Revocations::new(bus.clone()),
                bus,
                allowed_origins,
                legacy: self
                    .legacy
                    .into_iter()
                    .map(|spec| (spec.name.clone(), LegacyHandle::new(spec)))
                    .collect(),
                connections: Connections::default(),
            }),
        })
    }
}

/// The streaming engine: the registered endpoints and the state shared by all connections.
/// Clone it freely; clones share everything.
#[derive(Clone)]
pub struct Server {
    inner: Arc<ServerInner>,
}

pub(crate) struct ServerInner {
    pub(crate) endpoints: HashMap<String, Endpoint>,
    pub(crate) config: Config,
    pub(crate) counters: Arc<Counters>,
    next_connection_id: AtomicU64,
    pub(crate) authentication: Option<AuthenticationHandler>,
    pub(crate) revocations: Arc<Revocations>,
    pub(crate) bus: MessageBus,
    allowed_origins: Option<HashSet<String>>,
    pub(crate) legacy: HashMap<String, LegacyHandle>,
    pub(crate) connections: Connections,
}

impl ServerInner {
    pub(crate) fn next_connection_id(&self) -> u64 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The answer to a handshake that may not proceed: 503 when the server is full, 403
    /// for an `Origin` that is not allowed.
    fn refuse_handshake(&self, req: &HttpRequest) -> Option<actix_web::HttpResponse> {
        if self.counters.snapshot().open_connections >= self.config.max_connections {
            return Some(
                actix_web::HttpResponse::ServiceUnavailable().body("Too many connections."),
            );
        }
        let allowed = self.allowed_origins.as_ref()?;
        let origin = req.headers().get(actix_web::http::header::ORIGIN)?;
        let origin = normalize_origin(origin.to_str().unwrap_or_default());
        (!allowed.contains(&origin))
            .then(|| actix_web::HttpResponse::Forbidden().body("WebSocket origin not allowed."))
    }
}

impl Server {
    pub(crate) fn from_inner(inner: Arc<ServerInner>) -> Self {
        Server { inner }
    }

    /// Starts building a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// A snapshot of the server's counters.
    pub fn stats(&self) -> Stats {
        let mut stats = self.inner.counters.snapshot();
        stats.authenticated_calls = self.inner.revocations.tracked();
        stats.bus_channels = self.inner.bus.channel_count();
        stats.redis = self.inner.bus.redis_state();
        stats
    }

    /// Ends every call (the client sees its stream fail with "connection closed") and
    /// closes every connection with 1001, without waiting. For a server mounted on your own
    /// `App`, call this before stopping the `HttpServer`; [`RunningServer::shutdown`] does
    /// both, with a deadline.
    pub fn close_all_connections(&self) {
        self.inner.connections.close_all();
    }

    /// The message bus, for code outside a call (an HTTP handler, a background task).
    pub fn messages(&self) -> &MessageBus {
        &self.inner.bus
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// A snapshot of a legacy endpoint's sessions, user objects and lifecycle calls.
    pub fn legacy_stats(&self, endpoint: &str) -> Option<LegacyStats> {
        self.inner
            .legacy
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
        self.inner.revocations.post(user_id, revoked).await
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
        let (methods, legacy) = (self.inner.clone(), self.inner.clone());
        cfg.route(
            WEBSOCKET_PATH,
            web::get().to(move |req: HttpRequest, body: web::Payload| {
                let inner = methods.clone();
                async move {
                    match inner.refuse_handshake(&req) {
                        Some(refusal) => Ok(refusal),
                        None => Connection::start(inner, &req, body),
                    }
                }
            }),
        )
        .route(
            LEGACY_WEBSOCKET_PATH,
            web::get().to(move |req: HttpRequest, body: web::Payload| {
                let inner = legacy.clone();
                async move {
                    match inner.refuse_handshake(&req) {
                        Some(refusal) => Ok(refusal),
                        None => LegacyConnection::start(inner, &req, body),
                    }
                }
            }),
        );
    }

    /// Runs the engine on its own actix-web server, in a new thread, on an already bound
    /// listener (bind to port 0 for a free port). For tests, demos and simple deployments;
    /// an application with its own `HttpServer` uses [`Server::mount`] instead.
    pub fn spawn(&self, listener: TcpListener) -> std::io::Result<RunningServer> {
        let addr = listener.local_addr()?;
        let server = self.clone();
        let workers = self.inner.config.workers.max(1);
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("streampod-server".into())
            .spawn(move || {
                let system = actix_web::rt::System::new();
                system.block_on(async move {
                    let http = actix_web::HttpServer::new(move || {
                        let server = server.clone();
                        actix_web::App::new().configure(move |c| server.mount(c))
                    })
                    .workers(workers)
                    .tcp_nodelay(true)
                    .disable_signals()
                    .shutdown_timeout(1)
                    // A WebSocket response ends with its close handshake; without this the
                    // HTTP/1 dispatcher lingers up to a second before it closes TCP.
                    .client_disconnect_timeout(Duration::ZERO)
                    .listen(listener);
                    match http {
                        Ok(http) => {
                            let http = http.run();
                            let _ = tx.send(Ok(http.handle()));
                            let _ = http.await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                })
            })?;
        let handle = rx
            .recv()
            .map_err(|_| std::io::Error::other("server thread ended before it started"))??;
        Ok(RunningServer {
            server: self.clone(),
            addr,
            handle,
            thread: Some(thread),
        })
    }
}

/// A server started by [`Server::spawn`]. Dropping it stops the server.
pub struct RunningServer {
    server: Server,
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// The server it runs.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `ws://` URL of the method-stream endpoint.
    pub fn url(&self) -> String {
        format!("ws://{}{}", self.addr, WEBSOCKET_PATH)
    }

    /// Stops accepting connections, closes the open ones and waits for the server thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    /// Graceful shutdown: stops accepting connections, ends every call, closes every
    /// connection with 1001, waits for them to go (at most `deadline`), then stops the
    /// server. Returns true when every connection was gone before the deadline. Blocks the
    /// calling thread (from async code, run it with `spawn_blocking`).
    pub fn shutdown(mut self, deadline: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + deadline;
        futures::executor::block_on(tokio::task::unconstrained(self.handle.pause()));
        self.server.close_all_connections();
        let mut clean = false;
        while std::time::Instant::now() < until {
            if self.server.inner.connections.count() == 0 {
                clean = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        self.stop_inner();
        clean
    }

    fn stop_inner(&mut self) {
        if let Some(thread) = self.thread.take() {
            let handle = self.handle.clone();
            // `stop` returns a future that needs no particular runtime to be driven. It waits
            // on a tokio channel: from inside a tokio task whose cooperative budget is spent,
            // that poll would return `Pending` and wake itself forever, so it runs unbudgeted.
            futures::executor::block_on(tokio::task::unconstrained(handle.stop(false)));
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
