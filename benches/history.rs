//! What bus history costs a post (docs/MESSAGE_BUS.md): a post and its delivery to one
//! stream, on a channel without history and on one that keeps the last 1,000, in process
//! and (when a `redis-server` is at hand, or `STREAMPOD_TEST_REDIS_URL` names one) through
//! Redis; then the live heap that 1,000 kept 64-byte messages take, from a counting
//! allocator.
//!
//! ```text
//! cargo bench --bench history --features redis
//! ```

#[path = "../examples/support/counting_alloc.rs"]
mod counting_alloc;

use criterion::{Criterion, Throughput};
use futures::StreamExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use streampod::bus::{HistoryRule, MessageBus, Scope};
use streampod::{Config, Server};

fn server(redis: Option<&str>) -> Server {
    let mut config = Config::default().bus_history(vec![HistoryRule::new("h:", 1_000)]);
    config.redis_url = redis.map(str::to_string);
    Server::builder().config(config).build().unwrap()
}

/// Posts `n` messages on `channel` and takes each from a stream subscribed to it.
async fn post_and_take(bus: &MessageBus, channel: &str, n: u64, scope: Scope) -> Duration {
    let mut stream = bus.create_stream::<String>(channel);
    let message = "x".repeat(64);
    let start = Instant::now();
    for _ in 0..n {
        bus.post_message(channel, &message, scope).await.unwrap();
        stream.next().await.unwrap().unwrap();
    }
    start.elapsed()
}

/// A Redis of the bench's own, if there is a `redis-server`: its child and URL.
fn redis() -> Option<(Option<Child>, String)> {
    if let Ok(url) = std::env::var("STREAMPOD_TEST_REDIS_URL") {
        return Some((None, url));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let url = format!("redis://127.0.0.1:{port}/");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((Some(child), url));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// One group: posts on a channel without history, then on one that keeps it.
fn post_group(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    group: &str,
    bus: &MessageBus,
    scope: Scope,
) {
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(1));
    for (name, channel) in [("history_off", "plain"), ("history_on", "h:kept")] {
        group.bench_function(name, |b| {
            b.iter_custom(|n| rt.block_on(post_and_take(bus, channel, n, scope)))
        });
    }
    group.finish();
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();

    let local = server(None);
    post_group(
        &mut c,
        &rt,
        "bus_post_in_process",
        local.messages(),
        Scope::Local,
    );

    let mut redis_child = None;
    // The Redis half needs the `redis` feature.
    let redis = if cfg!(feature = "redis") {
        redis()
    } else {
        None
    };
    if let Some((child, url)) = redis {
        redis_child = child;
        let linked = server(Some(&url));
        rt.block_on(async {
            while linked.stats().redis != Some(streampod::bus::RedisState::Connected) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        post_group(
            &mut c,
            &rt,
            "bus_post_through_redis",
            linked.messages(),
            Scope::Global,
        );
    } else {
        println!("(no redis-server: the Redis measurements are skipped)");
    }
    c.final_summary();

    // The heap 1,000 kept messages take, on a channel nobody reads.
    let bus = local.messages();
    let message = "y".repeat(64);
    rt.block_on(async {
        // The channel's history exists and is full before the baseline.
        for _ in 0..1_000 {
            bus.post_message("h:memory", &message, Scope::Local).await.unwrap();
        }
        let full = counting_alloc::live();
        for _ in 0..1_000 {
            bus.post_message("h:memory", &message, Scope::Local).await.unwrap();
        }
        let replaced = counting_alloc::live();
        let empty_before = counting_alloc::live();
        for _ in 0..1_000 {
            bus.post_message("h:memory2", &message, Scope::Local).await.unwrap();
        }
        let grown = counting_alloc::live() - empty_before;
        println!(
            "live heap of 1,000 kept 64-byte messages: {:.1} KiB ({:.0} B each); a full history replacing its 1,000: {:+} B",
            grown as f64 / 1024.0,
            grown as f64 / 1_000.0,
            replaced as i64 - full as i64
        );
    });
    if let Some(mut child) = redis_child {
        let _ = child.kill();
        let _ = child.wait();
    }
}
