//! Codec: encode and decode of `msm`, small and large, against a baseline of the same map
//! written and read through the generic `rmpv` value tree, in the same run. Decoding is
//! measured both into an owned [`Message`] and into the borrowed [`MessageRef`] the server
//! routes values with; the JSON wire's encode and decode of the same message are rows too.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rmpv::Value;
use std::hint::black_box;
use streampod::protocol::internals::MessageRef;
use streampod::protocol::{Message, Target};
use streampod::Dynamic;

fn message(payload: usize) -> Message {
    let target =
        Target::new("methodStreaming", "intEchoStream", uuid::Uuid::new_v4()).with_param("stream");
    Message::value(target, Dynamic::new(&"x".repeat(payload)).unwrap())
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec_msm");
    for payload in [16usize, 4096] {
        let m = message(payload);
        let bytes = m.encode();
        let tree = rmpv::decode::read_value(&mut bytes.as_slice()).unwrap();
        group.bench_with_input(
            BenchmarkId::new("baseline_rmpv_encode", payload),
            &tree,
            |b, t| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(64);
                    rmpv::encode::write_value(&mut out, black_box(t)).unwrap();
                    out
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("streampod_encode", payload), &m, |b, m| {
            b.iter(|| black_box(m).encode())
        });
        group.bench_with_input(
            BenchmarkId::new("baseline_rmpv_decode", payload),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    rmpv::decode::read_value(&mut black_box(bytes.as_slice()))
                        .map(|v: Value| v.is_map())
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("streampod_decode", payload),
            &bytes,
            |b, bytes| b.iter(|| Message::decode(black_box(bytes)).is_ok()),
        );
        // What the server does with a value: decode without copying, then route.
        group.bench_with_input(
            BenchmarkId::new("streampod_decode_borrowed", payload),
            &bytes,
            |b, bytes| b.iter(|| MessageRef::decode(black_box(bytes)).is_ok()),
        );
        // The same message on the JSON wire (Serverpod's own clients).
        let text = m.encode_json().unwrap();
        group.bench_with_input(BenchmarkId::new("json_encode", payload), &m, |b, m| {
            b.iter(|| black_box(m).encode_json().unwrap())
        });
        group.bench_with_input(
            BenchmarkId::new("json_decode", payload),
            &text,
            |b, text| b.iter(|| Message::decode_json(black_box(text)).is_ok()),
        );
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
