//! What the benches share: a bare actix-web-actors echo server (the baseline), a streampod
//! server with bench methods, and a raw WebSocket client that drives both the same way.
#![allow(dead_code)]

use actix::prelude::*;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_web_actors::ws;
use futures::{SinkExt, StreamExt};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};
use streampod::protocol::{Message, OpenCall, Target};
use streampod::{ByteData, Dynamic, Endpoint, InputStream, NoArgs, RunningServer, Server};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// One actor per connection, echoing every binary frame: the ceiling for this stack.
struct BareEcho;

impl Actor for BareEcho {
    type Context = ws::WebsocketContext<Self>;
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for BareEcho {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Binary(bytes)) => ctx.binary(bytes),
            Ok(ws::Message::Ping(p)) => ctx.pong(&p),
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            _ => {}
        }
    }
}

async fn bare_echo(req: HttpRequest, body: web::Payload) -> Result<HttpResponse, actix_web::Error> {
    ws::WsResponseBuilder::new(BareEcho, &req, body)
        .codec(actix_http::ws::Codec::new().max_size(1 << 20))
        .start()
}

/// Starts the bare echo server on its own thread; returns its address.
pub fn start_bare() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(|| App::new().route("/echo", web::get().to(bare_echo)))
                .workers(1)
                .tcp_nodelay(true)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run()
                .await
                .unwrap();
        })
    });
    addr
}

/// Starts streampod with the bench methods: `bench.echo(stream)`, `bench.first()` (one
/// value, then open until cancelled), `bench.produce()` (64-byte values for ever, as fast
/// as it is pulled) and `bench.subscribe()` (the bus channel `fanout`).
pub fn start_streampod() -> RunningServer {
    let bench = Endpoint::new("bench")
        .stream(
            "echo",
            ["stream"],
            |_, _: NoArgs, (s,): (InputStream<ByteData>,)| s,
        )
        .stream("first", [], |_, _: NoArgs, ()| {
            futures::stream::once(async { Ok(1i64) }).chain(futures::stream::pending())
        })
        .stream("produce", [], |_, _: NoArgs, ()| {
            futures::stream::repeat_with(|| Ok(ByteData(vec![7; 64])))
        })
        .stream(
            "subscribe",
            [],
            |session: streampod::Session, _: NoArgs, ()| {
                let messages = session.messages().create_stream::<i64>("fanout");
                messages.map(|m| m.map_err(streampod::StreamError::failed))
            },
        );
    // The benches' connections are opened up front and sit unread while other benches run,
    // a minute and more on a loaded host: with the default ping interval the server would
    // close them as peers that stopped answering (and a bench would fail on a broken pipe).
    let server = Server::builder()
        .endpoint(bench)
        .config(streampod::Config::default().max_calls_per_connection(10_000))
        .websocket_ping_interval(std::time::Duration::from_secs(3600))
        .build()
        .unwrap();
    server
        .spawn(TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap()
}

/// Runs `n` echoes over every connection at once, `in_flight` outstanding on each.
pub async fn pipeline_all(
    connections: &mut [Ws],
    frame: &[u8],
    n: u64,
    in_flight: u64,
) -> Duration {
    let start = Instant::now();
    let share = n.div_ceil(connections.len() as u64).max(1);
    futures::future::join_all(
        connections
            .iter_mut()
            .map(|ws| pipeline(ws, frame, share, in_flight)),
    )
    .await;
    start.elapsed()
}

pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws
}

pub fn target(method: &str, cid: uuid::Uuid, param: Option<&str>) -> Target {
    let target = Target::new("bench", method, cid);
    match param {
        Some(param) => target.with_param(param),
        None => target,
    }
}

pub fn omsc(method: &str, cid: uuid::Uuid, inputs: &[&str]) -> Vec<u8> {
    Message::OpenCall(open_call(method, cid, inputs)).encode()
}

fn open_call(method: &str, cid: uuid::Uuid, inputs: &[&str]) -> OpenCall {
    OpenCall::new("bench", method, cid, vec![0x80], inputs.iter().copied())
}

/// Opens `bench.echo` on `ws`; returns the frame to send for one 64-byte value.
pub async fn open_echo(ws: &mut Ws) -> Vec<u8> {
    open_echo_with(ws, None).await
}

/// [`open_echo`], flow-controlled when `flow` is given (`fc`: credit for the echoes). The
/// server's input credit (`crd` with `p`) is then skipped by [`pipeline`]: with 64 in
/// flight against a window of 256, it is never needed before it comes.
pub async fn open_echo_with(ws: &mut Ws, flow: Option<u32>) -> Vec<u8> {
    let cid = uuid::Uuid::new_v4();
    let open = open_call("echo", cid, &["stream"]);
    let open = Message::OpenCall(match flow {
        Some(credit) => open.with_flow(credit),
        None => open,
    });
    ws.send(WsMessage::Binary(open.encode())).await.unwrap();
    next_binary(ws).await;
    Message::value(
        target("echo", cid, Some("stream")),
        Dynamic::new(&ByteData(vec![7; 64])).unwrap(),
    )
    .encode()
}

/// Opens a bench echo call with key 1 (keyed value frames, docs/PROTOCOL.md §12) and
/// returns the keyed frame of one 64-byte value on its input stream.
pub async fn open_echo_keyed(ws: &mut Ws) -> Vec<u8> {
    let open = open_call("echo", uuid::Uuid::new_v4(), &["stream"]).with_key(1);
    ws.send(WsMessage::Binary(Message::OpenCall(open).encode()))
        .await
        .unwrap();
    next_binary(ws).await;
    Message::keyed_value(1, Some(0), Dynamic::new(&ByteData(vec![7; 64])).unwrap()).encode()
}

pub async fn next_binary(ws: &mut Ws) -> Vec<u8> {
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Binary(b))) => return b,
            Some(Ok(_)) => continue,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

/// Sends `n` copies of `frame` with `in_flight` outstanding, reading every answer.
pub async fn pipeline(ws: &mut Ws, frame: &[u8], n: u64, in_flight: u64) -> Duration {
    pipeline_frames(ws, &WsMessage::Binary(frame.to_vec()), n, in_flight).await
}

/// [`pipeline`] with any frame, binary or text.
pub async fn pipeline_frames(ws: &mut Ws, frame: &WsMessage, n: u64, in_flight: u64) -> Duration {
    let start = Instant::now();
    let (mut sent, mut received) = (0u64, 0u64);
    while sent < n.min(in_flight) {
        ws.feed(frame.clone()).await.unwrap();
        sent += 1;
    }
    ws.flush().await.unwrap();
    while received < n {
        next_data(ws).await;
        received += 1;
        if sent < n {
            ws.send(frame.clone()).await.unwrap();
            sent += 1;
        }
    }
    start.elapsed()
}

/// How every `crd` frame starts: `{"type": "crd"`.
const CREDIT_FRAME: &[u8] = b"\x82\xa4type\xa3crd";

/// The next data frame, binary or text, but for credit.
async fn next_data(ws: &mut Ws) {
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Binary(b))) if b.starts_with(CREDIT_FRAME) => continue,
            Some(Ok(WsMessage::Binary(_) | WsMessage::Text(_))) => return,
            Some(Ok(_)) => continue,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

/// Opens `bench.echo` on `ws` in Serverpod's JSON; returns the text frame of one 64-byte
/// value.
pub async fn open_echo_json(ws: &mut Ws) -> WsMessage {
    let cid = uuid::Uuid::new_v4();
    let open = Message::OpenCall(open_call("echo", cid, &["stream"]));
    ws.send(WsMessage::Text(open.encode_json().unwrap()))
        .await
        .unwrap();
    next_data(ws).await;
    let value = Message::value(
        target("echo", cid, Some("stream")),
        Dynamic::new(&ByteData(vec![7; 64])).unwrap(),
    );
    WsMessage::Text(value.encode_json().unwrap())
}

/// `n` round trips, one at a time; returns each one's duration.
pub async fn round_trips(ws: &mut Ws, frame: &[u8], n: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        ws.send(WsMessage::Binary(frame.to_vec())).await.unwrap();
        next_binary(ws).await;
        samples.push(start.elapsed());
    }
    samples
}

pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// CPU time of every thread but this one (the client's): the servers, of which only the one
/// being driven is busy.
pub fn server_cpu() -> Duration {
    let all: u64 = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .map(|task| thread_cpu_nanos(&task.path()))
        .sum();
    let own = thread_cpu_nanos(std::path::Path::new("/proc/thread-self"));
    Duration::from_nanos(all.saturating_sub(own))
}

/// The CPU time a thread has used, in nanoseconds: the first field of its `schedstat` (the
/// 10 ms ticks of `stat` are too coarse for a bench's few hundred milliseconds).
pub fn thread_cpu_nanos(task: &std::path::Path) -> u64 {
    std::fs::read_to_string(task.join("schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
