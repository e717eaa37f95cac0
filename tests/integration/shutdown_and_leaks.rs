//! Graceful shutdown, and nothing left behind however a connection ends (docs/PROTOCOL.md
//! §4.5, §4.7; Serverpod's method_websocket_connection_test).

use crate::support::conformance::{bearer, server_builder};
use crate::support::*;
use futures::StreamExt;
use std::time::Duration;
use streampod::client::{Client, Error, Inputs};

/// Opens, on one raw connection, an echo with an input, a bus subscription, an
/// authenticated call and a call whose input is never read.
async fn busy_connection(server: &TestServer) -> RawClient {
    let mut raw = RawClient::connect(server).await;
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.send(omsc_to(
        "bus",
        "subscribe",
        &cid(2),
        map(vec![("channel", "leaks".into())]),
        &[],
        None,
    ))
    .await;
    raw.recv().await.assert_open_at("bus", &cid(2), "success");
    let auth = bearer("1", "t", &["admin"]);
    raw.send(omsc_to(
        "authenticatedMethodStreaming",
        "intEchoStream",
        &cid(3),
        no_args(),
        &["stream"],
        Some(&auth),
    ))
    .await;
    raw.recv()
        .await
        .assert_open_at("authenticatedMethodStreaming", &cid(3), "success");
    let m = "delayedNeverListenedInputStream";
    raw.send(omsc(
        m,
        &cid(4),
        map(vec![("delay", 60.into())]),
        &["stream"],
    ))
    .await;
    raw.recv().await.assert_open(&cid(4), "success");
    for v in 0..10 {
        raw.send(msm(m, &cid(4), Some("stream"), int(v))).await;
    }
    server
        .wait_for_stats("everything open", |s| {
            s.open_calls == 4
                && s.bus_channels >= 1
                && s.authenticated_calls == 1
                && s.queued_inputs == 10
        })
        .await;
    raw
}

async fn assert_nothing_left(server: &TestServer, how: &str) {
    server
        .wait_for_stats(how, |s| {
            s.open_connections == 0
                && s.open_calls == 0
                && s.bus_channels == 0
                && s.authenticated_calls == 0
                && s.queued_inputs == 0
                && s.outbound_queued_bytes == 0
        })
        .await;
}

#[tokio::test]
async fn nothing_is_left_after_a_clean_close() {
    let server = TestServer::start();
    busy_connection(&server).await.close().await;
    assert_nothing_left(&server, "clean close").await;
}

#[tokio::test]
async fn nothing_is_left_after_a_tcp_drop() {
    let server = TestServer::start();
    busy_connection(&server).await.drop_tcp();
    assert_nothing_left(&server, "tcp drop").await;
}

#[tokio::test]
async fn nothing_is_left_after_a_protocol_error() {
    let server = TestServer::start();
    let mut raw = busy_connection(&server).await;
    raw.send(vec![0xc1]).await;
    assert_eq!(raw.expect_closed().await, Some(1002));
    assert_nothing_left(&server, "protocol error").await;
}

#[tokio::test]
async fn nothing_is_left_after_a_ping_timeout() {
    let server = TestServer::from_builder(
        server_builder().websocket_ping_interval(Duration::from_millis(100)),
    );
    let raw = busy_connection(&server).await;
    // Not reading: no pong.
    assert_nothing_left(&server, "ping timeout").await;
    drop(raw);
}

#[tokio::test]
async fn nothing_is_left_after_the_server_closes_connections() {
    let server = TestServer::start();
    let mut raw = busy_connection(&server).await;
    server.server.close_all_connections();
    assert_eq!(raw.expect_closed().await, Some(1001));
    assert_nothing_left(&server, "server close").await;
}

#[tokio::test]
async fn shutdown_closes_everything_within_its_deadline() {
    let view = TestServer::start();
    let mut raw = busy_connection(&view).await;
    let mut bare = RawClient::connect(&view).await;
    let legacy = streampod::client::LegacyClient::new(&view.http_url(), None).unwrap();
    legacy.open_streaming_connection().await.unwrap();
    let client = Client::new(&view.http_url()).unwrap();
    let mut delayed = client.stream::<i64>(
        ENDPOINT,
        "delayedStreamResponse",
        Delay { delay: 20 },
        Inputs::new(),
    );
    let waiting = tokio::spawn(async move { delayed.next().await });
    view.wait_for_stats("all connected", |s| {
        s.open_connections == 4 && s.open_calls == 5
    })
    .await;

    let (server, clean) = view.shutdown(Duration::from_secs(5)).await;
    assert!(clean, "every connection closed before the deadline");
    assert_eq!(raw.expect_closed().await, Some(1001));
    assert_eq!(bare.expect_closed().await, Some(1001));
    let ended = tokio::time::timeout(PATIENCE, waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended, Some(Err(Error::ConnectionClosed)));
    let stats = server.stats();
    assert_eq!((stats.open_connections, stats.open_calls), (0, 0));
    let legacy_stats = server.legacy_stats("streaming").unwrap();
    assert_eq!(
        legacy_stats.opened, legacy_stats.closed,
        "stream_closed ran for the legacy session"
    );
}

#[derive(serde::Serialize)]
struct Delay {
    delay: u64,
}

/// Dropping a running server from async code whose cooperative budget is spent (a task that
/// has just taken many ready items) used to spin forever: the stop waited on a tokio
/// channel, whose poll saw the spent budget, returned `Pending` and woke itself at once.
#[test]
fn dropping_a_server_in_async_code_with_its_budget_spent_returns() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let server = TestServer::start();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            for i in 0..1_000 {
                tx.send(i).unwrap();
            }
            // Take ready items until tokio's budget for this poll is spent, then drop the
            // server within the same poll.
            let mut server = Some(server);
            std::future::poll_fn(|cx| {
                while rx.poll_recv(cx).is_ready() {}
                drop(server.take());
                std::task::Poll::Ready(())
            })
            .await;
        });
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(PATIENCE)
        .expect("dropping the server returned");
}
