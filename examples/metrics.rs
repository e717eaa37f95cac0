//! Metrics for an operator: streampod reports through the `metrics` facade, and this
//! example installs `metrics-exporter-prometheus` and serves `/metrics` from the same
//! actix-web app as the WebSocket.
//!
//! ```text
//! cargo run --example metrics                 # then: curl http://127.0.0.1:8080/metrics
//! cargo run --example metrics -- --bind 127.0.0.1:9000
//! ```
//! It serves `metrics.echo(stream)` and a legacy endpoint, `counting`, so that there is
//! something to count. Every metric is described in docs/OPERATIONS.md.

#[path = "support/metrics_app.rs"]
mod metrics_app;

use std::net::TcpListener;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let mut bind = "127.0.0.1:8080".to_string();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => bind = args.next().ok_or("--bind needs an address")?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    // The recorder first: the server's metrics go to whichever is installed.
    let handle = metrics_app::install_recorder();
    let listener = TcpListener::bind(&bind)?;
    println!("listening on {}", listener.local_addr()?);
    actix_web::rt::System::new().block_on(async move {
        let server = metrics_app::server();
        let http = metrics_app::serve(server.clone(), handle, listener)?;
        // SIGTERM or Ctrl-C: every connection is told (1001) at once, then the server stops.
        let deadline = std::time::Duration::from_secs(5);
        actix_web::rt::spawn(server.shutdown_on_signal(http.handle(), deadline));
        http.await
    })?;
    Ok(())
}
