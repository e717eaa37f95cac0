//! The metrics example's server, shared with its test: an echo endpoint, and `/metrics`
//! (Prometheus text) served from the same actix-web app as the WebSocket.

use actix_web::{web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::TcpListener;
use std::time::Duration;
use streampod::legacy::{Legacy, LegacyContext, LegacyEndpoint, LegacySession};
use streampod::{Dynamic, Endpoint, InputStream, NoArgs, Server, StreamError};

/// A legacy endpoint that counts each session's messages in its user object, and answers
/// every message with that count.
pub struct Counting;

impl LegacyEndpoint for Counting {
    type UserObject = i64;

    fn stream_opened(&mut self, ctx: &mut LegacyContext<'_, Self>, session: &LegacySession) {
        ctx.set_user_object(session, 0);
    }

    fn handle_stream_message(
        &mut self,
        ctx: &mut LegacyContext<'_, Self>,
        session: &LegacySession,
        _message: Dynamic,
    ) -> Result<(), StreamError> {
        let count = ctx.user_object(session).copied().unwrap_or(0) + 1;
        ctx.set_user_object(session, count);
        ctx.send_stream_message(session, &count)
            .map_err(StreamError::failed)
    }
}

/// Installs the Prometheus recorder for this process: before any server is built, so that
/// every metric reaches it.
pub fn install_recorder() -> PrometheusHandle {
    PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this process")
}

/// `metrics.echo(stream)`, and the legacy endpoint `counting`: what the example serves.
pub fn server() -> Server {
    let echo = Endpoint::new("metrics").stream(
        "echo",
        ["stream"],
        |_, _: NoArgs, (stream,): (InputStream<i64>,)| stream,
    );
    Server::builder()
        .endpoint(echo)
        .legacy_endpoint(Legacy::new("counting", Counting))
        .build()
        .expect("a valid server")
}

/// Serves `server` and `/metrics` on `listener`, until the returned server is stopped
/// (actix-web's own signal handling is off: see the example's `main`).
pub fn serve(
    server: Server,
    handle: PrometheusHandle,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let hook = server.on_connect_hook();
    Ok(HttpServer::new(move || {
        let (server, handle) = (server.clone(), handle.clone());
        App::new().configure(move |c| server.mount(c)).route(
            "/metrics",
            web::get().to(move || {
                let body = handle.render();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4")
                        .body(body)
                }
            }),
        )
    })
    .on_connect(hook)
    .client_disconnect_timeout(Duration::ZERO)
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}
