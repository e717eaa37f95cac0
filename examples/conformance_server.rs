//! The conformance server: Serverpod's test endpoints, for conformance testing.
//!
//! ```text
//! cargo run --release --example conformance_server -- --bind 127.0.0.1:8080 \
//!     [--ping-interval SECONDS] [--max-connections N] [--allowed-origin ORIGIN]...
//!     [--auth-cookie NAME] [--redis URL]
//! ```
//! (`--redis` needs `--features redis`.) Prints `listening on ADDR` once it accepts
//! connections. Its authentication handler is a test fixture (see `support/conformance.rs`):
//! never use it for anything real.

#[path = "support/conformance.rs"]
mod conformance;
#[path = "support/method_streaming.rs"]
mod method_streaming;

use std::net::TcpListener;
use std::time::Duration;
use streampod::Config;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let mut bind = "127.0.0.1:8080".to_string();
    let mut origins = Vec::new();
    let mut config = Config::default().workers(2);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--bind" => bind = value()?,
            "--ping-interval" => {
                let secs: u64 = value()?
                    .parse()
                    .map_err(|_| "--ping-interval takes whole seconds")?;
                config = config.websocket_ping_interval(Duration::from_secs(secs));
            }
            "--max-connections" => {
                let n: usize = value()?
                    .parse()
                    .map_err(|_| "--max-connections takes a number")?;
                config = config.max_connections(n);
            }
            "--allowed-origin" => origins.push(value()?),
            "--auth-cookie" => config = config.auth_cookie(Some(value()?)),
            "--redis" => config = config.redis_url(Some(value()?)),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if !origins.is_empty() {
        config = config.allowed_origins(Some(origins));
    }
    let server = conformance::server_builder()
        .config(conformance::with_history(config))
        .build()?;
    let running = server.spawn(TcpListener::bind(&bind)?)?;
    println!("listening on {}", running.addr());
    // Serve until the process is killed.
    loop {
        std::thread::park();
    }
}
