//! The cost of metrics: the echo through a server whose methods report to an installed
//! Prometheus recorder, against the same echo through a server whose methods resolved
//! their handles before any recorder was installed (no-op handles), in one process and one
//! run, interleaved.

#[path = "support/harness.rs"]
mod harness;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use harness::*;
use std::time::Duration;

fn metrics_overhead(c: &mut Criterion) {
    let rt = runtime();
    // Without: the first call resolves the method's handles, with no recorder yet.
    let plain = start_streampod();
    let (mut without, frame_without) = rt.block_on(async {
        let mut ws = connect(&plain.url()).await;
        let frame = open_echo(&mut ws).await;
        pipeline(&mut ws, &frame, 100, 1).await;
        (ws, frame)
    });
    // With: a recorder, then a server whose first call comes after it.
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    let recorded = start_streampod();
    let (mut with, frame_with) = rt.block_on(async {
        let mut ws = connect(&recorded.url()).await;
        let frame = open_echo(&mut ws).await;
        (ws, frame)
    });

    const N: u64 = 100_000;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        a.push(
            rt.block_on(pipeline(&mut without, &frame_without, N, 64))
                .as_secs_f64(),
        );
        b.push(
            rt.block_on(pipeline(&mut with, &frame_with, N, 64))
                .as_secs_f64(),
        );
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    println!(
        "echo throughput with a Prometheus recorder / without: {:.3} (medians of 7 interleaved rounds)",
        a[3] / b[3]
    );
    assert!(
        handle.render().contains("streampod_values_sent_total"),
        "the recorder heard the server"
    );

    let mut group = c.benchmark_group("metrics");
    group.throughput(Throughput::Elements(1));
    group.bench_function("echo_without_recorder", |bench| {
        bench.iter_custom(|n| rt.block_on(pipeline(&mut without, &frame_without, n, 64)))
    });
    group.bench_function("echo_with_prometheus", |bench| {
        bench.iter_custom(|n| rt.block_on(pipeline(&mut with, &frame_with, n, 64)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = metrics_overhead
}
criterion_main!(benches);
