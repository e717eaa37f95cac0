//! Frames that are not valid messages get `brm`, then a close with a code; a `brm` from the
//! client closes the connection (docs/PROTOCOL.md §4.1; Serverpod's
//! bad_request_command_test, invalid_command_test and method_stream_message_test).

use crate::support::*;

async fn assert_brm_then_close(raw: &mut RawClient, code: u16) -> String {
    let f = raw.recv().await;
    assert_eq!(f.kind, "brm", "{f:?}");
    let req = f.str("req").expect("req").to_string();
    assert_eq!(raw.expect_closed().await, Some(code));
    req
}

#[tokio::test]
async fn brm_from_the_client_closes_the_connection() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(frame("brm", Some(map(vec![("req", "oops".into())]))))
        .await;
    assert!(raw.expect_closed().await.is_some());
}

#[tokio::test]
async fn a_map_without_type_gets_brm_and_a_protocol_close() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(encode(&map(vec![(
        "command",
        "this is not a valid command".into(),
    )])))
    .await;
    let req = assert_brm_then_close(&mut raw, 1002).await;
    assert!(req.contains("type"), "{req}");
}

#[tokio::test]
async fn bytes_that_are_not_messagepack_get_brm() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(vec![0xc1, 0x00]).await;
    assert_brm_then_close(&mut raw, 1002).await;
}

#[tokio::test]
async fn unknown_type_and_upper_case_type_get_brm() {
    for kind in ["nope", "OMSC"] {
        let server = TestServer::start();
        let mut raw = RawClient::connect(&server).await;
        raw.send(frame(kind, Some(no_args()))).await;
        let req = assert_brm_then_close(&mut raw, 1002).await;
        assert!(req.contains(kind), "{req}");
    }
}

#[tokio::test]
async fn a_bad_cid_gets_brm() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("simpleStream", "not-a-uuid", no_args(), &[]))
        .await;
    let req = assert_brm_then_close(&mut raw, 1002).await;
    assert!(req.contains("cid"), "{req}");
}

#[tokio::test]
async fn a_mistyped_field_gets_brm() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    // `is` must be an array of strings.
    let bad = frame(
        "omsc",
        Some(map(vec![
            ("en", ENDPOINT.into()),
            ("m", "intEchoStream".into()),
            ("cid", cid(1).as_str().into()),
            ("args", no_args()),
            ("is", rmpv::Value::Array(vec![1.into()])),
        ])),
    );
    raw.send(bad).await;
    let req = assert_brm_then_close(&mut raw, 1002).await;
    assert!(req.contains("`is`"), "{req}");
}

#[tokio::test]
async fn a_text_frame_on_a_messagepack_connection_gets_brm_and_unsupported_data_close() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    // The first data frame made this a MessagePack connection; text is not its wire.
    raw.send(ping()).await;
    assert_eq!(raw.recv().await.kind, "pong");
    raw.send_text(r#"{"type":"ping"}"#).await;
    assert_brm_then_close(&mut raw, 1003).await;
}

#[tokio::test]
async fn msm_targeting_the_return_stream_gets_brm_and_closes() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.send(msm("intEchoStream", &cid(1), None, int(1))).await;
    let req = assert_brm_then_close(&mut raw, 1002).await;
    assert_eq!(
        req,
        "Server does not accept messages targeting the return stream."
    );
    // The call was torn down with its connection.
    server
        .wait_for_stats("calls torn down", |s| {
            s.open_calls == 0 && s.open_connections == 0
        })
        .await;
}

#[tokio::test]
async fn a_frame_over_the_size_limit_closes_with_1009() {
    let server = TestServer::with_config(streampod::Config::default().max_frame_size(1024));
    let mut raw = RawClient::connect(&server).await;
    // Just under the limit is served.
    let mut under = map(vec![
        ("type", "ping".into()),
        ("pad", rmpv::Value::Binary(vec![0; 990])),
    ]);
    assert!(encode(&under).len() <= 1024);
    raw.send(encode(&under)).await;
    assert_eq!(raw.recv().await.kind, "pong");
    // Just over is not.
    under = map(vec![
        ("type", "ping".into()),
        ("pad", rmpv::Value::Binary(vec![0; 1100])),
    ]);
    raw.send(encode(&under)).await;
    assert_eq!(raw.expect_closed().await, Some(1009));
}

#[tokio::test]
async fn a_bad_connection_does_not_disturb_another() {
    let server = TestServer::start();
    let mut good = RawClient::connect(&server).await;
    good.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    good.recv().await.assert_open(&cid(1), "success");
    let mut bad = RawClient::connect(&server).await;
    bad.send(vec![0xff, 0xff, 0xff]).await;
    assert_brm_then_close(&mut bad, 1002).await;
    good.send(msm("intEchoStream", &cid(1), Some("stream"), int(7)))
        .await;
    assert_eq!(good.recv().await.int(), 7);
}
