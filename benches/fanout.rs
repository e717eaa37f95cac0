//! One message posted on the bus reaching N streaming subscribers spread over 100
//! connections: the time from the post until the last subscriber has it.

#[path = "support/harness.rs"]
mod harness;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures::SinkExt;
use harness::*;
use std::time::{Duration, Instant};
use streampod::bus::Scope;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const CONNECTIONS: usize = 100;

fn fanout(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("fanout");
    for subscribers in [100usize, 10_000] {
        let streampod = start_streampod();
        let server = streampod.server();
        let mut connections = rt.block_on(async {
            let mut connections = Vec::new();
            for _ in 0..CONNECTIONS {
                connections.push(connect(&streampod.url()).await);
            }
            for i in 0..subscribers {
                let ws = &mut connections[i % CONNECTIONS];
                ws.feed(WsMessage::Binary(omsc(
                    "subscribe",
                    uuid::Uuid::new_v4(),
                    &[],
                )))
                .await
                .unwrap();
            }
            for ws in connections.iter_mut() {
                ws.flush().await.unwrap();
            }
            // Every open is answered.
            for (i, ws) in connections.iter_mut().enumerate() {
                let opens = subscribers / CONNECTIONS + usize::from(i < subscribers % CONNECTIONS);
                for _ in 0..opens {
                    next_binary(ws).await;
                }
            }
            // Every subscription is in place before anything is posted.
            while server.messages().subscribers("fanout") < subscribers {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            connections
        });
        // Server CPU per delivery, for docs/PERFORMANCE.md: the client reads all 100
        // connections on this thread, so the time to the last delivery is partly its own.
        let posts = 20_000 / subscribers as u64 + 20;
        let before = server_cpu();
        rt.block_on(post_and_receive(
            server,
            &mut connections,
            subscribers,
            posts,
        ));
        println!(
            "fanout/{subscribers}: server CPU per delivery {:.2} µs",
            (server_cpu() - before).as_secs_f64() * 1e6 / (posts * subscribers as u64) as f64
        );
        group.throughput(Throughput::Elements(subscribers as u64));
        group.bench_with_input(
            BenchmarkId::new("post_to_last_delivery", subscribers),
            &subscribers,
            |b, &n| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let start = Instant::now();
                            post_and_receive(server, &mut connections, n, 1).await;
                            total += start.elapsed();
                        }
                        total
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = fanout
}
criterion_main!(benches);

/// Posts `posts` messages and reads every delivery of each on every connection.
async fn post_and_receive(
    server: &streampod::Server,
    connections: &mut [Ws],
    subscribers: usize,
    posts: u64,
) {
    for i in 0..posts {
        server
            .messages()
            .post_message("fanout", &(i as i64), Scope::Local)
            .await
            .unwrap();
        for (c, ws) in connections.iter_mut().enumerate() {
            let here = subscribers / CONNECTIONS + usize::from(c < subscribers % CONNECTIONS);
            for _ in 0..here {
                next_binary(ws).await;
            }
        }
    }
}
