//! streampod against its peer, tonic: each driven by its own idiomatic client in the same
//! process and run. streampod's `Client` calls the bench server's bidi echo method; tonic's
//! client calls `rpc Echo(stream Chunk) returns (stream Chunk)`, served by tonic on a
//! thread of its own. 64-byte payloads. Criterion times the pipelined echo on one stream
//! (64 in flight); the run also prints each side's server and client CPU per message and
//! the median round trip at 1 in flight, as ratios streampod / tonic.

#[path = "support/harness.rs"]
mod harness;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::{SinkExt, StreamExt};
use harness::*;
use std::time::{Duration, Instant};
use streampod::client::{Client, Inputs};
use streampod::{ByteData, NoArgs};

/// `message Chunk { bytes data = 1; }`, written by hand (no protoc).
#[derive(Clone, PartialEq, prost::Message)]
struct Chunk {
    #[prost(bytes = "vec", tag = "1")]
    data: Vec<u8>,
}

mod tonic_echo {
    //! The glue tonic-build would generate for one bidi streaming method.
    use super::Chunk;
    use futures::stream::BoxStream;
    use std::convert::Infallible;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tonic::body::Body;
    use tonic::codegen::http;
    use tonic::{Request, Response, Status, Streaming};

    pub const PATH: &str = "/bench.Echo/Echo";

    /// The service: every chunk of the request stream, back.
    #[derive(Clone)]
    pub struct EchoServer;

    impl tonic::server::NamedService for EchoServer {
        const NAME: &'static str = "bench.Echo";
    }

    struct Echo;

    impl tonic::server::StreamingService<Chunk> for Echo {
        type Response = Chunk;
        type ResponseStream = BoxStream<'static, Result<Chunk, Status>>;
        type Future =
            Pin<Box<dyn Future<Output = Result<Response<Self::ResponseStream>, Status>> + Send>>;
        fn call(&mut self, request: Request<Streaming<Chunk>>) -> Self::Future {
            Box::pin(async move {
                let stream: Self::ResponseStream = Box::pin(request.into_inner());
                Ok(Response::new(stream))
            })
        }
    }

    impl tonic::codegen::Service<http::Request<Body>> for EchoServer {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, req: http::Request<Body>) -> Self::Future {
            Box::pin(async move {
                if req.uri().path() != PATH {
                    return Ok(Status::unimplemented("no such method").into_http());
                }
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                Ok(grpc.streaming(Echo, req).await)
            })
        }
    }
}

/// tonic's server on a thread and runtime of its own, as streampod's is.
fn start_tonic() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::Builder::new()
        .name("tonic-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let incoming =
                    tonic::codegen::tokio_stream::wrappers::TcpListenerStream::new(listener);
                tonic::transport::Server::builder()
                    .tcp_nodelay(true)
                    .serve_with_incoming(tonic_echo::EchoServer, incoming)
                    .await
                    .unwrap();
            });
        })
        .unwrap();
    addr
}

/// An open tonic echo stream: the sender of its requests and its responses.
struct TonicStream {
    tx: futures::channel::mpsc::Sender<Chunk>,
    rx: tonic::Streaming<Chunk>,
}

async fn tonic_channel(addr: std::net::SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .tcp_nodelay(true)
        .connect()
        .await
        .unwrap()
}

async fn tonic_stream(channel: tonic::transport::Channel) -> TonicStream {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let (tx, requests) = futures::channel::mpsc::channel(64);
    let response = grpc
        .streaming(
            tonic::Request::new(requests),
            tonic::codegen::http::uri::PathAndQuery::from_static(tonic_echo::PATH),
            tonic_prost::ProstCodec::<Chunk, Chunk>::default(),
        )
        .await
        .unwrap();
    TonicStream {
        tx,
        rx: response.into_inner(),
    }
}

/// An open streampod echo call through its own client.
struct StreampodStream {
    tx: futures::channel::mpsc::Sender<ByteData>,
    rx: streampod::client::CallStream<ByteData>,
}

fn streampod_stream(client: &Client) -> StreampodStream {
    let (tx, requests) = futures::channel::mpsc::channel(64);
    let rx = client.stream::<ByteData>(
        "bench",
        "echo",
        NoArgs {},
        Inputs::new().values("stream", requests),
    );
    StreampodStream { tx, rx }
}

/// Sends `n` values with `in_flight` outstanding and takes every echo.
async fn pipeline_tonic(s: &mut TonicStream, n: u64, in_flight: u64) -> Duration {
    let start = Instant::now();
    let chunk = Chunk { data: vec![7; 64] };
    let (mut sent, mut received) = (0u64, 0u64);
    while sent < n.min(in_flight) {
        s.tx.send(chunk.clone()).await.unwrap();
        sent += 1;
    }
    while received < n {
        s.rx.next().await.unwrap().unwrap();
        received += 1;
        if sent < n {
            s.tx.send(chunk.clone()).await.unwrap();
            sent += 1;
        }
    }
    start.elapsed()
}

async fn pipeline_streampod(s: &mut StreampodStream, n: u64, in_flight: u64) -> Duration {
    let start = Instant::now();
    let (mut sent, mut received) = (0u64, 0u64);
    while sent < n.min(in_flight) {
        s.tx.send(ByteData(vec![7; 64])).await.unwrap();
        sent += 1;
    }
    while received < n {
        s.rx.next().await.unwrap().unwrap();
        received += 1;
        if sent < n {
            s.tx.send(ByteData(vec![7; 64])).await.unwrap();
            sent += 1;
        }
    }
    start.elapsed()
}

/// CPU time so far of this process's threads, split into servers' and everyone else's
/// (the client's: the benchmark's own thread runs the client runtime). From `schedstat`, in
/// nanoseconds: `stat`'s 10 ms ticks were too coarse for 200,000 messages.
fn cpu_split() -> (Duration, Duration) {
    let (mut server, mut client) = (0u64, 0u64);
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let comm = comm.trim();
        let nanos = thread_cpu_nanos(&path);
        if comm.starts_with("tonic-server")
            || comm.starts_with("streampod")
            || comm.starts_with("actix")
        {
            server += nanos;
        } else {
            client += nanos;
        }
    }
    (Duration::from_nanos(server), Duration::from_nanos(client))
}

fn peer(c: &mut Criterion) {
    let rt = runtime();
    let streampod = start_streampod();
    let tonic_addr = start_tonic();
    let client = Client::new(&format!("http://{}", streampod.addr())).unwrap();
    let mut sp = streampod_stream(&client);
    let mut tn = rt.block_on(async { tonic_stream(tonic_channel(tonic_addr).await).await });
    // Both streams open and warm.
    rt.block_on(async {
        pipeline_streampod(&mut sp, 1000, 64).await;
        pipeline_tonic(&mut tn, 1000, 64).await;
    });

    let mut group = c.benchmark_group("peer_1_stream_64_in_flight");
    group.throughput(Throughput::Elements(1));
    group.bench_function("tonic", |b| {
        b.iter_custom(|n| rt.block_on(pipeline_tonic(&mut tn, n, 64)))
    });
    group.bench_function("streampod", |b| {
        b.iter_custom(|n| rt.block_on(pipeline_streampod(&mut sp, n, 64)))
    });
    group.finish();

    // 100 streams on one connection, and 100 connections of one stream; 16 in flight each.
    let (mut tn_streams, mut sp_streams, mut tn_conns, mut sp_conns) = rt.block_on(async {
        let channel = tonic_channel(tonic_addr).await;
        let mut tn_streams = Vec::new();
        let mut tn_conns = Vec::new();
        let mut sp_conns = Vec::new();
        for _ in 0..100 {
            tn_streams.push(tonic_stream(channel.clone()).await);
            tn_conns.push(tonic_stream(tonic_channel(tonic_addr).await).await);
            let own = Client::new(&format!("http://{}", streampod.addr())).unwrap();
            sp_conns.push((streampod_stream(&own), own));
        }
        let mut sp_streams: Vec<_> = (0..100).map(|_| streampod_stream(&client)).collect();
        // Every stream open and warm.
        for s in &mut sp_streams {
            pipeline_streampod(s, 16, 16).await;
        }
        for (s, _) in &mut sp_conns {
            pipeline_streampod(s, 16, 16).await;
        }
        (tn_streams, sp_streams, tn_conns, sp_conns)
    });
    let share = |n: u64| n.div_ceil(100).max(1);
    let mut group = c.benchmark_group("peer_100_streams_1_connection_16_in_flight");
    group.throughput(Throughput::Elements(1));
    group.bench_function("tonic", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                futures::future::join_all(
                    tn_streams
                        .iter_mut()
                        .map(|s| pipeline_tonic(s, share(n), 16)),
                )
                .await;
                start.elapsed()
            })
        })
    });
    group.bench_function("streampod", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                futures::future::join_all(
                    sp_streams
                        .iter_mut()
                        .map(|s| pipeline_streampod(s, share(n), 16)),
                )
                .await;
                start.elapsed()
            })
        })
    });
    group.finish();
    let mut group = c.benchmark_group("peer_100_connections_16_in_flight");
    group.throughput(Throughput::Elements(1));
    group.bench_function("tonic", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                futures::future::join_all(
                    tn_conns.iter_mut().map(|s| pipeline_tonic(s, share(n), 16)),
                )
                .await;
                start.elapsed()
            })
        })
    });
    group.bench_function("streampod", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                futures::future::join_all(
                    sp_conns
                        .iter_mut()
                        .map(|(s, _)| pipeline_streampod(s, share(n), 16)),
                )
                .await;
                start.elapsed()
            })
        })
    });
    group.finish();

    // CPU per message on each side, for docs/PERFORMANCE.md: medians of 5 interleaved
    // rounds (the machine is shared and CPU time is counted in 10 ms ticks).
    let n = 200_000u64;
    let cost = |run: &mut dyn FnMut()| {
        let (s0, c0) = cpu_split();
        run();
        let (s1, c1) = cpu_split();
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        (per(s1 - s0), per(c1 - c0))
    };
    let (mut tonic_rounds, mut streampod_rounds) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        tonic_rounds.push(cost(&mut || {
            rt.block_on(pipeline_tonic(&mut tn, n, 64));
        }));
        streampod_rounds.push(cost(&mut || {
            rt.block_on(pipeline_streampod(&mut sp, n, 64));
        }));
    }
    let median = |rounds: &[(f64, f64)], side: fn(&(f64, f64)) -> f64| {
        let mut values: Vec<f64> = rounds.iter().map(side).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (tn_server, tn_client) = (
        median(&tonic_rounds, |r| r.0),
        median(&tonic_rounds, |r| r.1),
    );
    let (sp_server, sp_client) = (
        median(&streampod_rounds, |r| r.0),
        median(&streampod_rounds, |r| r.1),
    );
    println!(
        "CPU per message, 1 stream, 64 in flight (medians of 5): server streampod {sp_server:.2} µs / tonic {tn_server:.2} µs = {:.2}×; client streampod {sp_client:.2} µs / tonic {tn_client:.2} µs = {:.2}×",
        sp_server / tn_server,
        sp_client / tn_client
    );

    // Round trips at 1 in flight.
    let samples = |one: &mut dyn FnMut() -> Duration| {
        let mut all: Vec<Duration> = (0..5_000).map(|_| one()).collect();
        percentile(&mut all, 0.5)
    };
    let tn_p50 = samples(&mut || rt.block_on(pipeline_tonic(&mut tn, 1, 1)));
    let sp_p50 = samples(&mut || rt.block_on(pipeline_streampod(&mut sp, 1, 1)));
    println!(
        "round trip p50, 1 in flight: streampod {sp_p50:?} / tonic {tn_p50:?} = {:.2}",
        sp_p50.as_secs_f64() / tn_p50.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = peer
}
criterion_main!(benches);
