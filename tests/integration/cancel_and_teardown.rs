//! Ending calls from the client, and tearing every call down when the connection goes
//! (docs/PROTOCOL.md §4.4, §4.5; Serverpod's close_method_stream_command_test and
//! never_ending_yield_test).

use crate::support::*;

#[tokio::test]
async fn cancelling_a_call_echoes_the_close_and_drops_the_method() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc(
        "delayedStreamResponse",
        &cid(1),
        map(vec![("delay", 10.into())]),
        &[],
    ))
    .await;
    raw.recv().await.assert_open(&cid(1), "success");
    server
        .wait_for_stats("call open", |s| s.open_calls == 1)
        .await;
    raw.send(cmsc("delayedStreamResponse", &cid(1), None, "done"))
        .await;
    raw.recv().await.assert_close(&cid(1), None, "done");
    server
        .wait_for_stats("method cancelled", |s| {
            s.open_calls == 0 && s.calls_cancelled == 1
        })
        .await;
    raw.expect_quiet().await;
}

#[tokio::test]
async fn cancelling_echoes_the_reason_and_closes_open_inputs() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.send(cmsc("intEchoStream", &cid(1), None, "error"))
        .await;
    raw.recv().await.assert_close(&cid(1), None, "error");
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "error");
    raw.expect_quiet().await;
}

#[tokio::test]
async fn a_never_ending_stream_stops_when_cancelled() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "neverEndingStreamWithDelay";
    raw.send(omsc(
        m,
        &cid(1),
        map(vec![("millisecondsDelay", 1.into())]),
        &[],
    ))
    .await;
    raw.recv().await.assert_open(&cid(1), "success");
    assert_eq!(raw.recv().await.int(), 0);
    raw.send(cmsc(m, &cid(1), None, "done")).await;
    // Values already in flight may arrive before the echoed close; nothing after it.
    loop {
        let f = raw.recv().await;
        if f.kind == "cmsc" {
            f.assert_close(&cid(1), None, "done");
            break;
        }
        assert_eq!(f.kind, "msm");
    }
    raw.expect_quiet().await;
    server
        .wait_for_stats("cancelled", |s| s.calls_cancelled == 1 && s.open_calls == 0)
        .await;
}

#[tokio::test]
async fn cancelling_a_call_with_a_never_read_input_closes_its_session() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "delayedNeverListenedInputStream";
    raw.send(omsc(
        m,
        &cid(1),
        map(vec![("delay", 20.into())]),
        &["stream"],
    ))
    .await;
    raw.recv().await.assert_open(&cid(1), "success");
    for v in 0..100 {
        raw.send(msm(m, &cid(1), Some("stream"), int(v))).await;
    }
    raw.send(cmsc(m, &cid(1), None, "done")).await;
    raw.recv().await.assert_close(&cid(1), None, "done");
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "done");
    server
        .wait_for_stats("session closed", |s| s.open_calls == 0)
        .await;
}

#[tokio::test]
async fn late_and_duplicate_closes_are_ignored() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.send(cmsc("intEchoStream", &cid(1), Some("nope"), "done"))
        .await;
    raw.send(cmsc("intEchoStream", &cid(7), None, "done")).await;
    raw.send(cmsc("intEchoStream", &cid(1), Some("stream"), "done"))
        .await;
    raw.recv().await.assert_close(&cid(1), None, "done");
    raw.send(cmsc("intEchoStream", &cid(1), Some("stream"), "done"))
        .await;
    raw.send(cmsc("intEchoStream", &cid(1), None, "done")).await;
    raw.expect_quiet().await;
}

#[tokio::test]
async fn closes_with_another_method_name_do_not_reach_the_call() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.send(cmsc("simpleStream", &cid(1), None, "done")).await;
    raw.send(msm("intEchoStream", &cid(1), Some("stream"), int(3)))
        .await;
    assert_eq!(raw.recv().await.int(), 3);
}

#[tokio::test]
async fn a_dropped_connection_tears_down_every_call() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    for n in 0..5 {
        raw.send(omsc("intEchoStream", &cid(n), no_args(), &["stream"]))
            .await;
        raw.recv().await.assert_open(&cid(n), "success");
    }
    raw.send(omsc(
        "delayedStreamResponse",
        &cid(9),
        map(vec![("delay", 20.into())]),
        &[],
    ))
    .await;
    raw.recv().await.assert_open(&cid(9), "success");
    server
        .wait_for_stats("6 calls open", |s| s.open_calls == 6)
        .await;
    raw.drop_tcp();
    server
        .wait_for_stats("all torn down", |s| {
            s.open_calls == 0 && s.open_connections == 0 && s.calls_cancelled == 6
        })
        .await;
}

#[tokio::test]
async fn a_clean_close_tears_down_every_call() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.close().await;
    server
        .wait_for_stats("torn down", |s| {
            s.open_calls == 0 && s.open_connections == 0
        })
        .await;
}

#[tokio::test]
async fn stats_count_opened_calls() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("simpleStream", &cid(1), no_args(), &[]))
        .await;
    raw.recv_n(12).await;
    raw.send(omsc("openCalls", &cid(2), no_args(), &[])).await;
    raw.recv().await.assert_open(&cid(2), "success");
    assert_eq!(raw.recv().await.int(), 0, "openCalls does not count itself");
    let s = server.stats();
    assert_eq!(s.calls_opened, 2);
    assert_eq!(s.open_connections, 1);
}
