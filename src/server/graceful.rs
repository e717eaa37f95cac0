//! Graceful shutdown of the `HttpServer` that serves a [`Server`], spawned or mounted: one
//! sequence for both, and the signal handler an application that mounts spawns.
//!
//! actix-web's own graceful stop waits for open connections (30 s by default), and a
//! WebSocket never ends by itself: subscribers would hear nothing until it gave up. Here
//! the connections are closed with 1001 first, so the wait is as short as the close
//! handshakes.

use super::Server;
use actix_web::dev::ServerHandle;
use std::time::Duration;

impl Server {
    /// Graceful shutdown of `http`, the `HttpServer` that serves this server: stops
    /// accepting connections, ends every call and every detached session, closes every
    /// connection with 1001 (going away), waits for them to go (at most `deadline`, and for
    /// each legacy session's `stream_closed`), then stops `http`. Returns true when every
    /// connection was gone in time. Runs on the actix runtime that serves `http` (its timer
    /// is tokio's).
    pub async fn shutdown(&self, http: &ServerHandle, deadline: Duration) -> bool {
        http.pause().await;
        let connections = self.connections();
        self.end_detached();
        connections.close_all();
        let gone = async {
            connections.all_gone().await;
            self.legacy_settled().await;
        };
        let clean = tokio::time::timeout(deadline, gone).await.is_ok();
        http.stop(false).await;
        clean
    }

    /// Waits for SIGTERM or SIGINT (Ctrl-C), then shuts `http` down as
    /// [`Server::shutdown`] does. For an application that mounts the server on its own
    /// `HttpServer`: turn actix-web's own signal handling off and spawn this beside it.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use actix_web::{App, HttpServer};
    /// # async fn run(server: streampod::Server) -> std::io::Result<()> {
    /// let app = server.clone();
    /// let http = HttpServer::new(move || {
    ///     let server = app.clone();
    ///     App::new().configure(move |c| server.mount(c))
    /// })
    /// .disable_signals()
    /// .bind("127.0.0.1:8080")?
    /// .run();
    /// actix_web::rt::spawn(server.shutdown_on_signal(http.handle(), Duration::from_secs(10)));
    /// http.await
    /// # }
    /// ```
    pub async fn shutdown_on_signal(self, http: ServerHandle, deadline: Duration) -> bool {
        termination().await;
        log::info!("shutting down: closing every connection (at most {deadline:?})");
        self.shutdown(&http, deadline).await
    }
}

/// Completes at the first SIGTERM or SIGINT (elsewhere than Unix, Ctrl-C).
async fn termination() {
    #[cfg(unix)]
    {
        use actix_web::rt::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                log::error!("cannot listen for signals ({e}): shutdown only on Ctrl-C");
                let _ = actix_web::rt::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = actix_web::rt::signal::ctrl_c().await;
    }
}
