//! The server at scale: memory per idle connection, per first call on a connection and per
//! call on a busy connection; the CPU a keepalive ping round costs per connection; and
//! whether memory comes back.
//!
//! ```text
//! cargo run --release --example scale [-- --connections 10000 --rounds 3 --no-keys]
//! ```
//! First, for scale, a bare actix-web-actors echo server (the stack streampod is built on)
//! in a process of its own: its RSS per idle connection. Then it re-runs itself as the
//! streampod server process (so that only the server's memory and CPU are measured), with
//! a ping every second. Then, each round: opens the connections, each read
//! by a task of its own (which answers the server's pings, as any client does), and reads
//! the server's RSS from `/proc`; in round 1 only, measures the server's CPU over 5 seconds
//! of pings with nothing else happening; opens one call on every connection and reads the
//! RSS again; closes everything (in round 1 only, does the same again with calls that hold
//! an input stream open); opens 10,000 calls over 100 connections and reads the RSS again;
//! closes everything. A leak shows as memory growing from round to round.
//!
//! The server process counts its live heap bytes (a counting global allocator), which tells
//! a leak from memory the allocator keeps for reuse: after each round it reports the live
//! heap, its RSS, and its RSS once glibc has been asked to return free pages (`malloc_trim`).
//! The server admits twice the connections asked for; `ulimit -n` must allow the client
//! process as many descriptors as connections.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streampod::protocol::{Message, OpenCall};
use streampod::{Config, Endpoint, InputStream, NoArgs, Server, StreamError};
use tokio_tungstenite::tungstenite::Message as WsMessage;

extern "C" {
    /// glibc: returns free memory at the top of the heap and free whole pages inside it to
    /// the kernel.
    fn malloc_trim(pad: usize) -> std::ffi::c_int;
}

const CALL_CONNECTIONS: usize = 100;
const CALLS: usize = 10_000;
const PING_INTERVAL: Duration = Duration::from_secs(1);
const PING_WINDOW: Duration = Duration::from_secs(5);

fn serve(connections: usize) -> Result<(), Box<dyn std::error::Error>> {
    let idle = Endpoint::new("idle")
        .stream("wait", [], |_, _: NoArgs, ()| {
            futures::stream::pending::<Result<i64, _>>()
        })
        .stream(
            "hold",
            ["stream"],
            |_, _: NoArgs, (input,): (InputStream<i64>,)| {
                // Holds its input stream open, and sends nothing.
                futures::stream::unfold(input, |input| async move {
                    let _held = input;
                    futures::future::pending::<Option<(Result<i64, StreamError>, _)>>().await
                })
            },
        )
        .future(
            "stats",
            [],
            |session: streampod::Session, _: NoArgs, ()| async move {
                let s = session.stats();
                Ok(vec![
                    s.open_connections as i64 - 1,
                    s.open_calls as i64 - 1,
                    (counting_alloc::live() / 1024) as i64,
                ])
            },
        )
        .future("trim", [], |_, _: NoArgs, ()| async {
            // SAFETY: malloc_trim only reads the allocator's own state; any pad is valid.
            unsafe { malloc_trim(0) };
            Ok(())
        });
    let server = Server::builder()
        .endpoint(idle)
        .config(
            Config::default()
                .max_calls_per_connection(CALLS)
                .max_connections(connections * 2),
        )
        .websocket_ping_interval(if std::env::var("NOPING").is_ok() {
            Duration::from_secs(1000)
        } else {
            PING_INTERVAL
        })
        .build()?;
    let running = server.spawn(std::net::TcpListener::bind("127.0.0.1:0")?)?;
    println!("{}", running.addr());
    loop {
        std::thread::park();
    }
}

/// One actor per connection that echoes binary frames: the bare actix-web-actors stack.
struct BareEcho;

impl actix::Actor for BareEcho {
    type Context = actix_web_actors::ws::WebsocketContext<Self>;
}

impl
    actix::StreamHandler<Result<actix_web_actors::ws::Message, actix_web_actors::ws::ProtocolError>>
    for BareEcho
{
    fn handle(
        &mut self,
        msg: Result<actix_web_actors::ws::Message, actix_web_actors::ws::ProtocolError>,
        ctx: &mut Self::Context,
    ) {
        if let Ok(actix_web_actors::ws::Message::Binary(bytes)) = msg {
            ctx.binary(bytes);
        }
    }
}

/// Serves the bare echo at `/bare`, with the settings `Server::spawn` uses.
fn serve_bare() -> Result<(), Box<dyn std::error::Error>> {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    async fn bare(req: HttpRequest, body: web::Payload) -> Result<HttpResponse, actix_web::Error> {
        actix_web_actors::ws::start(BareEcho, &req, body)
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?);
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let http = HttpServer::new(|| App::new().route("/bare", web::get().to(bare)))
                .workers(2)
                .disable_signals()
                .client_disconnect_timeout(Duration::ZERO)
                .listen(listener)
                .expect("listen");
            let _ = http.run().await;
        })
    });
    loop {
        std::thread::park();
    }
}

/// Starts this program as a server (`--serve N` or `--serve-bare`); its pid and address.
fn spawn_server(
    args: &[&str],
) -> Result<(std::process::Child, u32, String), Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let mut addr = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut addr)?;
    Ok((child, pid, addr.trim().to_string()))
}

/// A field of `/proc/PID/status`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The CPU time the process has used so far: (user, system).
fn cpu_time(pid: u32) -> (Duration, Duration) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    // utime and stime, in the kernel's USER_HZ (100 on Linux).
    let ticks = |i: usize| Duration::from_millis(fields.get(i).copied().unwrap_or(0) * 10);
    (ticks(11), ticks(12))
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

type Sink = SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    WsMessage,
>;

/// Open sockets, each read by a task of its own that counts the data frames it gets.
struct Sockets {
    sinks: Vec<Sink>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    frames: Arc<AtomicUsize>,
}

impl Sockets {
    async fn open(url: &str, n: usize) -> Result<Self, Box<dyn std::error::Error>> {
        let frames = Arc::new(AtomicUsize::new(0));
        let mut sockets = Sockets {
            sinks: Vec::with_capacity(n),
            readers: Vec::with_capacity(n),
            frames: frames.clone(),
        };
        for _ in 0..n {
            let (sink, mut stream) = tokio_tungstenite::connect_async(url).await?.0.split();
            let frames = frames.clone();
            sockets.readers.push(tokio::spawn(async move {
                // Reading is what answers the server's pings.
                while let Some(Ok(message)) = stream.next().await {
                    if message.is_binary() {
                        frames.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
            sockets.sinks.push(sink);
        }
        Ok(sockets)
    }

    /// Opens `calls` idle calls, spread over the sockets, and waits for every answer; with
    /// `input`, each call has an open input stream.
    async fn open_calls(
        &mut self,
        calls: usize,
        input: bool,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let answered = self.frames.load(Ordering::Relaxed);
        let n = self.sinks.len();
        for i in 0..calls {
            let (method, inputs) = if input {
                ("hold", &["stream"][..])
            } else {
                ("wait", &[][..])
            };
            let cid = uuid::Uuid::new_v4();
            let mut open = OpenCall::new("idle", method, cid, vec![0x80], inputs.iter().copied());
            // Keyed value frames, as the clients ask for them: keys grow per socket.
            if KEYED.load(Ordering::Relaxed) {
                open = open.with_key((i / n + 1) as u32);
            }
            let open = Message::OpenCall(open);
            self.sinks[i % n]
                .send(WsMessage::Binary(open.encode()))
                .await?;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.frames.load(Ordering::Relaxed) < answered + calls {
            if Instant::now() > deadline {
                return Err("calls were not answered within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    async fn close(self) {
        for mut sink in self.sinks {
            let _ = sink.close().await;
        }
        for reader in self.readers {
            reader.abort();
        }
    }
}

/// The server's open connections and calls (without the asking one) and its live heap in
/// KiB.
async fn server_stats(addr: &str) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    let client = streampod::client::Client::new(&format!("http://{addr}"))?;
    let stats = client
        .call("idle", "stats", NoArgs {}, streampod::client::Inputs::new())
        .await?;
    Ok(stats)
}

/// Whether calls ask for keyed value frames (`--no-keys`: not, as before they existed).
static KEYED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn per(kib: u64, before: u64, n: usize) -> f64 {
    kib.saturating_sub(before) as f64 / n as f64
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut connections = 10_000;
    let mut rounds = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{arg} takes a number"))
        };
        match arg.as_str() {
            "--serve" => return serve(number()?),
            "--serve-bare" => return serve_bare(),
            "--connections" => connections = number()?,
            "--rounds" => rounds = number()?,
            "--no-keys" => KEYED.store(false, Ordering::Relaxed),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (mut bare, bare_pid, bare_addr) = spawn_server(&["--serve-bare"])?;
    settle().await;
    let before = rss_kib(bare_pid);
    let sockets = Sockets::open(&format!("ws://{bare_addr}/bare"), connections).await?;
    settle().await;
    println!(
        "bare actix-web-actors echo: {:.1} KiB per idle connection",
        per(rss_kib(bare_pid), before, connections)
    );
    sockets.close().await;
    bare.kill()?;
    let (mut child, pid, addr) = spawn_server(&["--serve", &connections.to_string()])?;
    let url = format!("ws://{addr}/v1/websocket");
    settle().await;
    println!("server RSS at start: {} KiB", rss_kib(pid));
    for round in 1..=rounds {
        let before = rss_kib(pid);
        let mut sockets = Sockets::open(&url, connections).await?;
        settle().await;
        let idle = rss_kib(pid);
        let idle_heap = server_stats(&addr).await?[2];
        if round == 1 {
            println!("{connections} connections open; measuring pings for {PING_WINDOW:?}");
            let (user, system) = cpu_time(pid);
            tokio::time::sleep(PING_WINDOW).await;
            let (user_after, system_after) = cpu_time(pid);
            let pings =
                connections as f64 * PING_WINDOW.as_secs_f64() / PING_INTERVAL.as_secs_f64();
            let per_ping = |d: Duration| d.as_secs_f64() * 1e6 / pings;
            println!(
                "keepalive: {connections} connections, a ping each every {PING_INTERVAL:?}: server CPU per ping and pong {:.1} µs ({:.1} µs user, {:.1} µs system)",
                per_ping(user_after + system_after - user - system),
                per_ping(user_after - user),
                per_ping(system_after - system),
            );
        }
        sockets.open_calls(connections, false).await?;
        settle().await;
        let one_call = rss_kib(pid);
        let one_call_heap = server_stats(&addr).await?[2];
        sockets.close().await;
        settle().await;
        if round == 1 {
            // Live heap, not RSS: the memory just freed is reused, so RSS barely grows.
            let mut sockets = Sockets::open(&url, connections).await?;
            settle().await;
            let idle_heap = server_stats(&addr).await?[2];
            sockets.open_calls(connections, true).await?;
            settle().await;
            let heap = server_stats(&addr).await?[2];
            println!(
                "round 1: live heap {:.2} KiB for the first call on a connection when it has an open input stream",
                (heap - idle_heap) as f64 / connections as f64,
            );
            sockets.close().await;
            settle().await;
        }
        let mut callers = Sockets::open(&url, CALL_CONNECTIONS).await?;
        settle().await;
        let callers_idle = rss_kib(pid);
        callers.open_calls(CALLS, false).await?;
        settle().await;
        let many_calls = rss_kib(pid);
        callers.close().await;
        settle().await;
        let client = streampod::client::Client::new(&format!("http://{addr}"))?;
        let open: Vec<i64> = client
            .call("idle", "stats", NoArgs {}, streampod::client::Inputs::new())
            .await?;
        let rss = rss_kib(pid);
        let () = client
            .call("idle", "trim", NoArgs {}, streampod::client::Inputs::new())
            .await?;
        let trimmed = rss_kib(pid);
        drop(client);
        println!(
            "round {round}: {:.1} KiB per idle connection; {:.2} KiB for the first call on a connection ({connections} connections; live heap {:.2} KiB); {:.2} KiB per call with {} calls on each of {CALL_CONNECTIONS} connections",
            per(idle, before, connections),
            per(one_call, idle, connections),
            (one_call_heap - idle_heap) as f64 / connections as f64,
            per(many_calls, callers_idle, CALLS),
            CALLS / CALL_CONNECTIONS,
        );
        println!(
            "round {round}: after closing everything the server holds {} connections and {} calls; live heap {} KiB, RSS {rss} KiB, RSS after malloc_trim {trimmed} KiB",
            open[0], open[1], open[2]
        );
    }
    child.kill()?;
    Ok(())
}
