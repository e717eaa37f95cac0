//! Shared helpers: an in-process server with the `methodStreaming` endpoint, a raw
//! WebSocket client that builds frames by hand (with `rmpv`, independently of the crate's
//! own encoder), and condition waits.

#[path = "../../../examples/support/conformance.rs"]
pub mod conformance;
pub mod either_wire;
#[path = "../../../examples/support/method_streaming.rs"]
pub mod method_streaming;
#[path = "../../../examples/support/pixorama.rs"]
// Its models and definition are used here; the server half is the canvas example's.
#[allow(dead_code)]
pub mod pixorama;
#[cfg(feature = "redis")]
pub mod redis;
pub mod rng;
#[path = "../../../examples/support/ticker.rs"]
pub mod ticker;
#[cfg(feature = "typescript")]
#[path = "../../../examples/support/typescript_modules.rs"]
pub mod typescript_modules;

pub use either_wire::{value_of, EitherWire};
pub use rng::Rng;

use futures::{SinkExt, StreamExt};
use rmpv::Value;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use streampod::{Config, RunningServer, Server, Stats};

use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

pub const ENDPOINT: &str = "methodStreaming";
/// How long any single expected event may take before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// How long a failing property over live connections may spend shrinking its input, in
/// milliseconds: a failing case can take `PATIENCE` to fail, so unbounded shrinking would
/// run for many minutes before reporting.
pub const SHRINK_MS: u32 = 30_000;

/// A server on a free loopback port.
pub struct TestServer {
    pub server: Server,
    pub running: RunningServer,
}

impl TestServer {
    pub fn start() -> Self {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Self {
        Self::from_builder(conformance::server_builder().config(conformance::with_history(config)))
    }

    pub fn from_builder(builder: streampod::ServerBuilder) -> Self {
        let server = builder.build().expect("valid settings");
        let running = server
            .spawn(TcpListener::bind("127.0.0.1:0").unwrap())
            .unwrap();
        TestServer { server, running }
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    /// Shuts the server down gracefully; returns it for its final stats, and whether every
    /// connection closed before the deadline.
    pub async fn shutdown(self, deadline: Duration) -> (Server, bool) {
        let clean = self.running.shutdown(deadline).await;
        (self.server, clean)
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.running.addr())
    }

    pub fn stats(&self) -> Stats {
        self.server.stats()
    }

    /// Waits until the server's counters satisfy `cond`.
    pub async fn wait_for_stats(&self, what: &str, cond: impl Fn(&Stats) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let stats = self.server.stats();
            if cond(&stats) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {what}; the server's stats: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Polls `cond` until it holds, failing the test after [`PATIENCE`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Calls `delayedStreamResponse(delay)`, which answers 42 after `secs` seconds.
pub async fn delayed_answer(
    c: &streampod::client::Client,
    secs: u64,
) -> Result<i64, streampod::client::Error> {
    #[derive(serde::Serialize)]
    struct Delay {
        delay: u64,
    }
    c.call::<i64>(
        ENDPOINT,
        "delayedStreamResponse",
        Delay { delay: secs },
        streampod::client::Inputs::new(),
    )
    .await
}

/// A built example, beside the test binary (`target/<profile>/examples/<name>`), and a
/// command that runs it.
pub fn example(name: &str) -> std::process::Command {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let example = path.join("examples").join(name);
    assert!(
        example.exists(),
        "{} is missing: `cargo test --all-features` builds it (`--test integration` alone does not)",
        example.display()
    );
    std::process::Command::new(example)
}

/// Starts `command` (an example that serves, with its arguments) on a free port; the child
/// and the address it printed it listens on (`listening on <addr>`).
pub fn serve_example(command: &mut std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = command
        .args(["--bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    (child, addr)
}

pub fn cid(n: u8) -> String {
    format!("0d3ee6a3-9b59-4c1c-8f0e-5c8e3a1b2f{n:02x}")
}

fn s(v: &str) -> Value {
    Value::from(v)
}

pub fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (s(k), v)).collect())
}

pub fn no_args() -> Value {
    Value::Map(vec![])
}

pub fn wrapped(class: &str, data: Value) -> Value {
    map(vec![("className", s(class)), ("data", data)])
}

pub fn int(v: i64) -> Value {
    wrapped("int", Value::from(v))
}

pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, v).unwrap();
    out
}

pub fn frame(kind: &str, data: Option<Value>) -> Vec<u8> {
    let mut entries = vec![("type", s(kind))];
    if let Some(data) = data {
        entries.push(("data", data));
    }
    encode(&map(entries))
}

pub fn ping() -> Vec<u8> {
    frame("ping", None)
}

pub fn omsc(method: &str, cid: &str, args: Value, inputs: &[&str]) -> Vec<u8> {
    omsc_to(ENDPOINT, method, cid, args, inputs, None)
}

/// An `omsc` to any endpoint, with an optional `auth` value.
pub fn omsc_to(
    endpoint: &str,
    method: &str,
    cid: &str,
    args: Value,
    inputs: &[&str],
    auth: Option<&str>,
) -> Vec<u8> {
    let is = Value::Array(inputs.iter().map(|n| s(n)).collect());
    let mut data = vec![
        ("en", s(endpoint)),
        ("m", s(method)),
        ("cid", s(cid)),
        ("args", args),
        ("is", is),
    ];
    if let Some(auth) = auth {
        data.push(("auth", s(auth)));
    }
    frame("omsc", Some(map(data)))
}

fn target(method: &str, cid: &str, param: Option<&str>) -> Vec<(&'static str, Value)> {
    target_at(ENDPOINT, method, cid, param)
}

fn target_at(
    endpoint: &str,
    method: &str,
    cid: &str,
    param: Option<&str>,
) -> Vec<(&'static str, Value)> {
    let mut t = vec![("en", s(endpoint)), ("m", s(method)), ("cid", s(cid))];
    if let Some(p) = param {
        t.push(("p", s(p)));
    }
    t
}

pub fn msm(method: &str, cid: &str, param: Option<&str>, o: Value) -> Vec<u8> {
    let mut d = target(method, cid, param);
    d.push(("o", o));
    frame("msm", Some(map(d)))
}

/// An `msm` to any endpoint.
pub fn msm_to(endpoint: &str, method: &str, cid: &str, param: Option<&str>, o: Value) -> Vec<u8> {
    let mut d = target_at(endpoint, method, cid, param);
    d.push(("o", o));
    frame("msm", Some(map(d)))
}

pub fn msse(method: &str, cid: &str, param: Option<&str>, ex: Value) -> Vec<u8> {
    let mut d = target(method, cid, param);
    d.push(("ex", ex));
    frame("msse", Some(map(d)))
}

pub fn cmsc(method: &str, cid: &str, param: Option<&str>, reason: &str) -> Vec<u8> {
    let mut d = target(method, cid, param);
    d.push(("cr", s(reason)));
    frame("cmsc", Some(map(d)))
}

/// The `kind` of a keyed value frame the server sent, whose `data` is its array.
pub const KEYED: &str = "keyed";

/// A keyed value frame: `[k, i, className, data]`.
pub fn keyed(key: u64, input: Option<u64>, class: &str, data: Value) -> Vec<u8> {
    encode(&Value::Array(vec![
        Value::from(key),
        input.map_or(Value::Nil, Value::from),
        s(class),
        data,
    ]))
}

/// A frame the server sent, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub kind: String,
    pub data: Option<Value>,
}

impl Frame {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.data {
            Some(Value::Map(entries)) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The wrapped value in `o` (or `ex`): its class and data.
    pub fn wrapped(&self, key: &str) -> (String, Value) {
        let v = self
            .get(key)
            .unwrap_or_else(|| panic!("no `{key}` in {self:?}"));
        let field = |name: &str| {
            v.as_map()
                .unwrap()
                .iter()
                .find(|(k, _)| k.as_str() == Some(name))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Nil)
        };
        (
            field("className").as_str().unwrap().to_string(),
            field("data"),
        )
    }

    /// The `o` of an `msm`, as an int.
    pub fn int(&self) -> i64 {
        assert_eq!(self.kind, "msm", "expected msm, got {self:?}");
        let (class, data) = self.wrapped("o");
        assert_eq!(class, "int");
        data.as_i64().unwrap()
    }

    /// Asserts this is `cmsc` for `cid` with parameter `param` and reason `reason`.
    pub fn assert_close(&self, cid: &str, param: Option<&str>, reason: &str) {
        assert_eq!(self.kind, "cmsc", "expected cmsc, got {self:?}");
        assert_eq!(self.str("cid"), Some(cid), "{self:?}");
        assert_eq!(self.str("p"), param, "{self:?}");
        assert_eq!(self.str("cr"), Some(reason), "{self:?}");
    }

    /// The key, input, class and data of a keyed value frame.
    pub fn keyed(&self) -> (u64, Option<u64>, String, Value) {
        assert_eq!(
            self.kind, KEYED,
            "expected a keyed value frame, got {self:?}"
        );
        let Some(Value::Array(items)) = &self.data else {
            panic!("{self:?}")
        };
        assert_eq!(items.len(), 4, "{self:?}");
        (
            items[0].as_u64().expect("k"),
            items[1].as_u64(),
            items[2].as_str().expect("className").to_string(),
            items[3].clone(),
        )
    }

    /// Asserts this is `omsr` for `cid` with response `res`.
    pub fn assert_open(&self, cid: &str, res: &str) {
        self.assert_open_at(ENDPOINT, cid, res);
    }

    /// Asserts this is `omsr` from `endpoint` for `cid` with response `res`.
    pub fn assert_open_at(&self, endpoint: &str, cid: &str, res: &str) {
        assert_eq!(self.kind, "omsr", "expected omsr, got {self:?}");
        assert_eq!(self.str("cid"), Some(cid));
        assert_eq!(self.str("res"), Some(res), "{self:?}");
        assert_eq!(self.str("en"), Some(endpoint));
    }
}

/// What came back instead of a frame.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Closed(Option<u16>),
    Dropped,
}

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw WebSocket client.
pub struct RawClient {
    sink: Option<futures::stream::SplitSink<Ws, WsMessage>>,
    stream: futures::stream::SplitStream<Ws>,
}

/// The writing half of a split [`RawClient`].
pub struct RawSink {
    sink: futures::stream::SplitSink<Ws, WsMessage>,
}

impl RawSink {
    pub async fn send(
        &mut self,
        bytes: Vec<u8>,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.sink.send(WsMessage::Binary(bytes)).await
    }
}

impl RawClient {
    pub async fn connect(server: &TestServer) -> Self {
        Self::connect_with_headers(server, &[]).await
    }

    /// Connects to the legacy endpoints (`/websocket`).
    pub async fn connect_legacy(server: &TestServer) -> Self {
        Self::connect_url(&format!("ws://{}/websocket", server.running.addr())).await
    }

    /// Connects to a `ws://` URL (without the server at hand, in a task of its own).
    pub async fn connect_url(url: &str) -> Self {
        let (ws, _) = connect_async(url).await.expect("connect");
        let (sink, stream) = ws.split();
        RawClient {
            sink: Some(sink),
            stream,
        }
    }

    /// Connects with extra handshake headers (`Cookie`, `Origin`).
    pub async fn connect_with_headers(
        server: &TestServer,
        headers: &[(&'static str, &str)],
    ) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = server.url().into_client_request().unwrap();
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, value.parse().expect("a header value"));
        }
        let (ws, _) = connect_async(request).await.expect("connect");
        let (sink, stream) = ws.split();
        RawClient {
            sink: Some(sink),
            stream,
        }
    }

    fn sink(&mut self) -> &mut futures::stream::SplitSink<Ws, WsMessage> {
        self.sink.as_mut().expect("this half cannot send")
    }

    pub async fn send(&mut self, bytes: Vec<u8>) {
        self.sink()
            .send(WsMessage::Binary(bytes))
            .await
            .expect("send");
    }

    /// Sends binary frames in one write, so that the server reads them together.
    pub async fn send_together(&mut self, frames: Vec<Vec<u8>>) {
        let sink = self.sink();
        for frame in frames {
            sink.feed(WsMessage::Binary(frame)).await.expect("send");
        }
        sink.flush().await.expect("send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.sink()
            .send(WsMessage::Text(text.to_string()))
            .await
            .expect("send");
    }

    /// A writing half and a reading half, to send and receive at the same time.
    pub fn split(mut self) -> (RawSink, RawClient) {
        let sink = self.sink.take().expect("not split yet");
        (RawSink { sink }, self)
    }

    /// The next protocol frame, or how the connection ended.
    pub async fn next(&mut self) -> Result<Frame, Ended> {
        // One deadline for the frame, however many pings come before it.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("timed out waiting for a frame");
            match msg {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    let v = rmpv::decode::read_value(&mut bytes.as_slice())
                        .expect("server sent invalid MessagePack");
                    // A keyed value frame (docs/PROTOCOL.md §12): its four items.
                    if v.is_array() {
                        return Ok(Frame {
                            kind: KEYED.to_string(),
                            data: Some(v),
                        });
                    }
                    let get = |k: &str| {
                        v.as_map()
                            .expect("frame is a map")
                            .iter()
                            .find(|(key, _)| key.as_str() == Some(k))
                            .map(|(_, v)| v.clone())
                    };
                    let kind = get("type")
                        .and_then(|t| t.as_str().map(str::to_string))
                        .expect("type");
                    return Ok(Frame {
                        kind,
                        data: get("data"),
                    });
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    return Err(Ended::Closed(frame.map(|f| u16::from(f.code))));
                }
                Some(Ok(WsMessage::Text(t))) => panic!("server sent a text frame: {t}"),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Ended::Dropped),
            }
        }
    }

    /// The next frame of a JSON connection, as the server wrote it.
    pub async fn next_text(&mut self) -> Result<String, Ended> {
        // One deadline for the frame, however many pings come before it.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("timed out waiting for a frame");
            match msg {
                Some(Ok(WsMessage::Text(text))) => return Ok(text.to_string()),
                Some(Ok(WsMessage::Binary(_))) => panic!("a binary frame on a JSON connection"),
                Some(Ok(WsMessage::Close(frame))) => {
                    return Err(Ended::Closed(frame.map(|f| u16::from(f.code))));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Ended::Dropped),
            }
        }
    }

    /// The next frame of a JSON connection; the connection must not end.
    pub async fn recv_text(&mut self) -> String {
        match self.next_text().await {
            Ok(text) => text,
            Err(e) => panic!("expected a frame, connection ended: {e:?}"),
        }
    }

    pub async fn recv(&mut self) -> Frame {
        match self.next().await {
            Ok(f) => f,
            Err(e) => panic!("expected a frame, connection ended: {e:?}"),
        }
    }

    /// Receives `n` frames.
    pub async fn recv_n(&mut self, n: usize) -> Vec<Frame> {
        let mut frames = Vec::with_capacity(n);
        for _ in 0..n {
            frames.push(self.recv().await);
        }
        frames
    }

    /// Expects the server to close the connection; returns the close code.
    pub async fn expect_closed(&mut self) -> Option<u16> {
        loop {
            match self.next().await {
                Err(Ended::Closed(code)) => return code,
                Err(Ended::Dropped) => return None,
                // Frames written before the close may still arrive.
                Ok(_) => continue,
            }
        }
    }

    /// Proves that nothing else is queued: sends `ping` and expects `pong` as the very next
    /// frame.
    pub async fn expect_quiet(&mut self) {
        self.send(ping()).await;
        let f = self.recv().await;
        assert_eq!(
            f.kind, "pong",
            "expected nothing before the pong, got {f:?}"
        );
    }

    /// Drops the TCP connection without a close handshake.
    pub fn drop_tcp(self) {
        drop(self);
    }

    pub async fn close(mut self) {
        let _ = self.sink().close().await;
    }
}

/// A TCP connection upgraded to a WebSocket by hand, to write raw bytes on.
pub async fn raw_upgrade(server: &TestServer) -> tokio::net::TcpStream {
    raw_upgrade_at(server, "/v1/websocket").await
}

/// One masked client frame, as a client writes it on a raw connection.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    client_frame_as(0x80 | opcode, payload)
}

/// [`client_frame`] with `first` as the header's first byte, as it is (FIN, reserved bits
/// and opcode): fragments, and frames a client must not send.
pub fn client_frame_as(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = frame_head(first, 0x80, payload.len());
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// One frame as a server writes it (never masked): `first` is the header's first byte
/// (FIN, reserved bits and opcode), as it is, so that tests can write forbidden ones.
pub fn server_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = frame_head(first, 0, payload.len());
    frame.extend_from_slice(payload);
    frame
}

/// The frames a server wrote (unmasked), as (first byte, payload), up to the end of `bytes`.
pub fn server_frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let (first, short) = (bytes[at], usize::from(bytes[at + 1] & 0x7f));
        let (len, head) = match short {
            126 => (
                usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])),
                4,
            ),
            127 => panic!("no server frame over 64 KiB expected here"),
            n => (n, 2),
        };
        frames.push((first, bytes[at + head..at + head + len].to_vec()));
        at += head + len;
    }
    assert_eq!(at, bytes.len(), "a server frame cut short");
    frames
}

/// A frame header: `first`, then the length in its shortest form, with the mask bit `mask`.
fn frame_head(first: u8, mask: u8, len: usize) -> Vec<u8> {
    let mut head = vec![first];
    match len {
        n if n < 126 => head.push(mask | n as u8),
        n if n <= usize::from(u16::MAX) => {
            head.push(mask | 126);
            head.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            head.push(mask | 127);
            head.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    head
}

/// Sends `frame` on a fresh connection at `path`, then reads without ever closing until the
/// server's EOF; returns what arrived and how long the EOF took.
pub async fn send_and_read_to_eof(
    server: &TestServer,
    path: &str,
    frame: &[u8],
) -> (Vec<u8>, Duration) {
    send_and_read_to_eof_on(raw_upgrade_at(server, path).await, frame).await
}

/// [`send_and_read_to_eof`] on a connection upgraded already.
pub async fn send_and_read_to_eof_on(
    mut tcp: tokio::net::TcpStream,
    frame: &[u8],
) -> (Vec<u8>, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    tcp.write_all(frame).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut received))
        .await
        .expect("the server never closed TCP")
        .expect("the server closed TCP cleanly");
    (received, started.elapsed())
}

/// [`raw_upgrade`] on another path (`/websocket` for the legacy endpoints).
pub async fn raw_upgrade_at(server: &TestServer, path: &str) -> tokio::net::TcpStream {
    let (status, tcp) = raw_handshake(server.running.addr(), path).await;
    assert_eq!(status, "101", "the upgrade is accepted");
    tcp
}

/// Sends a WebSocket upgrade request for `path` and reads the whole response head; returns
/// its status code and the connection.
pub async fn raw_handshake(
    addr: std::net::SocketAddr,
    path: &str,
) -> (String, tokio::net::TcpStream) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw_handshake_on(tcp, addr, path).await
}

/// [`raw_handshake`] on a connection the caller made (with its own socket options).
pub async fn raw_handshake_on(
    mut tcp: tokio::net::TcpStream,
    addr: std::net::SocketAddr,
    path: &str,
) -> (String, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&head[9..12]).to_string();
    (status, tcp)
}

/// Runs a test once on each wire: `wire_test!(async fn name(wire) { .. })` makes the tests
/// `name::messagepack` and `name::json`, each calling the body with its `Encoding`.
macro_rules! wire_test {
    (async fn $name:ident($wire:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($wire: streampod::Encoding) $body

            #[tokio::test]
            async fn messagepack() {
                run(streampod::Encoding::MessagePack).await
            }

            #[tokio::test]
            async fn json() {
                run(streampod::Encoding::Json).await
            }
        }
    };
}
pub(crate) use wire_test;

/// A client of `server` speaking `wire`.
pub fn client_on(server: &TestServer, wire: streampod::Encoding) -> streampod::client::Client {
    streampod::client::Client::builder(&server.http_url())
        .config(streampod::client::ClientConfig::default().encoding(wire))
        .build()
        .unwrap()
}

/// What a revoked call ends with on `wire`: streampod's MessagePack wire says it was a
/// revocation; Serverpod's JSON has only the plain close with an error.
pub fn revoked_on(wire: streampod::Encoding) -> streampod::client::Error {
    match wire {
        streampod::Encoding::Json => streampod::client::Error::ClosedWithError,
        _ => streampod::client::Error::Revoked,
    }
}
