//! `ping` gets `pong`; `pong` and `omsr` from a client get nothing (docs/PROTOCOL.md
//! §3; Serverpod's ping_pong_command_test and open_method_stream_response_test).

use crate::support::*;

#[tokio::test]
async fn ping_is_answered_with_pong() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(ping()).await;
    let f = raw.recv().await;
    assert_eq!(f.kind, "pong");
    assert_eq!(f.data, None, "pong carries no data");
}

#[tokio::test]
async fn pong_gets_no_answer() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(frame("pong", None)).await;
    raw.expect_quiet().await;
}

#[tokio::test]
async fn omsr_from_a_client_is_ignored() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let omsr = frame(
        "omsr",
        Some(map(vec![
            ("cid", cid(1).as_str().into()),
            ("res", "success".into()),
            ("en", ENDPOINT.into()),
            ("m", "simpleStream".into()),
        ])),
    );
    raw.send(omsr).await;
    raw.expect_quiet().await;
}
