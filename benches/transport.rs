//! The Rust client's WebSocket transport, measured before writing one (the client now has
//! its own, `src/client/transport`, in the lean codec's shape): the client-side cost per
//! frame of `tokio-tungstenite` (what the client used), `tokio-websockets`,
//! `fastwebsockets`, and a lean codec of our own straight over tokio's `TcpStream` (frames
//! masked and written into one buffer, read in place from another), each driving the same
//! bare actix-web-actors echo server. As deployed: the server in a process of its own
//! pinned to core 1, each client in another pinned to core 0; 80-byte binary frames (a
//! keyed value frame of 64 bytes is 78), 64 in flight on one connection, five interleaved
//! rounds of 4 s; medians, ratios to tokio-tungstenite with the per-round range.
//!
//! Every client reads every frame the socket has ready, then answers each with the next one
//! and sends them in one write. fastwebsockets cannot tell whether a frame is ready without
//! waiting for one, and its `write_frame` writes each frame through at once, so its client
//! reads one and answers it.
//!
//! ```text
//! cargo bench --bench transport
//! ```

#[path = "support/harness.rs"]
mod harness;
#[path = "support/processes.rs"]
mod processes;

use futures::future::LocalBoxFuture;
use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use processes::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FRAME: usize = 80;
const IN_FLIGHT: u64 = 64;
const TRANSPORTS: [&str; 4] = [
    "tokio-tungstenite",
    "tokio-websockets",
    "fastwebsockets",
    "lean",
];

fn main() {
    let served = run_role(
        |_| serve_until_killed(harness::start_bare()),
        |args| client(&args[0], &args[1], args[2].parse().unwrap()),
    );
    if served {
        return;
    }
    let seconds = round_seconds();
    let server = start_server(&["bare"]);
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); TRANSPORTS.len()];
    for round in 0..5 {
        let mut order: Vec<usize> = (0..TRANSPORTS.len()).collect();
        order.rotate_left(round % TRANSPORTS.len());
        for i in order {
            runs[i].push(run_client(&[TRANSPORTS[i]], &server, seconds));
        }
    }
    println!("client transports against a bare actix-web-actors echo, as deployed (5 interleaved rounds of {seconds} s, medians; ratios to tokio-tungstenite, per-round range):");
    for (i, name) in TRANSPORTS.iter().enumerate() {
        let paired: Vec<(Run, Run)> = runs[i]
            .iter()
            .copied()
            .zip(runs[0].iter().copied())
            .collect();
        let (rate, _, rlo, rhi) = compare(&paired, &Run::rate);
        let (cpu, base, clo, chi) = compare(&paired, &|r| r.per_message(r.client_cpu));
        let (server_cpu, _, _, _) = compare(&paired, &|r| r.per_message(r.server_cpu));
        println!(
            "  {name}: {rate:.0} frames/s ({:.2}, {rlo:.2}-{rhi:.2}); client CPU {cpu:.2} µs/frame ({:.2}, {clo:.2}-{chi:.2}); server CPU {server_cpu:.2} µs/frame",
            rate / median(runs[0].iter().map(Run::rate).collect()),
            cpu / base,
        );
    }
    let (mut child, _) = server;
    let _ = child.kill();
    let _ = child.wait();
}

/// One client: echoes with `transport` for `seconds` after a short warm-up, then prints
/// frames, seconds and its CPU seconds.
fn client(transport: &str, addr: &str, seconds: f64) {
    let rt = harness::runtime();
    let (frames, elapsed, cpu) = rt.block_on(async {
        let warm = Instant::now() + Duration::from_millis(300);
        let url = format!("ws://{addr}/echo");
        let mut driver: Box<dyn Driver> = match transport {
            "tokio-tungstenite" => {
                let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
                Box::new(Framed(ws, |b: Vec<u8>| {
                    tokio_tungstenite::tungstenite::Message::Binary(b)
                }))
            }
            "tokio-websockets" => {
                let tcp = handshake(addr).await;
                let ws = tokio_websockets::ClientBuilder::new().take_over(tcp);
                Box::new(Framed(ws, |b: Vec<u8>| {
                    tokio_websockets::Message::binary(b)
                }))
            }
            "fastwebsockets" => {
                let tcp = handshake(addr).await;
                let ws =
                    fastwebsockets::WebSocket::after_handshake(tcp, fastwebsockets::Role::Client);
                Box::new(Fast(ws))
            }
            _ => Box::new(Lean::new(handshake(addr).await)),
        };
        driver.echo(warm).await;
        let (cpu, start) = (process_cpu(std::process::id()), Instant::now());
        let frames = driver
            .echo(Instant::now() + Duration::from_secs_f64(seconds))
            .await;
        let elapsed = start.elapsed().as_secs_f64();
        (frames, elapsed, process_cpu(std::process::id()) - cpu)
    });
    println!("{frames} {elapsed} {cpu}");
}

/// The WebSocket upgrade by hand on a new connection, for the clients that take over a
/// stream after it.
async fn handshake(addr: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let request = format!(
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.unwrap();
        response.push(byte[0]);
    }
    assert!(
        response.starts_with(b"HTTP/1.1 101"),
        "{:?}",
        String::from_utf8_lossy(&response)
    );
    tcp
}

/// A client that echoes with `IN_FLIGHT` frames outstanding until `deadline`, then takes
/// the rest in flight; the frames echoed.
trait Driver {
    fn echo(&mut self, deadline: Instant) -> LocalBoxFuture<'_, u64>;
}

/// Any transport that is a `Stream` of messages and a `Sink` of them.
struct Framed<S, F>(S, F);

impl<S, M, E, F> Driver for Framed<S, F>
where
    S: Stream<Item = Result<M, E>> + Sink<M> + Unpin + Send,
    <S as Sink<M>>::Error: std::fmt::Debug,
    E: std::fmt::Debug,
    M: Send,
    F: Fn(Vec<u8>) -> M + Send,
{
    fn echo(&mut self, deadline: Instant) -> LocalBoxFuture<'_, u64> {
        async move {
            let Framed(ws, make) = self;
            for _ in 0..IN_FLIGHT {
                ws.feed(make(vec![7; FRAME])).await.unwrap();
            }
            ws.flush().await.unwrap();
            let (mut outstanding, mut echoed) = (IN_FLIGHT, 0u64);
            while outstanding > 0 {
                // Every frame the socket has ready, then their answers in one flush.
                ws.next().await.unwrap().unwrap();
                let mut n = 1;
                while n < outstanding {
                    match ws.next().now_or_never() {
                        Some(frame) => {
                            frame.unwrap().unwrap();
                            n += 1;
                        }
                        None => break,
                    }
                }
                echoed += n;
                outstanding -= n;
                if Instant::now() < deadline {
                    for _ in 0..n {
                        ws.feed(make(vec![7; FRAME])).await.unwrap();
                    }
                    outstanding += n;
                }
                ws.flush().await.unwrap();
            }
            echoed
        }
        .boxed_local()
    }
}

/// fastwebsockets: a frame read, then its answer written (and sent) at once.
struct Fast(fastwebsockets::WebSocket<TcpStream>);

impl Driver for Fast {
    fn echo(&mut self, deadline: Instant) -> LocalBoxFuture<'_, u64> {
        async move {
            let ws = &mut self.0;
            let frame =
                || fastwebsockets::Frame::binary(fastwebsockets::Payload::Owned(vec![7; FRAME]));
            for _ in 0..IN_FLIGHT {
                ws.write_frame(frame()).await.unwrap();
            }
            let (mut outstanding, mut echoed) = (IN_FLIGHT, 0u64);
            while outstanding > 0 {
                let read = ws.read_frame().await.unwrap();
                assert_eq!(read.opcode, fastwebsockets::OpCode::Binary);
                echoed += 1;
                outstanding -= 1;
                if Instant::now() < deadline {
                    ws.write_frame(frame()).await.unwrap();
                    outstanding += 1;
                }
            }
            echoed
        }
        .boxed_local()
    }
}

/// A lean client codec over the `TcpStream`: frames masked straight into one write
/// buffer, sent with one write per read; frames parsed in place in the read buffer.
struct Lean {
    tcp: TcpStream,
    read: Vec<u8>,
    write: Vec<u8>,
    /// The masking key's generator (xorshift; a bench needs no CSPRNG).
    mask: u32,
}

impl Lean {
    fn new(tcp: TcpStream) -> Self {
        Lean {
            tcp,
            read: Vec::with_capacity(64 << 10),
            write: Vec::with_capacity(64 << 10),
            mask: 0x9e37_79b9,
        }
    }

    /// Appends one masked binary frame of `FRAME` bytes.
    fn frame(&mut self) {
        self.mask ^= self.mask << 13;
        self.mask ^= self.mask >> 17;
        self.mask ^= self.mask << 5;
        let key = self.mask.to_ne_bytes();
        self.write.extend_from_slice(&[0x82, 0x80 | FRAME as u8]);
        self.write.extend_from_slice(&key);
        self.write.extend((0..FRAME).map(|i| 7u8 ^ key[i & 3]));
    }

    /// The complete frames at the front of the read buffer, taken out of it.
    fn frames(&mut self) -> u64 {
        let (mut at, mut n) = (0usize, 0u64);
        loop {
            let rest = &self.read[at..];
            if rest.len() < 2 {
                break;
            }
            let (len, header) = match rest[1] & 0x7f {
                126 if rest.len() >= 4 => (u16::from_be_bytes([rest[2], rest[3]]) as usize, 4),
                127 if rest.len() >= 10 => (
                    u64::from_be_bytes(rest[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                126 | 127 => break,
                len => (len as usize, 2),
            };
            if rest.len() < header + len {
                break;
            }
            assert_eq!(rest[0] & 0x0f, 2, "a binary frame");
            at += header + len;
            n += 1;
        }
        self.read.drain(..at);
        n
    }
}

impl Driver for Lean {
    fn echo(&mut self, deadline: Instant) -> LocalBoxFuture<'_, u64> {
        async move {
            for _ in 0..IN_FLIGHT {
                self.frame();
            }
            let (mut outstanding, mut echoed) = (IN_FLIGHT, 0u64);
            while outstanding > 0 {
                self.tcp.write_all(&self.write).await.unwrap();
                self.write.clear();
                let mut n = self.frames();
                while n == 0 {
                    self.tcp.read_buf(&mut self.read).await.unwrap();
                    n = self.frames();
                }
                echoed += n;
                outstanding -= n;
                if Instant::now() < deadline {
                    for _ in 0..n {
                        self.frame();
                    }
                    outstanding += n;
                }
            }
            echoed
        }
        .boxed_local()
    }
}
