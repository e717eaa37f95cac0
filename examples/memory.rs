//! Server memory per idle connection and per idle open call, and whether it comes back.
//!
//! ```text
//! cargo run --release --example memory
//! ```
//! Re-runs itself as the server process (so that only the server's memory is measured),
//! then, three rounds: opens 10,000 idle connections, then 10,000 idle calls over 100
//! connections, reading the server's RSS from `/proc` after each step, and closes
//! everything. A leak shows as RSS growing from round to round.
//!
//! The server process counts its live heap bytes (a counting global allocator), which tells
//! a leak from memory the allocator keeps for reuse: after each round it reports the live
//! heap, its RSS, and its RSS once glibc has been asked to return free pages (`malloc_trim`).

use futures::{SinkExt, StreamExt};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use streampod::protocol::{Message, OpenCall};
use streampod::{Config, Endpoint, NoArgs, Server};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Counts the bytes the process has allocated and not freed.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

extern "C" {
    /// glibc: returns free memory at the top of the heap and free whole pages inside it to
    /// the kernel.
    fn malloc_trim(pad: usize) -> std::ffi::c_int;
}

const CONNECTIONS: usize = 10_000;
const CALL_CONNECTIONS: usize = 100;
const CALLS: usize = 10_000;

fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let idle = Endpoint::new("idle")
        .stream("wait", [], |_, _: NoArgs, ()| {
            futures::stream::pending::<Result<i64, _>>()
        })
        .future(
            "stats",
            [],
            |session: streampod::Session, _: NoArgs, ()| async move {
                let s = session.stats();
                Ok(vec![
                    s.open_connections as i64 - 1,
                    s.open_calls as i64 - 1,
                    (LIVE.load(Ordering::Relaxed) / 1024) as i64,
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
                .max_connections(CONNECTIONS * 2),
        )
        .build()?;
    let running = server.spawn(std::net::TcpListener::bind("127.0.0.1:0")?)?;
    println!("{}", running.addr());
    loop {
        std::thread::park();
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--serve") {
        return serve();
    }
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let mut addr = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut addr)?;
    let url = format!("ws://{}/v1/websocket", addr.trim());
    settle().await;
    let base = rss_kib(pid);
    println!("server RSS at start: {base} KiB");
    for round in 1..=3 {
        let before = rss_kib(pid);
        let mut sockets = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            sockets.push(tokio_tungstenite::connect_async(&url).await?.0);
        }
        settle().await;
        let with_connections = rss_kib(pid);
        let per_connection = (with_connections.saturating_sub(before)) as f64 / CONNECTIONS as f64;
        for mut s in sockets.drain(..) {
            let _ = s.close(None).await;
        }
        let mut callers = Vec::with_capacity(CALL_CONNECTIONS);
        for _ in 0..CALL_CONNECTIONS {
            callers.push(tokio_tungstenite::connect_async(&url).await?.0);
        }
        settle().await;
        let before_calls = rss_kib(pid);
        for i in 0..CALLS {
            let open = Message::OpenCall(OpenCall {
                endpoint: "idle".into(),
                method: "wait".into(),
                cid: uuid::Uuid::new_v4(),
                args: vec![0x80],
                inputs: vec![],
                auth: None,
                auth_mode: None,
            });
            callers[i % CALL_CONNECTIONS]
                .send(WsMessage::Binary(open.encode()))
                .await?;
        }
        for caller in callers.iter_mut() {
            for _ in 0..CALLS / CALL_CONNECTIONS {
                caller.next().await;
            }
        }
        settle().await;
        let with_calls = rss_kib(pid);
        let per_call = (with_calls.saturating_sub(before_calls)) as f64 / CALLS as f64;
        for mut c in callers {
            let _ = c.close(None).await;
        }
        settle().await;
        let client = streampod::client::Client::new(&format!("http://{}", addr.trim()))?;
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
            "round {round}: server holds {} connections and {} calls after closing;",
            open[0], open[1]
        );
        println!(
            "round {round}: {per_connection:.1} KiB per idle connection, {per_call:.2} KiB per idle call; after closing everything: live heap {} KiB, RSS {rss} KiB, RSS after malloc_trim {trimmed} KiB",
            open[2]
        );
    }
    child.kill()?;
    Ok(())
}
