//! The frames a call produces, in order: `omsr(success)` first, every value before the
//! final `cmsc`, nothing after it (docs/PROTOCOL.md §4.3; Serverpod's
//! method_stream_message_test, in_out_endpoint_test and void_return_endpoint_test).

use crate::support::*;

#[tokio::test]
async fn values_arrive_in_order_then_done() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc(
        "intStreamFromValue",
        &cid(1),
        map(vec![("value", 4.into())]),
        &[],
    ))
    .await;
    raw.recv().await.assert_open(&cid(1), "success");
    let values: Vec<i64> = raw.recv_n(4).await.iter().map(Frame::int).collect();
    assert_eq!(values, vec![0, 1, 2, 3]);
    let end = raw.recv().await;
    end.assert_close(&cid(1), None, "done");
    assert_eq!(end.str("m"), Some("intStreamFromValue"));
    raw.expect_quiet().await;
}

#[tokio::test]
async fn model_values_are_wrapped_under_their_class() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc(
        "simpleDataStream",
        &cid(1),
        map(vec![("value", 4.into())]),
        &[],
    ))
    .await;
    raw.recv().await.assert_open(&cid(1), "success");
    for n in 0..4 {
        let (class, data) = raw.recv().await.wrapped("o");
        assert_eq!(class, "SimpleData");
        assert_eq!(data, map(vec![("num", n.into())]));
    }
    raw.recv().await.assert_close(&cid(1), None, "done");
}

#[tokio::test]
async fn a_future_method_sends_its_value_then_done() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc(
        "directOneIntReturnWithStreamInput",
        &cid(1),
        no_args(),
        &["stream"],
    ))
    .await;
    raw.recv().await.assert_open(&cid(1), "success");
    // The method dropped its input before returning.
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "done");
    let value = raw.recv().await;
    assert_eq!(value.int(), 1);
    assert_eq!(value.str("p"), None, "return values carry no p");
    raw.recv().await.assert_close(&cid(1), None, "done");
    raw.expect_quiet().await;
}

#[tokio::test]
async fn a_void_method_sends_no_value() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc(
        "voidReturnAfterStream",
        &cid(1),
        no_args(),
        &["stream"],
    ))
    .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.send(msm(
        "voidReturnAfterStream",
        &cid(1),
        Some("stream"),
        int(1),
    ))
    .await;
    raw.send(cmsc(
        "voidReturnAfterStream",
        &cid(1),
        Some("stream"),
        "done",
    ))
    .await;
    raw.recv().await.assert_close(&cid(1), None, "done");
    raw.expect_quiet().await;
}

#[tokio::test]
async fn a_direct_void_return_closes_the_call_then_its_input() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc(
        "directVoidReturnWithStreamInput",
        &cid(1),
        no_args(),
        &["stream"],
    ))
    .await;
    raw.recv().await.assert_open(&cid(1), "success");
    let frames = raw.recv_n(2).await;
    let mut closes: Vec<(Option<&str>, Option<&str>)> =
        frames.iter().map(|f| (f.str("p"), f.str("cr"))).collect();
    closes.sort();
    assert_eq!(
        closes,
        vec![(None, Some("done")), (Some("stream"), Some("done"))]
    );
    assert!(frames
        .iter()
        .all(|f| f.kind == "cmsc" && f.str("cid") == Some(cid(1).as_str())));
}

#[tokio::test]
async fn the_socket_stays_open_when_one_of_two_calls_ends() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.send(omsc("simpleStream", &cid(2), no_args(), &[]))
        .await;
    raw.recv().await.assert_open(&cid(2), "success");
    let values: Vec<i64> = raw.recv_n(10).await.iter().map(Frame::int).collect();
    assert_eq!(values, (0..10).collect::<Vec<_>>());
    raw.recv().await.assert_close(&cid(2), None, "done");
    raw.send(msm("intEchoStream", &cid(1), Some("stream"), int(4)))
        .await;
    assert_eq!(raw.recv().await.int(), 4);
}

#[tokio::test]
async fn frames_of_many_calls_on_one_socket_each_keep_their_order() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    for n in 0..10u8 {
        raw.send(omsc(
            "intStreamFromValue",
            &cid(n),
            map(vec![("value", 1000.into())]),
            &[],
        ))
        .await;
    }
    let mut next = [0i64; 10];
    let mut seen_open = [false; 10];
    let mut done = 0;
    while done < 10 {
        let f = raw.recv().await;
        let n = (0..10u8)
            .position(|n| f.str("cid") == Some(cid(n).as_str()))
            .expect("known cid");
        match f.kind.as_str() {
            "omsr" => seen_open[n] = true,
            "msm" => {
                assert!(seen_open[n], "value before omsr");
                assert_eq!(f.int(), next[n]);
                next[n] += 1;
            }
            "cmsc" => {
                assert_eq!(next[n], 1000, "cmsc before the last value");
                done += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    raw.expect_quiet().await;
}

#[tokio::test]
async fn msm_for_a_call_that_was_never_opened_is_closed_with_error() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(msm("intEchoStream", &cid(9), Some("stream"), int(1)))
        .await;
    raw.recv()
        .await
        .assert_close(&cid(9), Some("stream"), "error");
}

#[tokio::test]
async fn msm_for_an_unknown_parameter_is_closed_with_error() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.send(msm("intEchoStream", &cid(1), Some("other"), int(1)))
        .await;
    raw.recv()
        .await
        .assert_close(&cid(1), Some("other"), "error");
    // The call goes on.
    raw.send(msm("intEchoStream", &cid(1), Some("stream"), int(2)))
        .await;
    assert_eq!(raw.recv().await.int(), 2);
}

#[tokio::test]
async fn nothing_is_sent_for_a_call_after_its_final_close() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("simpleStream", &cid(1), no_args(), &[]))
        .await;
    raw.recv().await.assert_open(&cid(1), "success");
    raw.recv_n(10).await;
    raw.recv().await.assert_close(&cid(1), None, "done");
    // Late frames for the ended call, as a client that had not yet seen the end would send.
    raw.send(msm("simpleStream", &cid(1), Some("stream"), int(1)))
        .await;
    raw.send(cmsc("simpleStream", &cid(1), None, "done")).await;
    raw.send(cmsc("simpleStream", &cid(1), None, "done")).await;
    raw.expect_quiet().await;
}
