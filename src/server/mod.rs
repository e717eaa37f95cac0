//! The server side: the builder, endpoint definitions, and mounting on an actix-web `App`.

mod endpoint;
mod inputs;
mod session;
mod stats;

pub use endpoint::{Endpoint, NoArgs};
pub(crate) use endpoint::{PrepareError, Prepared};
pub(crate) use inputs::NamedSink;
pub use inputs::{InputParam, InputSet, InputStream};
pub use session::Session;
pub(crate) use stats::Counters;
pub use stats::Stats;

use crate::config::Config;
use crate::connection::Connection;
use crate::protocol::{registry, Wire};
use actix_web::{web, HttpRequest};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The path method streams are served at.
pub const WEBSOCKET_PATH: &str = "/v1/websocket";

/// Collects endpoints and settings, then builds a [`Server`].
#[derive(Default)]
pub struct ServerBuilder {
    endpoints: HashMap<String, Endpoint>,
    config: Config,
}

impl ServerBuilder {
    /// Registers an endpoint. A second endpoint with the same name replaces the first.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoints.insert(endpoint.name().to_string(), endpoint);
        self
    }

    /// Makes a model's class known, so dynamic streams accept it. Types used by typed
    /// streams and return values are registered by the method definitions themselves.
    pub fn model<T: Wire>(self) -> Self {
        registry::register::<T>();
        self
    }

    /// Replaces the settings.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Builds the server.
    pub fn build(self) -> Server {
        Server {
            inner: Arc::new(ServerInner {
                endpoints: self.endpoints,
                config: self.config,
                counters: Arc::new(Counters::default()),
                next_connection_id: AtomicU64::new(1),
            }),
        }
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
}

impl ServerInner {
    pub(crate) fn next_connection_id(&self) -> u64 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }
}

impl Server {
    /// Starts building a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// A snapshot of the server's counters.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Mounts the engine on an actix-web app: `App::new().configure(|c| server.mount(c))`.
    pub fn mount(&self, cfg: &mut web::ServiceConfig) {
        let inner = self.inner.clone();
        cfg.route(
            WEBSOCKET_PATH,
            web::get().to(move |req: HttpRequest, body: web::Payload| {
                let inner = inner.clone();
                async move { Connection::start(inner, &req, body) }
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
            addr,
            handle,
            thread: Some(thread),
        })
    }
}

/// A server started by [`Server::spawn`]. Dropping it stops the server.
pub struct RunningServer {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
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

    fn stop_inner(&mut self) {
        if let Some(thread) = self.thread.take() {
            let handle = self.handle.clone();
            // `stop` returns a future that needs no particular runtime to be driven.
            futures::executor::block_on(handle.stop(false));
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
