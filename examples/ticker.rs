//! The ticker: calls that outlive a dropped connection (docs/PROTOCOL.md §11).
//!
//! ```text
//! cargo run --example ticker -- serve --bind 127.0.0.1:8080 [--resume-window-ms MS]
//! cargo run --example ticker -- watch --url http://127.0.0.1:8080 --from 0 --to 100 \
//!     --interval-ms 100 [--no-resume]
//! cargo run --example ticker -- watch --url http://127.0.0.1:8080 --echo 100 \
//!     --interval-ms 100 [--no-resume]
//! ```
//!
//! `serve` serves `ticker.count(from, to, intervalMs)` (the ints from..to, one per interval)
//! and `ticker.echo(stream)` (a bidi echo of ints), and prints `listening on ADDR`. `watch`
//! prints each int it receives on a line of its own, then `done`, or `error: <the error>`;
//! with `--echo N` it sends 0..N through `echo`, one every interval, and prints each echoed
//! int. With `--cut-every-ms MS` (and `--features testing`) `watch` goes through a proxy of
//! its own that cuts the connection every MS milliseconds: the count goes on where it was,
//! with no int lost or repeated; with `--no-resume`, the call fails at the first cut. (Or
//! cut the connection yourself: `ss -K dst 127.0.0.1 dport = 8080`, as root.) With
//! `RUST_LOG=streampod=debug` each drop and resume is logged.

#[path = "support/ticker.rs"]
mod ticker;

use futures::{stream, StreamExt};
use std::net::TcpListener;
use std::time::Duration;
use streampod::client::{Client, ClientConfig, Error};
use streampod::{Config, Server};
use ticker::{Ticker, TickerClient, Ticks};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let mut options = std::collections::HashMap::new();
    let mut resume = true;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-resume" => resume = false,
            name if name.starts_with("--") => {
                let value = args.next().ok_or(format!("{name} needs a value"))?;
                options.insert(name.trim_start_matches("--").to_string(), value);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let number = |name: &str, default: Option<i64>| -> Result<i64, String> {
        match options.get(name) {
            Some(v) => v.parse().map_err(|_| format!("--{name} takes a number")),
            None => default.ok_or(format!("--{name} is needed")),
        }
    };
    match command.as_str() {
        "serve" => {
            let bind = options.get("bind").map_or("127.0.0.1:8080", String::as_str);
            let window = number("resume-window-ms", Some(30_000))?;
            let config = Config::default().resume_window(Duration::from_millis(window as u64));
            let server = Server::builder()
                .endpoint(Ticks.into_endpoint())
                .config(config)
                .build()?;
            let running = server.spawn(TcpListener::bind(bind)?)?;
            println!("listening on {}", running.addr());
            // Serve until the process is killed.
            loop {
                std::thread::park();
            }
        }
        "watch" => {
            let url = options.get("url").ok_or("--url is needed")?.clone();
            let interval = number("interval-ms", Some(100))?;
            let echo = options.contains_key("echo").then(|| number("echo", None));
            let cut_every = options
                .contains_key("cut-every-ms")
                .then(|| number("cut-every-ms", None));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let outcome = runtime.block_on(async {
                let url = match cut_every {
                    Some(every) => {
                        cut_now_and_then(&url, Duration::from_millis(every? as u64)).await?
                    }
                    None => url,
                };
                let config = ClientConfig::default().resume(resume);
                let client = Client::with_config(&url, config).map_err(|e| e.to_string())?;
                let ticker = TickerClient::new(&client);
                let values = match echo {
                    Some(n) => {
                        let every = Duration::from_millis(interval.max(0) as u64);
                        let sent = stream::iter(0..n?).then(move |v| async move {
                            tokio::time::sleep(every).await;
                            v
                        });
                        ticker.echo(sent).boxed()
                    }
                    None => {
                        let (from, to) = (number("from", Some(0))?, number("to", None)?);
                        ticker.count(from, to, interval).boxed()
                    }
                };
                Ok::<_, String>(print_each(values).await)
            })?;
            match outcome {
                Ok(()) => println!("done"),
                Err(e) => println!("error: {}", streampod::protocol::report(&e)),
            }
            Ok(())
        }
        _ => Err("usage: ticker serve --bind ADDR | ticker watch --url URL \
                  (--from A --to B | --echo N) --interval-ms M [--no-resume]"
            .into()),
    }
}

/// A proxy in front of `url` that cuts every connection through it every `every`; returns
/// its URL.
#[cfg(feature = "testing")]
async fn cut_now_and_then(url: &str, every: Duration) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    let host = url.split("://").nth(1).unwrap_or(url).trim_end_matches('/');
    let upstream = host
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or(format!("cannot resolve {host}"))?;
    let proxy = streampod::testing::FaultProxy::start(upstream)
        .await
        .map_err(|e| e.to_string())?;
    let url = proxy.http_url();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            eprintln!("(cut)");
            proxy.cut_all();
        }
    });
    Ok(url)
}

#[cfg(not(feature = "testing"))]
async fn cut_now_and_then(_: &str, _: Duration) -> Result<String, String> {
    Err("--cut-every-ms needs `--features testing`".into())
}

/// Prints each value on a line of its own, until the stream ends or fails.
async fn print_each(
    mut values: impl futures::Stream<Item = Result<i64, Error>> + Unpin,
) -> Result<(), Error> {
    while let Some(value) = values.next().await {
        println!("{}", value?);
    }
    Ok(())
}
