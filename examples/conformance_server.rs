//! The conformance server: the `methodStreaming` endpoint with Serverpod's test methods.
//!
//! ```text
//! cargo run --release --example conformance_server -- --bind 127.0.0.1:8080
//! ```
//! Prints `listening on ADDR` once it accepts connections.

#[path = "support/method_streaming.rs"]
mod method_streaming;

use std::net::TcpListener;
use streampod::{Config, Server};

fn main() -> std::io::Result<()> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let mut bind = "127.0.0.1:8080".to_string();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => {
                bind = args
                    .next()
                    .ok_or_else(|| std::io::Error::other("--bind needs ADDR"))?
            }
            other => return Err(std::io::Error::other(format!("unknown argument {other}"))),
        }
    }
    let server = Server::builder()
        .endpoint(method_streaming::endpoint())
        .model::<method_streaming::SimpleData>()
        .model::<method_streaming::ExceptionWithData>()
        .config(Config {
            workers: 2,
            ..Config::default()
        })
        .build();
    let listener = TcpListener::bind(&bind)?;
    let running = server.spawn(listener)?;
    println!("listening on {}", running.addr());
    // Serve until the process is killed.
    loop {
        std::thread::park();
    }
}
