//! Resume (docs/PROTOCOL.md §11): what it costs and how fast it is, measured as deployed.
//! The server runs in a process of its own pinned to core 1 (this binary, re-run with
//! `STREAMPOD_RESUME_BENCH_SERVER` set), the clients in this process pinned to core 0
//! (with `taskset`, where there is one).
//!
//! - Criterion: the Rust client's pipelined echo of 64-byte values with resume off and on,
//!   against the same server in the same run (the ratio is what counts: the floor is 0.9).
//! - Then printed: the time from a cut (through `streampod::testing`'s proxy) to an echo
//!   coming back on the resumed connection, median over 40 cuts, first retry included; and
//!   the server's live heap (a counting allocator) per live and per detached connection,
//!   and per KiB of frames a detached connection keeps for its client.
//!
//! ```text
//! cargo bench --bench resume
//! ```

#[path = "../examples/support/counting_alloc.rs"]
mod counting_alloc;

use criterion::{Criterion, Throughput};
use futures::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use streampod::client::{CallStream, Client, ClientConfig, Inputs};
use streampod::testing::FaultProxy;
use streampod::{ByteData, Config, Endpoint, InputStream, NoArgs, Server};

const SERVER_ROLE: &str = "STREAMPOD_RESUME_BENCH_SERVER";

/// The server process: `bench.echo`, `bench.first` (one value, then open), `bench.produce`
/// (64-byte values for ever), `bench.stats` (live heap, detached connections, bytes kept).
fn serve() {
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
        .future(
            "stats",
            [],
            |session: streampod::Session, _: NoArgs, ()| async move {
                let stats = session.stats();
                Ok(vec![
                    counting_alloc::live() as i64,
                    stats.detached_connections as i64,
                    stats.outbound_queued_bytes as i64,
                    stats.open_connections as i64,
                ])
            },
        );
    let config = Config::default()
        .resume_window(Duration::from_secs(120))
        .max_connections(10_000);
    let server = Server::builder()
        .endpoint(bench)
        .config(config)
        .build()
        .unwrap();
    let running = server
        .spawn(std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    println!("{}", running.addr());
    loop {
        std::thread::park();
    }
}

/// Starts the server process on core 1; returns it and its URL.
fn spawn_server() -> (std::process::Child, String) {
    let exe = std::env::current_exe().unwrap();
    let mut command = match taskset() {
        true => {
            let mut c = Command::new("taskset");
            c.args(["-c", "1"]).arg(exe);
            c
        }
        false => Command::new(exe),
    };
    let mut child = command
        .env(SERVER_ROLE, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut addr = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut addr)
        .unwrap();
    (child, format!("http://{}", addr.trim()))
}

fn taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Pins this process (every thread) to core 0.
fn pin_self() {
    if taskset() {
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", "0", &std::process::id().to_string()])
            .output();
    } else {
        println!("(no taskset: server and client share the cores)");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

type Echo = (
    CallStream<ByteData>,
    futures::channel::mpsc::Sender<ByteData>,
);

fn echo(client: &Client) -> Echo {
    let (tx, rx) = futures::channel::mpsc::channel::<ByteData>(64);
    let inputs = Inputs::new().values("stream", rx);
    (client.stream("bench", "echo", NoArgs {}, inputs), tx)
}

/// `n` echoes, pipelined (the sender runs ahead as far as the channel and the window let it).
async fn pipelined(echo: &mut Echo, n: u64) -> Duration {
    let start = Instant::now();
    let mut tx = echo.1.clone();
    let sender = tokio::spawn(async move {
        for _ in 0..n {
            tx.send(ByteData(vec![7; 64])).await.unwrap();
        }
    });
    for _ in 0..n {
        echo.0.next().await.unwrap().unwrap();
    }
    sender.await.unwrap();
    start.elapsed()
}

fn throughput(c: &mut Criterion, rt: &tokio::runtime::Runtime, url: &str) {
    let off = Client::with_config(url, ClientConfig::default().resume(false)).unwrap();
    let on = Client::new(url).unwrap();
    let (mut off_echo, mut on_echo) = (echo(&off), echo(&on));
    let mut group = c.benchmark_group("resume");
    group.throughput(Throughput::Elements(1));
    group.bench_function("echo_resume_off", |b| {
        b.iter_custom(|n| rt.block_on(pipelined(&mut off_echo, n)))
    });
    group.bench_function("echo_resume_on", |b| {
        b.iter_custom(|n| rt.block_on(pipelined(&mut on_echo, n)))
    });
    group.finish();
    // Criterion's two lines run one after the other on a shared machine, and drift by more
    // than the difference: the ratio comes from interleaved rounds.
    const ROUNDS: usize = 21;
    const ECHOES: u64 = 30_000;
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let off = rt.block_on(pipelined(&mut off_echo, ECHOES));
            let on = rt.block_on(pipelined(&mut on_echo, ECHOES));
            off.as_secs_f64() / on.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "echo throughput, resume on / off: median {:.3} of {ROUNDS} interleaved rounds of {ECHOES} (min {:.3}, max {:.3})",
        ratios[ROUNDS / 2],
        ratios[0],
        ratios[ROUNDS - 1]
    );
}

/// From a cut to the next echo coming back, over `cuts` cuts.
async fn cut_to_flowing(url: &str, cuts: usize) {
    let upstream = url.trim_start_matches("http://").parse().unwrap();
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let client = Client::new(&proxy.http_url()).unwrap();
    let mut echo = echo(&client);
    let mut times = Vec::new();
    for _ in 0..cuts {
        echo.1.send(ByteData(vec![1; 64])).await.unwrap();
        echo.0.next().await.unwrap().unwrap();
        let start = Instant::now();
        proxy.cut_all();
        echo.1.send(ByteData(vec![2; 64])).await.unwrap();
        echo.0.next().await.unwrap().unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    client.close().await;
    // Closed, not cut: the server ends the session instead of keeping it.
    while proxy.open_connections() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "cut to flowing ({cuts} cuts, first retry within 250 ms): median {:.1} ms, p10 {:.1}, p90 {:.1}, max {:.1}",
        at(0.5),
        at(0.1),
        at(0.9),
        at(1.0)
    );
}

/// The server's live heap, detached connections and kept bytes.
async fn stats(direct: &Client) -> (i64, i64, i64) {
    let s: Vec<i64> = direct
        .call("bench", "stats", NoArgs {}, Inputs::new())
        .await
        .unwrap();
    (s[0], s[1], s[2])
}

/// Waits until the server's stats satisfy `cond` (at most 30 s).
async fn wait_stats(direct: &Client, cond: impl Fn((i64, i64, i64)) -> bool) -> (i64, i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = stats(direct).await;
        if cond(s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server's heap per live and per detached connection (each with one call open), and
/// per KiB a detached connection keeps for its client.
async fn memory(url: &str) {
    const CONNECTIONS: usize = 200;
    const PRODUCERS: usize = 10;
    let upstream = url.trim_start_matches("http://").parse().unwrap();
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let direct = Client::new(url).unwrap();
    let (base, _, _) = stats(&direct).await;
    // The same connections and calls without resume, for the difference.
    let plain = {
        let mut open = Vec::new();
        for _ in 0..CONNECTIONS {
            let client = Client::with_config(url, ClientConfig::default().resume(false)).unwrap();
            let mut call = client.stream::<i64>("bench", "first", NoArgs {}, Inputs::new());
            call.next().await.unwrap().unwrap();
            open.push((client, call));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (heap, _, _) = stats(&direct).await;
        for (client, _) in &open {
            client.close().await;
        }
        drop(open);
        heap
    };
    let (base, _, _) = wait_stats(&direct, |(heap, _, _)| heap <= base + 64 * 1024).await;
    let mut calls = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        let client = Client::new(&proxy.http_url()).unwrap();
        let mut call = client.stream::<i64>("bench", "first", NoArgs {}, Inputs::new());
        call.next().await.unwrap().unwrap();
        calls.push(call);
        clients.push(client);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (live, _, _) = stats(&direct).await;
    proxy.set_down(true);
    proxy.cut_all();
    let (detached, n, _) = wait_stats(&direct, |(_, n, _)| n as usize >= CONNECTIONS).await;
    let per = |heap: i64| (heap - base) as f64 / CONNECTIONS as f64 / 1024.0;
    println!(
        "server heap per connection with one call: without resume {:.2} KiB; resumable: live {:.2} KiB, detached {:.2} KiB ({n} detached)",
        per(plain),
        per(live),
        per(detached)
    );
    // Producers whose client stops reading: the server keeps what it sent, up to 1 MiB each.
    proxy.set_down(false);
    let config = ClientConfig::default().window(None);
    let mut producers = Vec::new();
    for _ in 0..PRODUCERS {
        let client = Client::with_config(&proxy.http_url(), config.clone()).unwrap();
        let mut call = client.stream::<ByteData>("bench", "produce", NoArgs {}, Inputs::new());
        call.next().await.unwrap().unwrap();
        producers.push((client, call));
    }
    let full = (PRODUCERS as i64) * 900 * 1024;
    let (_, _, kept) = wait_stats(&direct, |(_, _, kept)| kept >= full).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before_cut, _, kept_before) = stats(&direct).await;
    proxy.set_down(true);
    proxy.cut_all();
    let (after_cut, n, kept_after) =
        wait_stats(&direct, |(_, n, _)| n as usize >= CONNECTIONS + PRODUCERS).await;
    let kept_kib = kept_after as f64 / 1024.0;
    let detached_heap = after_cut - detached;
    println!(
        "{PRODUCERS} detached producers keep {kept_kib:.0} KiB for their clients (kept before the cut: {:.0} KiB, {kept} when first full); heap {:.0} KiB over the {CONNECTIONS} idle detached: {:.2} KiB per KiB kept ({n} detached; heap while live {:.0} KiB)",
        kept_before as f64 / 1024.0,
        detached_heap as f64 / 1024.0,
        detached_heap as f64 / 1024.0 / kept_kib,
        (before_cut - detached) as f64 / 1024.0,
    );
    drop((calls, clients, producers));
}

fn main() {
    if std::env::var_os(SERVER_ROLE).is_some() {
        return serve();
    }
    pin_self();
    let (mut server, url) = spawn_server();
    let rt = runtime();
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(2))
        .configure_from_args();
    throughput(&mut c, &rt, &url);
    c.final_summary();
    rt.block_on(cut_to_flowing(&url, 40));
    rt.block_on(memory(&url));
    let _ = server.kill();
}
