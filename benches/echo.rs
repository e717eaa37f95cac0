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
    // The same echo on the JSON wire, as Serverpod's own clients speak it.
    let (mut sp_json, json_frame) = rt.block_on(async {
        let mut ws = connect(&streampod.url()).await;
        let frame = open_echo_json(&mut ws).await;
        (ws, frame)
    });
    // The same echo, flow-controlled (its credit never runs out: the cost is the
    // bookkeeping and the server's input grants).
    let (mut sp_fc, fc_frame) = rt.block_on(async {
        let mut ws = connect(&streampod.url()).await;
        let frame = open_echo_with(&mut ws, Some(streampod::protocol::MAX_CREDIT)).await;
        (ws, frame)
    });
    // The same echo in keyed value frames (the clients' default), against the bare echo
    // with frames of their size.
    let (mut sp_keyed, keyed_frame) = rt.block_on(async {
        let mut ws = connect(&streampod.url()).await;
        let frame = open_echo_keyed(&mut ws).await;
        (ws, frame)
    });
    let same_size = vec![7u8; frame.len()];
    let same_size_keyed = vec![7u8; keyed_frame.len()];
    let mut group = c.benchmark_group("echo_throughput");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bare_actix_echo", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut bare, &same_size, n, 64)))
    });
    group.bench_function("bare_actix_echo_keyed_size", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut bare, &same_size_keyed, n, 64)))
    });
    group.bench_function("streampod_keyed", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut sp_keyed, &keyed_frame, n, 64)))
    });
    group.bench_function("streampod", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut sp, &frame, n, 64)))
    });
    group.bench_function("streampod_flow_control", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut sp_fc, &fc_frame, n, 64)))
    });
    group.bench_function("streampod_json", |b| {
        b.iter_custom(|n| rt.block_on(pipeline_frames(&mut sp_json, &json_frame, n, 64)))
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

    // A hundred connections, 64 in flight on each; each streampod connection has its own
    // call, so its own frame (the cid differs).
    let (mut bare_many, mut sp_many, sp_frames) = rt.block_on(async {
        let (mut bare_many, mut sp_many, mut frames) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..100 {
            bare_many.push(connect(&format!("ws://{bare_addr}/echo")).await);
            let mut ws = connect(&streampod.url()).await;
            frames.push(open_echo(&mut ws).await);
            sp_many.push(ws);
        }
        (bare_many, sp_many, frames)
    });
    let mut group = c.benchmark_group("echo_throughput_100_connections");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bare_actix_echo", |b| {
        b.iter_custom(|n| rt.block_on(pipeline_all(&mut bare_many, &same_size, n, 64)))
    });
    group.bench_function("streampod", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = std::time::Instant::now();
                let share = n.div_ceil(100).max(1);
                futures::future::join_all(
                    sp_many
                        .iter_mut()
                        .zip(sp_frames.iter())
                        .map(|(ws, frame)| pipeline(ws, frame, share, 64)),
                )
                .await;
                start.elapsed()
            })
        })
    });
    group.finish();

    // Server CPU per message, for docs/PERFORMANCE.md: the client shares the machine, so
    // throughput alone does not say which side is saturated.
    let per_message = |ws: &mut [Ws], frames: &[Vec<u8>]| {
        let n = 200_000u64;
        let before = server_cpu();
        rt.block_on(async {
            let share = n / ws.len() as u64;
            futures::future::join_all(
                ws.iter_mut()
                    .zip(frames.iter().cycle())
                    .map(|(ws, frame)| pipeline(ws, frame, share, 64)),
            )
            .await;
        });
        (server_cpu() - before).as_secs_f64() * 1e6 / n as f64
    };
    let bare_frames = [same_size.clone()];
    for (label, bare_cpu, sp_cpu) in [
        (
            "1 connection",
            per_message(std::slice::from_mut(&mut bare), &bare_frames),
            per_message(std::slice::from_mut(&mut sp), std::slice::from_ref(&frame)),
        ),
        (
            "100 connections",
            per_message(&mut bare_many, &bare_frames),
            per_message(&mut sp_many, &sp_frames),
        ),
    ] {
        println!(
            "server CPU per echoed message, {label}: bare_actix_echo {bare_cpu:.2} µs, streampod {sp_cpu:.2} µs ({:.2}×)",
            sp_cpu / bare_cpu
        );
    }

    // Flow control's own cost on the server, interleaved with the same echo without it.
    let (mut plain, mut controlled) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        plain.push(per_message(
            std::slice::from_mut(&mut sp),
            std::slice::from_ref(&frame),
        ));
        let fc = std::slice::from_ref(&fc_frame);
        controlled.push(per_message(std::slice::from_mut(&mut sp_fc), fc));
    }
    let (plain, controlled) = (median(&mut plain), median(&mut controlled));
    println!(
        "server CPU per echoed message, 1 connection: streampod {plain:.2} µs, with flow control {controlled:.2} µs ({:.2}×)",
        controlled / plain
    );
    let (mut plain, mut controlled) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        plain.push(
            rt.block_on(pipeline(&mut sp, &frame, 100_000, 64))
                .as_secs_f64(),
        );
        controlled.push(
            rt.block_on(pipeline(&mut sp_fc, &fc_frame, 100_000, 64))
                .as_secs_f64(),
        );
    }
    println!(
        "echo throughput with flow control / without, raw client, 1 connection: {:.3}",
        median(&mut plain) / median(&mut controlled)
    );

    let json_cpu = {
        let n = 200_000u64;
        let before = server_cpu();
        rt.block_on(pipeline_frames(&mut sp_json, &json_frame, n, 64));
        (server_cpu() - before).as_secs_f64() * 1e6 / n as f64
    };
    let msgpack_cpu = per_message(std::slice::from_mut(&mut sp), std::slice::from_ref(&frame));
    println!(
        "server CPU per echoed message, 1 connection: streampod MessagePack {msgpack_cpu:.2} µs, JSON {json_cpu:.2} µs ({:.2}×)",
        json_cpu / msgpack_cpu
    );

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
                let close = Message::close(target, CloseReason::Done);
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

/// The same echo through streampod's Rust client, against the raw client: the client's own
/// cost.
fn client(c: &mut Criterion) {
    use streampod::client::Client;
    let rt = client_runtime();
    let streampod = start_streampod();
    let (mut raw, frame) = rt.block_on(async {
        let mut ws = connect(&streampod.url()).await;
        let frame = open_echo(&mut ws).await;
        (ws, frame)
    });
    let client = Client::new(&format!("http://{}", streampod.addr())).unwrap();
    let (mut echo, tx) = echo_call(&client);
    let mut group = c.benchmark_group("client");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_client", |b| {
        b.iter_custom(|n| rt.block_on(pipeline(&mut raw, &frame, n, 64)))
    });
    group.bench_function("streampod_client", |b| {
        b.iter_custom(|n| rt.block_on(client_echo(&mut echo, &tx, n)))
    });
    group.finish();
}

/// The runtime of the client benches: the client's tasks on a worker of their own.
fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// An echo through `client`, opened when first polled: the call, and the sender of its input.
type EchoCall = (
    streampod::client::CallStream<streampod::ByteData>,
    futures::channel::mpsc::Sender<streampod::ByteData>,
);

fn echo_call(client: &streampod::client::Client) -> EchoCall {
    let (tx, rx) = futures::channel::mpsc::channel::<streampod::ByteData>(64);
    let inputs = streampod::client::Inputs::new().values("stream", rx);
    (
        client.stream("bench", "echo", streampod::NoArgs {}, inputs),
        tx,
    )
}

/// The median of `samples`.
fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// `n` echoes through a call of the Rust client, fed by `tx`.
async fn client_echo(
    echo: &mut streampod::client::CallStream<streampod::ByteData>,
    tx: &futures::channel::mpsc::Sender<streampod::ByteData>,
    n: u64,
) -> Duration {
    use futures::StreamExt;
    let start = std::time::Instant::now();
    let mut tx = tx.clone();
    let sender = tokio::spawn(async move {
        for _ in 0..n {
            tx.send(streampod::ByteData(vec![7; 64])).await.unwrap();
        }
    });
    for _ in 0..n {
        echo.next().await.unwrap().unwrap();
    }
    sender.await.unwrap();
    start.elapsed()
}

/// Per-call flow control through the Rust client: the echo with it (at several windows)
/// against the echo without it, and one call's echo while another call on the same client
/// has a consumer that stopped polling, against that echo alone.
fn flow_control(c: &mut Criterion) {
    use futures::StreamExt;
    use streampod::client::{Client, ClientConfig, Inputs};
    use streampod::{ByteData, NoArgs};
    let rt = client_runtime();
    let streampod = start_streampod();
    let url = format!("http://{}", streampod.addr());
    let windows = [
        ("off", None),
        ("window_64", Some(64)),
        ("window_256", Some(256)),
        ("window_1024_default", Some(1024)),
        ("window_4096", Some(4096)),
    ];
    let clients: Vec<(&str, Client)> = windows
        .iter()
        .map(|&(label, window)| {
            let config = ClientConfig::default().window(window);
            (label, Client::builder(&url).config(config).build().unwrap())
        })
        .collect();
    let mut echoes: Vec<(&str, EchoCall)> = clients
        .iter()
        .map(|(label, client)| (*label, echo_call(client)))
        .collect();
    // B: an echo on the default client; A (started below): a call on the same client whose
    // consumer takes one value and then stops polling, while its method could send for
    // ever.
    let default_client = Client::new(&url).unwrap();
    let mut b = echo_call(&default_client);

    // Interleaved rounds of a fixed count, medians printed as ratios for
    // docs/PERFORMANCE.md (the machine is shared; criterion's runs are apart in time).
    const N: u64 = 50_000;
    let stall = || {
        let mut a = default_client.stream::<ByteData>("bench", "produce", NoArgs {}, Inputs::new());
        rt.block_on(a.next()).unwrap().unwrap();
        a
    };
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); echoes.len() + 2];
    for round in 0..16 {
        for (i, (_, (echo, tx))) in echoes.iter_mut().enumerate() {
            times[i].push(rt.block_on(client_echo(echo, tx, N)).as_secs_f64());
        }
        // B alone in even rounds, with A stalled in odd ones (A is opened for the round and
        // dropped after it, so that both are measured throughout the run).
        let a = (round % 2 == 1).then(stall);
        let slot = echoes.len() + round % 2;
        times[slot].push(rt.block_on(client_echo(&mut b.0, &b.1, N)).as_secs_f64());
        drop(a);
    }
    let off = median(&mut times[0]);
    for (i, (label, _)) in echoes.iter().enumerate().skip(1) {
        println!(
            "flow control, client echo throughput {label} / off: {:.3}",
            off / median(&mut times[i])
        );
    }
    let alone = median(&mut times[echoes.len()]);
    let while_stalled = median(&mut times[echoes.len() + 1]);
    println!(
        "flow control, B's echo throughput while A is stalled / B alone: {:.3}",
        alone / while_stalled
    );

    let mut group = c.benchmark_group("flow_control");
    group.throughput(Throughput::Elements(1));
    for (label, (echo, tx)) in echoes.iter_mut() {
        group.bench_function(format!("client_echo/{label}"), |bench| {
            bench.iter_custom(|n| rt.block_on(client_echo(echo, tx, n)))
        });
    }
    group.bench_function("b_alone", |bench| {
        bench.iter_custom(|n| rt.block_on(client_echo(&mut b.0, &b.1, n)))
    });
    let a = stall();
    group.bench_function("b_while_a_stalled", |bench| {
        bench.iter_custom(|n| rt.block_on(client_echo(&mut b.0, &b.1, n)))
    });
    group.finish();
    drop(a);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = echo_throughput, call_setup, client, flow_control
}
criterion_main!(benches);
