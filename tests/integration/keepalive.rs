//! The server's WebSocket pings: a peer that answers none within the interval is closed
//! with 1001 and its calls are torn down; a live peer stays (docs/PROTOCOL.md §1).

use crate::support::conformance::server_builder;
use crate::support::*;
use std::time::Duration;
use streampod::client::Client;

fn server_pinging_every(ms: u64) -> TestServer {
    TestServer::from_builder(server_builder().websocket_ping_interval(Duration::from_millis(ms)))
}

#[tokio::test]
async fn a_peer_that_never_answers_pings_is_closed_with_1001() {
    let server = server_pinging_every(100);
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    // Not reading means not answering pings.
    server
        .wait_for_stats("call open", |s| s.open_calls == 1)
        .await;
    server
        .wait_for_stats("silent peer closed and its call torn down", |s| {
            s.open_connections == 0 && s.open_calls == 0 && s.calls_cancelled == 1
        })
        .await;
    // What was written before the close is still there to read, then the close itself.
    raw.recv().await.assert_open(&cid(1), "success");
    assert_eq!(raw.expect_closed().await, Some(1001));
}

#[tokio::test]
async fn a_peer_that_answers_stays_connected_across_many_intervals() {
    let server = server_pinging_every(50);
    let c = Client::new(&server.http_url()).unwrap();
    let got = delayed_answer(&c, 1).await;
    assert_eq!(got, Ok(42));
    assert_eq!(server.stats().calls_cancelled, 0);
}

#[tokio::test]
async fn protocol_pings_are_still_answered() {
    let server = server_pinging_every(1000);
    let mut raw = RawClient::connect(&server).await;
    raw.send(ping()).await;
    assert_eq!(raw.recv().await.kind, "pong");
}
