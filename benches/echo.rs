//! Echo throughput and latency through a streaming echo method, against a bare
//! actix-web-actors echo server driven by the same raw client with frames of the same size,
//! in the same run. Also the cost of opening calls.

#[path = "support/harness.rs"]
mod harness;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::SinkExt;
use harness::*;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn echo_throughput(c: &mut Criterion) {
    let rt = runtime();
    let bare_addr = start_bare();
    let streampod = start_streampod();
    let (mut bare, mut sp, frame) = rt.block_on(async {
        let mut sp = connect(&streampod.url()).await;
        let frame = open_echo(&mut sp).await;
        (connect(&format!("ws://{bare_addr}/echo")).await, sp, frame)
    });
    let same_size = vec![7u8; frame.len()];
    let mut group = c.benchmark_group("echo_throughput");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bare_actix_echo", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut bare, &same_size, n, 64)))
    });
    group.bench_function("streampod", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut sp, &frame, n, 64)))
    });
    group.finish();

    let mut group = c.benchmark_group("echo_latency");
    group.bench_function("bare_actix_echo", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut bare, &same_size, n, 1)))
    });
    group.bench_function("streampod", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut sp, &frame, n, 1)))
    });
    group.finish();

    // Medians and tails of single round trips, printed for docs/PERFORMANCE.md.
    let (mut b_samples, mut s_samples) = rt.block_on(async {
        (
            round_trips(&mut bare, &same_size, 20_000).await,
            round_trips(&mut sp, &frame, 20_000).await,
        )
    });
    for (name, samples) in [
        ("bare_actix_echo", &mut b_samples),
        ("streampod", &mut s_samples),
    ] {
        println!(
            "echo_latency/{name}: p50 {:?} p99 {:?}",
            percentile(samples, 0.5),
            percentile(samples, 0.99)
        );
    }
}

fn call_setup(c: &mut Criterion) {
    let rt = runtime();
    let streampod = start_streampod();
    let mut ws = rt.block_on(connect(&streampod.url()));
    let mut group = c.benchmark_group("call_setup");
    group.throughput(Throughput::Elements(1));
    for in_flight in [1u64, 64] {
        group.bench_function(
            format!("open_first_value_close/{in_flight}_in_flight"),
            |b| b.iter_custom(|n| rt.block_on(open_and_close(&mut ws, n, in_flight))),
        );
    }
    group.finish();
}

/// Opens `n` calls of `bench.first`, `in_flight` at a time: each open waits for `omsr` and the
/// first value, then cancels and waits for the echoed close.
async fn open_and_close(ws: &mut Ws, n: u64, in_flight: u64) -> Duration {
    use streampod::protocol::{CloseReason, Message};
    let start = std::time::Instant::now();
    let (mut opened, mut closed) = (0u64, 0u64);
    let open_one = |_: u64| omsc("first", uuid::Uuid::new_v4(), &[]);
    while opened < n.min(in_flight) {
        ws.feed(WsMessage::Binary(open_one(opened))).await.unwrap();
        opened += 1;
    }
    ws.flush().await.unwrap();
    while closed < n {
        let frame = next_binary(ws).await;
        match Message::decode(&frame).unwrap() {
            Message::Value { target, .. } => {
                let close = Message::Close {
                    target,
                    reason: CloseReason::Done,
                };
                ws.send(WsMessage::Binary(close.encode())).await.unwrap();
            }
            Message::Close { .. } => {
                closed += 1;
                if opened < n {
                    ws.send(WsMessage::Binary(open_one(opened))).await.unwrap();
                    opened += 1;
                }
            }
            _ => {}
        }
    }
    start.elapsed()
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = echo_throughput, call_setup
}
criterion_main!(benches);
