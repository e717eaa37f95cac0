//! [`RunningServer`]: a server on its own actix-web `HttpServer`, in its own thread.
//!
//! Shutdown is written out here, asynchronously: pause accepting, tell every connection to
//! go away (their calls first), wait for the last one to leave (a notification, not a
//! poll) or for the deadline, then stop the `HttpServer` and wait for its thread to end.

use super::Server;
use crate::protocol::WEBSOCKET_PATH;
use futures::channel::oneshot;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// A server started by [`Server::spawn`]. Dropping it stops the server without waiting (its
/// port may still be bound for a moment); [`RunningServer::stop`] stops it and waits until
/// the port is free, [`RunningServer::shutdown`] stops it gracefully and waits.
pub struct RunningServer {
    server: Server,
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    /// Completes when the server's thread has finished.
    finished: Option<oneshot::Receiver<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    pub(super) fn start(
        server: Server,
        listener: TcpListener,
        workers: usize,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let (started, handle) = std::sync::mpsc::channel();
        let (finish, finished) = oneshot::channel();
        let served = server.clone();
        std::thread::Builder::new()
            .name("streampod-server".into())
            .spawn(move || {
                let system = actix_web::rt::System::new();
                let hook = served.on_connect_hook();
                system.block_on(async move {
                    let http = actix_web::HttpServer::new(move || {
                        let server = served.clone();
                        actix_web::App::new().configure(move |c| server.mount(c))
                    })
                    .workers(workers)
                    .tcp_nodelay(true)
                    .disable_signals()
                    .on_connect(hook)
                    .shutdown_timeout(1)
                    // A WebSocket response ends with its close handshake; without this the
                    // HTTP/1 dispatcher lingers up to a second before it closes TCP.
                    .client_disconnect_timeout(Duration::ZERO)
                    .listen(listener);
                    match http {
                        Ok(http) => {
                            let http = http.run();
                            let _ = started.send(Ok(http.handle()));
                            let _ = http.await;
                        }
                        Err(e) => {
                            let _ = started.send(Err(e));
                        }
                    }
                });
                let _ = finish.send(());
            })?;
        let handle = handle
            .recv()
            .map_err(|_| std::io::Error::other("server thread ended before it started"))??;
        Ok(RunningServer {
            server,
            addr,
            handle,
            finished: Some(finished),
        })
    }

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

    /// Stops accepting connections, drops the open ones, and completes when the server's
    /// thread has ended.
    pub async fn stop(mut self) {
        self.handle.stop(false).await;
        self.thread_finished().await;
    }

    /// Graceful shutdown: stops accepting connections, ends every call, closes every
    /// connection with 1001, waits for them to go (at most `deadline`), then stops the
    /// server and waits for its thread. Returns true when every connection was gone before
    /// the deadline. Needs a tokio runtime (for the deadline's timer).
    pub async fn shutdown(mut self, deadline: Duration) -> bool {
        let clean = self.server.shutdown(&self.handle, deadline).await;
        self.thread_finished().await;
        clean
    }

    async fn thread_finished(&mut self) {
        if let Some(finished) = self.finished.take() {
            let _ = finished.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if self.finished.is_some() {
            // The stop command is sent when `stop` is called; not waiting for it keeps
            // `Drop` from blocking whatever thread or task drops the server.
            drop(self.handle.stop(false));
        }
    }
}
