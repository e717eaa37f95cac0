//! The soak: a few hundred connections doing a random mix for about a minute (short and
//! endless streams, input streams, cancels, exceptions both ways, flow-controlled calls
//! with windows of 1 and 2, legacy sessions, bus posts, clients that stop reading, abrupt
//! disconnects), at a few thousand messages a second. Each call that was not cancelled
//! ends with the values it was sent, in order. Afterwards no connection or call is left,
//! no frame was refused as malformed (every client here is well-formed), and the server's
//! live heap is back to where it was after a first, shorter round (a counting global
//! allocator, as `examples/scale.rs` uses): what a leak would grow, round after round.
//!
//! A binary of its own: the allocator and the metrics recorder are global to a process.

#[path = "../examples/support/conformance.rs"]
mod conformance;
#[path = "../examples/support/counting_alloc.rs"]
mod counting_alloc;
#[path = "../examples/support/method_streaming.rs"]
mod method_streaming;
#[path = "integration/support/rng.rs"]
mod rng;

use futures::{stream, SinkExt, StreamExt};
use method_streaming::{ExceptionWithData, SimpleData};
use rng::Rng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streampod::client::{Client, ClientConfig, Error, Inputs, LegacyClient};
use streampod::protocol::{Message, OpenCall};
use streampod::{Encoding, NoArgs, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const M: &str = "methodStreaming";
/// Clients at once, each a connection of its own (and more while it opens legacy sessions,
/// raw sockets, or a new socket after its last one lingered out).
const CLIENTS: u64 = 200;
/// The server's pings: a peer that stops reading is dropped after two of them.
const PING: Duration = Duration::from_secs(2);
/// A peer that stopped reading is closed by then (two pings, and a pong timeout or the
/// send timeout's, with room to spare on a loaded debug build).
const DROPPED_WITHIN: Duration = Duration::from_secs(12);
/// Any single step may take this long on a loaded debug build before the soak fails.
const STEP: Duration = Duration::from_secs(30);
/// Live heap a second round may keep beyond the first: caches that grew to a round's peak
/// (hash maps keep their capacity). A leak of one allocation per call or connection
/// exceeds it within the round.
const SLACK: usize = 512 * 1024;

/// Counts only what says a frame was refused: protocol errors, and closes by code.
#[derive(Default)]
struct Refusals(Mutex<HashMap<String, Arc<AtomicU64>>>);

impl metrics::Recorder for Refusals {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        if !matches!(
            key.name(),
            "streampod_protocol_errors_total" | "streampod_closes_total"
        ) {
            return metrics::Counter::noop();
        }
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let mut counts = self.0.lock().unwrap();
        metrics::Counter::from_arc(counts.entry(name).or_default().clone())
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// What a round did, for the report.
#[derive(Default)]
struct Tally {
    calls: AtomicU64,
    values: AtomicU64,
    cancelled: AtomicU64,
    legacy: AtomicU64,
    bus: AtomicU64,
    non_reading: AtomicU64,
    /// Peers that stopped reading, held past the bound and found closed by the server.
    non_reading_closed: AtomicU64,
    dropped: AtomicU64,
}

/// `future`, or a failure naming `what`, after [`STEP`].
async fn step<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {STEP:?}"))
}

#[derive(serde::Serialize)]
struct Value {
    value: i64,
}

#[derive(serde::Serialize)]
struct Delay {
    #[serde(rename = "millisecondsDelay")]
    milliseconds_delay: i64,
}

#[derive(serde::Serialize)]
struct Channel {
    channel: String,
}

#[derive(serde::Serialize)]
struct Post {
    channel: String,
    text: String,
    scope: &'static str,
}

/// One client: a random mix until `until`.
async fn client(addr: std::net::SocketAddr, seed: u64, until: Instant, tally: Arc<Tally>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let url = format!("http://{addr}");
    let wire = if rng.below(4) == 0 {
        Encoding::Json
    } else {
        Encoding::MessagePack
    };
    let window = [None, Some(1), Some(2), Some(1024)][rng.below(4) as usize];
    let config = ClientConfig::default().encoding(wire).window(window);
    let c = Client::builder(&url)
        .config(config.clone())
        .model::<SimpleData>()
        .model::<ExceptionWithData>()
        .build()
        .unwrap();
    let mut stopped_reading = Vec::new();
    let mut round = 0u64;
    while Instant::now() < until {
        round += 1;
        tally.calls.fetch_add(1, Ordering::Relaxed);
        match rng.below(100) {
            // A bidirectional echo.
            0..=24 => {
                let n = rng.below(64) as i64 + 1;
                let inputs = Inputs::new().values("stream", stream::iter(0..n));
                let got: Vec<_> = step(
                    "an echo",
                    c.stream::<i64>(M, "intEchoStream", NoArgs {}, inputs)
                        .collect(),
                )
                .await;
                assert_eq!(got, (0..n).map(Ok).collect::<Vec<_>>(), "an echo of {n}");
                tally.values.fetch_add(2 * n as u64, Ordering::Relaxed);
            }
            // A short stream.
            25..=39 => {
                let n = rng.below(100) as i64;
                let got: Vec<_> = step(
                    "a stream",
                    c.stream::<i64>(M, "intStreamFromValue", Value { value: n }, Inputs::new())
                        .collect(),
                )
                .await;
                assert_eq!(got, (0..n).map(Ok).collect::<Vec<_>>());
                tally.values.fetch_add(n as u64, Ordering::Relaxed);
            }
            // An endless stream, cancelled after a few values.
            40..=49 => {
                let k = rng.below(20) as usize + 1;
                let endless = c.stream::<i64>(
                    M,
                    "neverEndingStreamWithDelay",
                    Delay {
                        milliseconds_delay: 2,
                    },
                    Inputs::new(),
                );
                let got: Vec<_> = step("an endless stream", endless.take(k).collect()).await;
                assert_eq!(got, (0..k as i64).map(Ok).collect::<Vec<_>>());
                tally.cancelled.fetch_add(1, Ordering::Relaxed);
                tally.values.fetch_add(k as u64, Ordering::Relaxed);
            }
            // A Future fed by an input stream.
            50..=59 => {
                let v = rng.below(1000) as i64;
                let inputs = Inputs::new().values("stream", stream::iter([v]));
                let got = step(
                    "a future",
                    c.call::<i64>(M, "intReturnFromStream", NoArgs {}, inputs),
                )
                .await;
                assert_eq!(got, Ok(v));
                tally.values.fetch_add(2, Ordering::Relaxed);
            }
            // An exception from the server, after which the socket goes on.
            60..=64 => {
                let got: Vec<_> = step(
                    "an exception",
                    c.stream::<i64>(
                        M,
                        "outStreamThrowsSerializableException",
                        NoArgs {},
                        Inputs::new(),
                    )
                    .collect(),
                )
                .await;
                match got.as_slice() {
                    [Err(Error::ServerException(e))] => {
                        assert_eq!(e.class_name(), "ExceptionWithData")
                    }
                    other => panic!("expected the exception: {other:?}"),
                }
            }
            // An exception from the client, which the method sees as such.
            65..=69 => {
                let failing = stream::iter([
                    Ok(1i64),
                    Err(StreamError::exception(ExceptionWithData::thrown())),
                ]);
                let inputs = Inputs::new().stream("stream", failing);
                let got = step(
                    "a client exception",
                    c.call::<bool>(
                        M,
                        "didInputStreamHaveSerializableExceptionError",
                        NoArgs {},
                        inputs,
                    ),
                )
                .await;
                assert_eq!(got, Ok(true));
            }
            // A legacy session on the echoing endpoint.
            70..=79 => {
                let legacy = LegacyClient::with_config(&url, None, config.clone()).unwrap();
                step("a legacy open", legacy.open_streaming_connection())
                    .await
                    .unwrap();
                let endpoint = legacy.endpoint("streaming");
                let mut echoes = endpoint.stream();
                let n = rng.below(20) as i64 + 1;
                for num in 0..n {
                    endpoint.send(&SimpleData { num }).unwrap();
                }
                for num in 0..n {
                    let echo = step("a legacy echo", echoes.next()).await.unwrap().unwrap();
                    assert_eq!(echo.decode::<SimpleData>().unwrap(), SimpleData { num });
                }
                legacy.close_streaming_connection().await;
                tally.legacy.fetch_add(1, Ordering::Relaxed);
                tally.values.fetch_add(2 * n as u64, Ordering::Relaxed);
            }
            // Bus posts, from a call, to a subscriber on the same socket.
            80..=89 => {
                let channel = format!("soak-{seed}-{round}");
                let subscription = c.stream::<String>(
                    "bus",
                    "subscribe",
                    Channel {
                        channel: channel.clone(),
                    },
                    Inputs::new(),
                );
                let (seen, mut ready) = tokio::sync::oneshot::channel::<()>();
                let n = rng.below(30) as usize + 1;
                let reader = tokio::spawn(async move {
                    let mut subscription = subscription;
                    let mut seen = Some(seen);
                    let mut got = Vec::new();
                    while got.len() < n {
                        let message = subscription
                            .next()
                            .await
                            .expect("the subscription goes on")
                            .unwrap();
                        if message == "ready?" {
                            seen.take().map(|s| s.send(()));
                        } else {
                            got.push(message);
                        }
                    }
                    got
                });
                // Posts once the subscription is in place: the bus keeps no history.
                let post = |text: String| Post {
                    channel: channel.clone(),
                    text,
                    scope: "local",
                };
                loop {
                    let posted = step(
                        "a bus post",
                        c.call::<bool>("bus", "post", post("ready?".into()), Inputs::new()),
                    )
                    .await;
                    assert_eq!(posted, Ok(true));
                    if tokio::time::timeout(Duration::from_millis(20), &mut ready)
                        .await
                        .is_ok()
                    {
                        break;
                    }
                }
                for i in 0..n {
                    let posted = step(
                        "a bus post",
                        c.call::<bool>("bus", "post", post(i.to_string()), Inputs::new()),
                    )
                    .await;
                    assert_eq!(posted, Ok(true));
                }
                let got = step("the bus messages", reader).await.unwrap();
                assert_eq!(
                    got,
                    (0..n).map(|i| i.to_string()).collect::<Vec<_>>(),
                    "in posting order"
                );
                tally.bus.fetch_add(1, Ordering::Relaxed);
                tally.values.fetch_add(2 * n as u64, Ordering::Relaxed);
            }
            // An abrupt disconnect: a call's input half sent, then TCP dropped.
            90..=94 => {
                let (mut ws, _) =
                    tokio_tungstenite::connect_async(format!("ws://{addr}/v1/websocket"))
                        .await
                        .unwrap();
                ws.send(WsMessage::Binary(open("intEchoStream", &["stream"])))
                    .await
                    .unwrap();
                drop(ws);
                tally.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // A peer that opens a flood and never reads: the server drops it.
            95..=96 if stopped_reading.is_empty() => {
                stopped_reading.push((non_reading(addr).await, Instant::now()));
                tally.non_reading.fetch_add(1, Ordering::Relaxed);
            }
            // A pause: the socket may linger out, and the next call opens another.
            _ => tokio::time::sleep(Duration::from_millis(rng.below(1500))).await,
        }
    }
    for (tcp, since) in stopped_reading {
        if since.elapsed() >= DROPPED_WITHIN {
            closed_by_server(tcp).await;
            tally.non_reading_closed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Reads what a peer that stopped reading had left unread: the server must have closed the
/// connection (with a close frame after a pong timeout, or by the kernel's abort after the
/// send timeout: either way the stream ends), not be streaming on.
async fn closed_by_server(mut tcp: tokio::net::TcpStream) {
    let mut buffer = vec![0; 64 * 1024];
    let mut read = 0usize;
    loop {
        match step("reading a dropped peer's socket", tcp.read(&mut buffer)).await {
            Ok(0) | Err(_) => return,
            Ok(n) => read += n,
        }
        // The server's buffers and the socket's hold a few MiB at most.
        assert!(
            read < 64 << 20,
            "a peer that stopped reading {DROPPED_WITHIN:?} ago still receives"
        );
    }
}

/// An `omsc` for `methodStreaming.method` without arguments.
fn open(method: &str, inputs: &[&str]) -> Vec<u8> {
    let open = OpenCall::new(
        M,
        method,
        uuid::Uuid::new_v4(),
        vec![0x80],
        inputs.iter().copied(),
    );
    Message::OpenCall(open).encode()
}

/// A raw connection with a 4 KiB receive buffer that opens a flood and never reads.
async fn non_reading(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET /v1/websocket HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    let mut args = Vec::new();
    rmp::encode::write_map_len(&mut args, 1).unwrap();
    rmp::encode::write_str(&mut args, "value").unwrap();
    rmp::encode::write_sint(&mut args, 1 << 40).unwrap();
    let open = OpenCall::new(M, "intStreamFromValue", uuid::Uuid::new_v4(), args, [""; 0]);
    let flood = Message::OpenCall(open).encode();
    // One masked binary frame (a zero mask).
    let mut frame = vec![0x82, 0x80 | 126];
    frame.extend_from_slice(&(flood.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&flood);
    tcp.write_all(&frame).await.unwrap();
    tcp
}

/// Runs `CLIENTS` clients for `length`; returns what they did.
async fn round(addr: std::net::SocketAddr, seed: u64, length: Duration) -> Tally {
    let tally = Arc::new(Tally::default());
    let until = Instant::now() + length;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(addr, seed * 1000 + n, until, tally.clone())))
        .collect();
    for c in clients {
        c.await.expect("a client failed");
    }
    Arc::into_inner(tally).unwrap()
}

/// Waits until the server holds no connection, call, queued value or unsent byte.
async fn all_released(server: &streampod::Server) {
    let deadline = Instant::now() + STEP;
    loop {
        let s = server.stats();
        let legacy = server.legacy_stats("streaming").unwrap();
        if s.open_connections == 0
            && s.open_calls == 0
            && s.queued_inputs == 0
            && s.outbound_queued_bytes == 0
            && s.bus_channels == 0
            && legacy.sessions == 0
            && legacy.user_objects == 0
        {
            return;
        }
        assert!(Instant::now() < deadline, "left behind: {s:?} {legacy:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn a_minute_of_random_traffic_leaves_nothing_behind() {
    let _ = env_logger::try_init();
    let refusals: &'static Refusals = Box::leak(Box::default());
    metrics::set_global_recorder(refusals).unwrap();
    let server = conformance::server_builder()
        .config(streampod::Config::default().workers(1))
        .websocket_ping_interval(PING)
        .build()
        .unwrap();
    let running = server
        .spawn(std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let addr = running.addr();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The first round grows what a server keeps for reuse (buffers, maps, the metrics'
        // handles); the second must not grow it further.
        let started = Instant::now();
        let first = round(addr, 1, Duration::from_secs(15)).await;
        all_released(&server).await;
        let baseline = counting_alloc::live();
        let second_started = Instant::now();
        let second = round(addr, 2, Duration::from_secs(30)).await;
        let busy = second_started.elapsed();
        all_released(&server).await;
        let after = counting_alloc::live();
        for (name, t) in [("first", &first), ("second", &second)] {
            eprintln!(
                "{name} round: {} calls ({} cancelled), {} values, {} legacy sessions, {} bus \
                 rounds, {} peers that stopped reading ({} found closed), {} dropped sockets",
                t.calls.load(Ordering::Relaxed),
                t.cancelled.load(Ordering::Relaxed),
                t.values.load(Ordering::Relaxed),
                t.legacy.load(Ordering::Relaxed),
                t.bus.load(Ordering::Relaxed),
                t.non_reading.load(Ordering::Relaxed),
                t.non_reading_closed.load(Ordering::Relaxed),
                t.dropped.load(Ordering::Relaxed),
            );
        }
        eprintln!(
            "second round: {:.0} values/s; live heap {baseline} B after the first round, {after} B \
             after the second; {:.0?} in all",
            second.values.load(Ordering::Relaxed) as f64 / busy.as_secs_f64(),
            started.elapsed()
        );
        assert!(
            second.non_reading.load(Ordering::Relaxed) > 0,
            "some peers stopped reading"
        );
        assert!(
            second.non_reading_closed.load(Ordering::Relaxed) > 0,
            "some peers that stopped reading were held long enough to check"
        );
        let counts = refusals.0.lock().unwrap();
        let refused: Vec<_> = counts
            .iter()
            .filter(|(name, n)| {
                n.load(Ordering::Relaxed) > 0
                    && (name.starts_with("streampod_protocol_errors_total")
                        || ["1002", "1003", "1007", "1008", "1009"]
                            .iter()
                            .any(|c| name.contains(&format!("code={c}"))))
            })
            .map(|(name, n)| format!("{name} {}", n.load(Ordering::Relaxed)))
            .collect();
        assert!(
            refused.is_empty(),
            "a well-formed client's frame was refused: {refused:?}"
        );
        assert!(
            after <= baseline + SLACK,
            "the live heap grew from {baseline} B to {after} B"
        );
    });
    drop(running);
}
