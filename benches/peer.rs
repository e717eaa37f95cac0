//! streampod against its peer, tonic, measured as deployed: each system's server in a
//! process of its own, pinned to one core, and its own idiomatic client in another process,
//! pinned to the other core (with `taskset`, where there is one). streampod's `Client` calls
//! the bench server's bidi echo method; tonic's client calls `rpc Echo(stream Chunk)
//! returns (stream Chunk)`, served by tonic. 64-byte payloads.
//!
//! Four scenarios, each as five interleaved rounds of 4 s per system (the order alternates
//! per round), reported as ratios streampod / tonic of the medians, with the spread of the
//! per-round ratios: throughput, server CPU per message and client CPU per message (from
//! each process's `schedstat`, in nanoseconds), and the round trip at one in flight.
//!
//! ```text
//! cargo bench --bench peer                       # as deployed
//! STREAMPOD_PEER_ROUND_SECS=2 cargo bench --bench peer
//! STREAMPOD_PEER_KEYED=0 cargo bench --bench peer   # streampod's calls without keyed frames
//! ```
//!
//! The bench binary plays every part: run with `STREAMPOD_BENCH_ROLE` set, it is one server
//! or one client. The numbers of earlier rounds, with both servers and both clients in one
//! process, sharing two cores among four runtimes, pointed the wrong way (docs/PERFORMANCE.md).

#[path = "support/harness.rs"]
mod harness;
#[path = "support/processes.rs"]
mod processes;

use futures::{SinkExt, StreamExt};
use harness::*;
use processes::*;
use std::time::{Duration, Instant};
use streampod::client::{Client, ClientConfig, Inputs};
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

/// Echoes on `s` with `in_flight` outstanding until `deadline`, then takes what is still in
/// flight; the echoes received.
async fn until_tonic(s: &mut TonicStream, in_flight: u64, deadline: Instant) -> u64 {
    let chunk = Chunk { data: vec![7; 64] };
    for _ in 0..in_flight {
        s.tx.send(chunk.clone()).await.unwrap();
    }
    let (mut outstanding, mut received) = (in_flight, 0u64);
    while outstanding > 0 {
        s.rx.next().await.unwrap().unwrap();
        received += 1;
        outstanding -= 1;
        if Instant::now() < deadline {
            s.tx.send(chunk.clone()).await.unwrap();
            outstanding += 1;
        }
    }
    received
}

async fn until_streampod(s: &mut StreampodStream, in_flight: u64, deadline: Instant) -> u64 {
    for _ in 0..in_flight {
        s.tx.send(ByteData(vec![7; 64])).await.unwrap();
    }
    let (mut outstanding, mut received) = (in_flight, 0u64);
    while outstanding > 0 {
        s.rx.next().await.unwrap().unwrap();
        received += 1;
        outstanding -= 1;
        if Instant::now() < deadline {
            s.tx.send(ByteData(vec![7; 64])).await.unwrap();
            outstanding += 1;
        }
    }
    received
}

/// The scenarios: how many connections, streams per connection, values in flight per stream.
#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    label: &'static str,
    connections: usize,
    streams: usize,
    in_flight: u64,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "one",
        label: "1 connection, 1 stream, 64 in flight",
        connections: 1,
        streams: 1,
        in_flight: 64,
    },
    Scenario {
        name: "streams",
        label: "1 connection, 100 streams, 16 in flight each",
        connections: 1,
        streams: 100,
        in_flight: 16,
    },
    Scenario {
        name: "connections",
        label: "100 connections, 1 stream each, 16 in flight",
        connections: 100,
        streams: 1,
        in_flight: 16,
    },
    Scenario {
        name: "rtt",
        label: "1 stream, 1 in flight (round trip)",
        connections: 1,
        streams: 1,
        in_flight: 1,
    },
];

/// A server role: serves until killed, after printing its address.
fn serve(system: &str) {
    let addr = match system {
        "tonic" => start_tonic().to_string(),
        _ => {
            let running = start_streampod();
            let addr = running.addr().to_string();
            std::mem::forget(running);
            addr
        }
    };
    serve_until_killed(addr)
}

/// A client role: the scenario for `seconds` after a warm-up; prints messages, seconds
/// and this process's CPU seconds over the measured part.
fn client(system: &str, scenario: &str, addr: &str, seconds: f64) {
    let scenario = SCENARIOS.iter().find(|s| s.name == scenario).unwrap();
    let rt = runtime();
    let (messages, elapsed, cpu) = rt.block_on(async {
        let measured = |warm: bool| {
            let span = if warm { 0.3 } else { seconds };
            Instant::now() + Duration::from_secs_f64(span)
        };
        match system {
            "tonic" => {
                let mut streams = Vec::new();
                for _ in 0..scenario.connections {
                    let channel = tonic_channel(addr.parse().unwrap()).await;
                    for _ in 0..scenario.streams {
                        streams.push(tonic_stream(channel.clone()).await);
                    }
                }
                let in_flight = scenario.in_flight;
                futures::future::join_all(
                    streams
                        .iter_mut()
                        .map(|s| until_tonic(s, in_flight, measured(true))),
                )
                .await;
                let (cpu, start) = (process_cpu(std::process::id()), Instant::now());
                let deadline = measured(false);
                let counts = futures::future::join_all(
                    streams
                        .iter_mut()
                        .map(|s| until_tonic(s, in_flight, deadline)),
                )
                .await;
                let elapsed = start.elapsed().as_secs_f64();
                let cpu = process_cpu(std::process::id()) - cpu;
                (counts.iter().sum::<u64>(), elapsed, cpu)
            }
            _ => {
                let mut clients = Vec::new();
                let mut streams = Vec::new();
                for _ in 0..scenario.connections {
                    // `STREAMPOD_PEER_KEYED=0`: full `msm` envelopes, for a before/after.
                    let keyed = std::env::var("STREAMPOD_PEER_KEYED").map_or(true, |v| v != "0");
                    let config = ClientConfig::default().keyed_frames(keyed);
                    let client = Client::with_config(&format!("http://{addr}"), config).unwrap();
                    for _ in 0..scenario.streams {
                        streams.push(streampod_stream(&client));
                    }
                    clients.push(client);
                }
                let in_flight = scenario.in_flight;
                futures::future::join_all(
                    streams
                        .iter_mut()
                        .map(|s| until_streampod(s, in_flight, measured(true))),
                )
                .await;
                let (cpu, start) = (process_cpu(std::process::id()), Instant::now());
                let deadline = measured(false);
                let counts = futures::future::join_all(
                    streams
                        .iter_mut()
                        .map(|s| until_streampod(s, in_flight, deadline)),
                )
                .await;
                let elapsed = start.elapsed().as_secs_f64();
                let cpu = process_cpu(std::process::id()) - cpu;
                (counts.iter().sum::<u64>(), elapsed, cpu)
            }
        }
    });
    println!("{messages} {elapsed} {cpu}");
}

fn main() {
    let served = run_role(
        |args| serve(&args[0]),
        |args| client(&args[0], &args[1], &args[2], args[3].parse().unwrap()),
    );
    if served {
        return;
    }
    let seconds = round_seconds();
    let rounds = 5;
    let servers = [
        ("streampod", start_server(&["streampod"])),
        ("tonic", start_server(&["tonic"])),
    ];
    println!("streampod / tonic, as deployed ({rounds} interleaved rounds of {seconds} s, medians; per-round ratio range):");
    for scenario in SCENARIOS {
        let mut per_round: Vec<(Run, Run)> = Vec::new();
        for round in 0..rounds {
            let mut order = [0usize, 1];
            if round % 2 == 1 {
                order.reverse();
            }
            let mut runs = [None, None];
            for i in order {
                let (system, server) = &servers[i];
                runs[i] = Some(run_client(&[system, scenario.name], server, seconds));
            }
            per_round.push((runs[0].unwrap(), runs[1].unwrap()));
        }
        let report = |what: &str, value: &dyn Fn(&Run) -> f64| {
            let (sp, tn, lo, hi) = compare(&per_round, value);
            println!(
                "  {what}: streampod {sp:.2} / tonic {tn:.2} = {:.2} (rounds {lo:.2}-{hi:.2})",
                sp / tn
            );
        };
        println!("{}:", scenario.label);
        if scenario.name == "rtt" {
            report("round trip µs", &|r| r.seconds * 1e6 / r.messages as f64);
        } else {
            report("throughput msg/s", &Run::rate);
        }
        report("server CPU µs/msg", &|r| r.per_message(r.server_cpu));
        report("client CPU µs/msg", &|r| r.per_message(r.client_cpu));
    }
    for (_, (mut child, _)) in servers {
        let _ = child.kill();
        let _ = child.wait();
    }
}
