//! Limits and flow control: what one client can make the server hold is bounded, and a
//! slow or hostile client does not hurt another.

use crate::support::conformance::server_builder;
use crate::support::*;
use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streampod::client::{Client, Inputs};
use streampod::{Config, Endpoint, InputStream, NoArgs, StreamError};

fn with_config(config: Config) -> TestServer {
    TestServer::from_builder(server_builder().config(config))
}

/// One echo through a well-behaved client: the server still serves others.
async fn echo_works(server: &TestServer) {
    let c = Client::new(&server.http_url()).unwrap();
    let inputs = Inputs::new().values("stream", futures::stream::iter([5i64]));
    let got = tokio::time::timeout(
        PATIENCE,
        c.call::<i64>(ENDPOINT, "intReturnFromStream", NoArgs {}, inputs),
    )
    .await
    .expect("the server answers another client");
    assert_eq!(got, Ok(5));
}

#[tokio::test]
async fn calls_past_the_per_connection_limit_are_refused_and_the_connection_goes_on() {
    let server = with_config(Config::default().max_calls_per_connection(3));
    let mut raw = RawClient::connect(&server).await;
    for n in 0..3 {
        raw.send(omsc("intEchoStream", &cid(n), no_args(), &["stream"]))
            .await;
        raw.recv().await.assert_open(&cid(n), "success");
    }
    raw.send(omsc("intEchoStream", &cid(3), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(3), "invalidArguments");
    raw.send(msm("intEchoStream", &cid(0), Some("stream"), int(9)))
        .await;
    assert_eq!(raw.recv().await.int(), 9);
}

#[tokio::test]
async fn too_many_input_names_are_refused() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let names: Vec<String> = (0..17).map(|i| format!("s{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    raw.send(omsc("simpleStream", &cid(1), no_args(), &names))
        .await;
    raw.recv().await.assert_open(&cid(1), "invalidArguments");
}

#[tokio::test]
async fn handshakes_past_the_connection_limit_get_503() {
    let server = with_config(Config::default().max_connections(2));
    let _a = RawClient::connect(&server).await;
    let _b = RawClient::connect(&server).await;
    server
        .wait_for_stats("two connections", |s| s.open_connections == 2)
        .await;
    match tokio_tungstenite::connect_async(server.url()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503)
        }
        other => panic!("expected 503, got {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_handshakes_admit_exactly_the_limit_on_both_paths() {
    let server = with_config(Config::default().max_connections(100).workers(2));
    let addr = server.running.addr();
    // 200 handshakes at once, half of them legacy; each answer is read whole, and every
    // admitted socket stays open until all have answered.
    let handshakes = (0..200).map(|i| {
        let path = if i % 2 == 0 {
            "/v1/websocket"
        } else {
            "/websocket"
        };
        raw_handshake(addr, path)
    });
    let answers = futures::future::join_all(handshakes).await;
    let count = |code: &str| answers.iter().filter(|(s, _)| s == code).count();
    assert_eq!((count("101"), count("503")), (100, 100));
    server
        .wait_for_stats("the admitted ones are open", |s| s.open_connections == 100)
        .await;
    // A place frees when a connection goes.
    drop(answers);
    server
        .wait_for_stats("all gone", |s| s.open_connections == 0)
        .await;
    echo_works(&server).await;
}

#[tokio::test]
async fn a_client_that_stops_reading_pauses_its_own_methods_only() {
    let produced = Arc::new(AtomicU64::new(0));
    let counter = produced.clone();
    let flood = Endpoint::new("flood").stream("ints", [], move |_, _: NoArgs, ()| {
        let counter = counter.clone();
        futures::stream::iter(0i64..).map(move |v| {
            counter.fetch_add(1, Ordering::Relaxed);
            Ok(v)
        })
    });
    let limit = 64 * 1024;
    let server = TestServer::from_builder(
        server_builder()
            .endpoint(flood)
            .config(Config::default().max_outbound_bytes(limit)),
    );
    let mut reader = RawClient::connect(&server).await;
    reader
        .send(omsc_to("flood", "ints", &cid(1), no_args(), &[], None))
        .await;
    // Not reading: the kernel's buffers fill, then the connection's gate.
    server
        .wait_for_stats("the gate is full", |s| s.outbound_queued_bytes >= limit)
        .await;
    let before = produced.load(Ordering::Relaxed);
    for _ in 0..20 {
        echo_works(&server).await;
        assert!(
            server.stats().outbound_queued_bytes < limit + 4096,
            "{:?}",
            server.stats()
        );
    }
    let after = produced.load(Ordering::Relaxed);
    assert!(
        after - before < 256,
        "the method kept producing: {before} then {after}"
    );
    // Reading again resumes the method, and nothing was lost.
    reader
        .recv()
        .await
        .assert_open_at("flood", &cid(1), "success");
    for expected in 0..(after as i64 + 1000) {
        assert_eq!(reader.recv().await.int(), expected);
    }
}

#[tokio::test]
async fn a_method_behind_its_input_stops_the_connection_reading_then_closes_it() {
    let server = TestServer::from_builder(
        server_builder()
            .config(Config::default().max_queued_inputs(16))
            .websocket_ping_interval(Duration::from_millis(500)),
    );
    let mut raw = RawClient::connect(&server).await;
    let m = "delayedNeverListenedInputStream";
    raw.send(omsc(
        m,
        &cid(1),
        map(vec![("delay", 30.into())]),
        &["stream"],
    ))
    .await;
    raw.recv().await.assert_open(&cid(1), "success");
    let (mut sink, mut frames) = raw.split();
    let sender = tokio::spawn(async move {
        for v in 0..10_000 {
            if sink
                .send(msm(m, &cid(1), Some("stream"), int(v)))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    server
        .wait_for_stats("the input queue is full", |s| s.queued_inputs >= 16)
        .await;
    for _ in 0..5 {
        echo_works(&server).await;
        assert!(server.stats().queued_inputs <= 16, "{:?}", server.stats());
    }
    // A method that takes nothing for a ping interval costs its client the connection.
    assert_eq!(frames.expect_closed().await, Some(1013));
    server
        .wait_for_stats("all released", |s| {
            s.open_connections == 0 && s.open_calls == 0 && s.queued_inputs == 0
        })
        .await;
    sender.abort();
}

#[tokio::test]
async fn ten_thousand_opens_on_one_connection_stay_bounded() {
    let server = TestServer::start();
    let raw = RawClient::connect(&server).await;
    let (mut sink, mut frames) = raw.split();
    let writer = tokio::spawn(async move {
        for n in 0..10_000u32 {
            let cid = format!("0d3ee6a3-9b59-4c1c-8f0e-{n:012x}");
            let open = omsc(
                "delayedStreamResponse",
                &cid,
                map(vec![("delay", 60.into())]),
                &[],
            );
            sink.send(open).await.unwrap();
        }
    });
    let (mut ok, mut refused) = (0, 0);
    while ok + refused < 10_000 {
        let f = frames.recv().await;
        match f.str("res") {
            Some("success") => ok += 1,
            Some("invalidArguments") => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    writer.await.unwrap();
    assert_eq!((ok, refused), (1024, 10_000 - 1024));
    assert_eq!(server.stats().open_calls, 1024);
    echo_works(&server).await;
    frames.drop_tcp();
    server
        .wait_for_stats("all torn down", |s| {
            s.open_calls == 0 && s.open_connections == 0
        })
        .await;
}

#[tokio::test]
async fn a_flood_of_pings_is_answered_and_others_are_served() {
    let server = TestServer::start();
    let raw = RawClient::connect(&server).await;
    let (mut sink, mut frames) = raw.split();
    let writer = tokio::spawn(async move {
        for _ in 0..20_000 {
            sink.send(ping()).await.unwrap();
        }
    });
    echo_works(&server).await;
    for _ in 0..20_000 {
        assert_eq!(frames.recv().await.kind, "pong");
    }
    writer.await.unwrap();
}

#[tokio::test]
async fn half_a_frame_then_silence_is_closed_by_the_keepalive() {
    let server = TestServer::from_builder(
        server_builder().websocket_ping_interval(Duration::from_millis(200)),
    );
    let mut tcp = raw_upgrade(&server).await;
    // A binary frame header announcing 100 bytes, masked, and then only 3 of them.
    use tokio::io::AsyncWriteExt;
    tcp.write_all(&[0x82, 0x80 | 100, 1, 2, 3, 4, 9, 9, 9])
        .await
        .unwrap();
    echo_works(&server).await;
    server
        .wait_for_stats("the silent peer is gone", |s| s.open_connections == 0)
        .await;
    drop(tcp);
}

#[tokio::test]
async fn a_client_whose_input_runs_ahead_of_its_echoes_keeps_reading() {
    // All 20,000 values (20 MB) are ready at once, far more than the sockets and the server's
    // queues hold: the client must keep reading the echoes while its writes wait, or both
    // sides stop for good.
    let server = TestServer::start();
    let c = Client::new(&server.http_url()).unwrap();
    const N: usize = 20_000;
    let values = (0..N).map(|i| format!("{i:01024}"));
    let inputs = Inputs::new().values("stream", futures::stream::iter(values));
    let echoes = c.stream::<String>(ENDPOINT, "dynamicEchoStream", NoArgs {}, inputs);
    let in_order = tokio::time::timeout(
        Duration::from_secs(60),
        echoes
            .enumerate()
            .fold(0usize, |in_order, (i, echo)| async move {
                in_order + usize::from(echo == Ok(format!("{i:01024}")))
            }),
    )
    .await
    .expect("every echo arrives");
    assert_eq!(
        in_order, N,
        "every value comes back, in order and unchanged"
    );
}

#[tokio::test]
async fn a_client_pulls_its_input_only_as_fast_as_its_connection_sends() {
    // The method holds its input stream and never reads it, so the server stops reading
    // the socket once its queue is full; the client's input stream must then stop being
    // pulled, instead of piling up in the client's memory.
    let hold = Endpoint::new("hold").stream(
        "input",
        ["stream"],
        |_, _: NoArgs, (input,): (InputStream<String>,)| {
            futures::stream::unfold(input, |input| async move {
                let _held = input;
                futures::future::pending::<Option<(Result<i64, StreamError>, _)>>().await
            })
        },
    );
    let server = TestServer::from_builder(server_builder().endpoint(hold));
    let pulled = Arc::new(AtomicU64::new(0));
    let counter = pulled.clone();
    // What can be in flight: the server's queue (256), the socket buffers (a few MB, at
    // 16 KiB a value a few hundred), the client's queued frames (1,024) and its pumps'
    // queue (256). One value more than that is offered, then nothing (the stream stays
    // open), so that a client that pulls without bound fails here instead of filling memory.
    const BOUND: u64 = 4_000;
    let endless = futures::stream::iter(0..=BOUND)
        .map(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            "x".repeat(16 * 1024)
        })
        .chain(futures::stream::pending());
    let c = Client::new(&server.http_url()).unwrap();
    let mut call = c.stream::<i64>(
        "hold",
        "input",
        NoArgs {},
        Inputs::new().values("stream", endless),
    );
    let opened = tokio::spawn(async move { call.next().await });
    server
        .wait_for_stats("the method's input queue is full", |s| {
            s.queued_inputs >= 256
        })
        .await;
    for _ in 0..10 {
        echo_works(&server).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = pulled.load(Ordering::Relaxed);
        assert!(
            n <= BOUND,
            "{n} input values pulled while the server took 256"
        );
    }
    opened.abort();
}

#[tokio::test]
async fn a_value_over_the_clients_limit_fails_its_socket_and_the_next_call_gets_a_new_one() {
    #[derive(serde::Deserialize)]
    struct Size {
        bytes: usize,
    }
    #[derive(serde::Serialize)]
    struct Ask {
        bytes: usize,
    }
    let big = Endpoint::new("big").stream("bytes", [], |_, a: Size, ()| {
        futures::stream::once(async move { Ok(streampod::ByteData(vec![7u8; a.bytes])) })
    });
    let server = TestServer::from_builder(server_builder().endpoint(big));
    let config = streampod::client::ClientConfig::default().max_message_size(64 * 1024);
    let client = Client::with_config(&server.http_url(), config).unwrap();
    let fetch = |bytes: usize| {
        client
            .stream::<streampod::ByteData>("big", "bytes", Ask { bytes }, Inputs::new())
            .collect::<Vec<_>>()
    };
    let over = fetch(100 * 1024).await;
    assert!(
        matches!(over.as_slice(), [Err(streampod::client::Error::Protocol { reason: why, .. })] if why.contains("more than the client accepts")),
        "{over:?}"
    );
    let under = fetch(32 * 1024).await;
    assert!(
        matches!(under.as_slice(), [Ok(v)] if v.0.len() == 32 * 1024),
        "{} items",
        under.len()
    );
}
