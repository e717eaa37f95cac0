//! Input streams: values reach the method typed and in order; closes in both directions;
//! a value of the wrong type fails only its stream (docs/PROTOCOL.md §4.3, §4.4; Serverpod's
//! in_out_endpoint, multiple_input_streams, nullable_stream and dynamic_stream tests).

use crate::support::*;
use rmpv::Value;

async fn open(raw: &mut RawClient, method: &str, inputs: &[&str]) {
    raw.send(omsc(method, &cid(1), no_args(), inputs)).await;
    raw.recv().await.assert_open(&cid(1), "success");
}

#[tokio::test]
async fn echo_returns_every_value_in_order_then_done() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    open(&mut raw, "intEchoStream", &["stream"]).await;
    for v in 0..4 {
        raw.send(msm("intEchoStream", &cid(1), Some("stream"), int(v)))
            .await;
    }
    raw.send(cmsc("intEchoStream", &cid(1), Some("stream"), "done"))
        .await;
    let echoed: Vec<i64> = raw.recv_n(4).await.iter().map(Frame::int).collect();
    assert_eq!(echoed, vec![0, 1, 2, 3]);
    raw.recv().await.assert_close(&cid(1), None, "done");
    raw.expect_quiet().await;
}

#[tokio::test]
async fn a_future_reading_the_first_value_closes_its_input_then_returns() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    open(&mut raw, "intReturnFromStream", &["stream"]).await;
    raw.send(msm("intReturnFromStream", &cid(1), Some("stream"), int(7)))
        .await;
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "done");
    assert_eq!(raw.recv().await.int(), 7);
    raw.recv().await.assert_close(&cid(1), None, "done");
    // The client's redundant close is ignored.
    raw.send(cmsc("intReturnFromStream", &cid(1), None, "done"))
        .await;
    raw.expect_quiet().await;
}

#[tokio::test]
async fn two_inputs_are_merged_and_close_independently() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "multipleIntEchoStreams";
    open(&mut raw, m, &["stream1", "stream2"]).await;
    for v in 1..=4 {
        raw.send(msm(m, &cid(1), Some("stream1"), int(v))).await;
        raw.send(msm(m, &cid(1), Some("stream2"), int(v * 10)))
            .await;
    }
    let mut got: Vec<i64> = raw.recv_n(8).await.iter().map(Frame::int).collect();
    got.sort();
    assert_eq!(got, vec![1, 2, 3, 4, 10, 20, 30, 40]);
    raw.send(cmsc(m, &cid(1), Some("stream1"), "done")).await;
    raw.send(msm(m, &cid(1), Some("stream2"), int(99))).await;
    assert_eq!(raw.recv().await.int(), 99);
    raw.send(cmsc(m, &cid(1), Some("stream2"), "done")).await;
    raw.recv().await.assert_close(&cid(1), None, "done");
}

#[tokio::test]
async fn nullable_values_keep_their_nulls() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "nullableIntEchoStream";
    open(&mut raw, m, &["stream"]).await;
    raw.send(msm(m, &cid(1), Some("stream"), int(1))).await;
    raw.send(msm(m, &cid(1), Some("stream"), wrapped("null", Value::Nil)))
        .await;
    raw.send(msm(m, &cid(1), Some("stream"), int(3))).await;
    let got: Vec<(String, Value)> = raw.recv_n(3).await.iter().map(|f| f.wrapped("o")).collect();
    assert_eq!(
        got,
        vec![
            ("int".to_string(), 1.into()),
            ("null".to_string(), Value::Nil),
            ("int".to_string(), 3.into())
        ]
    );
}

#[tokio::test]
async fn a_nullable_future_returns_null_as_a_value() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "nullableIntReturnFromStream";
    open(&mut raw, m, &["stream"]).await;
    raw.send(msm(m, &cid(1), Some("stream"), wrapped("null", Value::Nil)))
        .await;
    let frames = raw.recv_n(3).await;
    let value = frames.iter().find(|f| f.kind == "msm").expect("a value");
    assert_eq!(value.wrapped("o"), ("null".to_string(), Value::Nil));
}

#[tokio::test]
async fn a_dynamic_stream_carries_mixed_types() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "dynamicEchoStream";
    open(&mut raw, m, &["stream"]).await;
    let values = vec![
        int(1),
        wrapped("String", "hello".into()),
        wrapped("SimpleData", map(vec![("num", 42.into())])),
        wrapped("List<int>", Value::Array(vec![1.into(), 2.into()])),
        wrapped(
            "List",
            Value::Array(vec![int(1), wrapped("String", "two".into())]),
        ),
    ];
    for v in &values {
        raw.send(msm(m, &cid(1), Some("stream"), v.clone())).await;
    }
    for v in &values {
        assert_eq!(raw.recv().await.get("o"), Some(v));
    }
}

#[tokio::test]
async fn a_value_of_the_wrong_class_fails_only_its_input() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "multipleIntEchoStreams";
    open(&mut raw, m, &["stream1", "stream2"]).await;
    raw.send(msm(
        m,
        &cid(1),
        Some("stream1"),
        wrapped("String", "x".into()),
    ))
    .await;
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream1"), "error");
    // The method sees the error item on stream1, and its echo fails with it.
    raw.recv().await.assert_close(&cid(1), None, "error");
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream2"), "error");
    // The connection goes on.
    raw.expect_quiet().await;
}

#[tokio::test]
async fn an_unknown_class_on_a_dynamic_stream_fails_only_that_stream() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc("intEchoStream", &cid(2), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(2), "success");
    let m = "dynamicEchoStream";
    open(&mut raw, m, &["stream"]).await;
    raw.send(msm(
        m,
        &cid(1),
        Some("stream"),
        wrapped("NoSuchClass", map(vec![])),
    ))
    .await;
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "error");
    raw.recv().await.assert_close(&cid(1), None, "error");
    raw.send(msm("intEchoStream", &cid(2), Some("stream"), int(8)))
        .await;
    assert_eq!(raw.recv().await.int(), 8);
}

#[tokio::test]
async fn data_that_does_not_match_its_class_fails_the_stream() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "dynamicEchoStream";
    open(&mut raw, m, &["stream"]).await;
    raw.send(msm(
        m,
        &cid(1),
        Some("stream"),
        wrapped("SimpleData", "not a map".into()),
    ))
    .await;
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "error");
}

#[tokio::test]
async fn a_typed_list_stream_echoes_lists() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "simpleListInOutIntStream";
    open(&mut raw, m, &["stream"]).await;
    let list = wrapped(
        "List<int>",
        Value::Array(vec![1.into(), 2.into(), 3.into()]),
    );
    raw.send(msm(m, &cid(1), Some("stream"), list.clone()))
        .await;
    assert_eq!(raw.recv().await.get("o"), Some(&list));
}

/// What one read brings is handed to each call in one batch: values for two calls
/// interleaved, a failure of one input and a close of another among them, all in one write.
/// Each method gets its own values in order, the failure and the close after the values
/// before them, and nothing of one call reaches the other.
#[tokio::test]
async fn values_closes_and_failures_in_one_read_reach_each_call_in_order() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "intEchoStream";
    for n in [1, 2] {
        raw.send(omsc(m, &cid(n), no_args(), &["stream"])).await;
        raw.recv().await.assert_open(&cid(n), "success");
    }
    let mut frames = Vec::new();
    for v in 0..40 {
        frames.push(msm(m, &cid(1), Some("stream"), int(v)));
        frames.push(msm(m, &cid(2), Some("stream"), int(1000 + v)));
    }
    frames.push(cmsc(m, &cid(1), Some("stream"), "done"));
    frames.push(msm(m, &cid(2), Some("stream"), int(1040)));
    let boom = wrapped("String", "boom".into());
    frames.push(msse(m, &cid(2), Some("stream"), boom));
    raw.send_together(frames).await;
    let (mut echoed, mut ends) = (vec![Vec::new(), Vec::new()], Vec::new());
    while ends.len() < 2 {
        let frame = raw.recv().await;
        let call = usize::from(frame.str("cid") == Some(cid(2).as_str()));
        match frame.kind.as_str() {
            "msm" => {
                assert!(!ends.contains(&call), "a value after its call ended");
                echoed[call].push(frame.int());
            }
            "cmsc" | "msse" if frame.str("p").is_none() => ends.push(call),
            _ => panic!("unexpected {frame:?}"),
        }
    }
    assert_eq!(echoed[0], (0..40).collect::<Vec<i64>>());
    assert_eq!(echoed[1], (1000..=1040).collect::<Vec<i64>>());
    // Both calls ended: the first once its input closed, the second with its input's error.
    ends.sort();
    assert_eq!(ends, [0, 1]);
    server
        .wait_for_stats("both calls ended, no input left queued", |s| {
            s.open_calls == 0 && s.queued_inputs == 0
        })
        .await;
}

/// A method that drops an input and then waits has the input reported closed
/// (`cmsc(p, done)`) at once, not with the next value it sends; a value the client sends on
/// it later is refused, and the call goes on.
#[tokio::test]
async fn an_input_the_method_drops_while_it_waits_is_reported_closed_at_once() {
    use crate::support::conformance::server_builder;
    use futures::{FutureExt, StreamExt};
    use streampod::{Endpoint, InputStream, NoArgs};
    let endpoint = Endpoint::new("dropper").stream(
        "dropFirstThenWait",
        ["first", "second"],
        |_, _: NoArgs, (first, second): (InputStream<i64>, InputStream<i64>)| {
            // Takes one value of `first` and lets it go; then echoes `second`, which the
            // test leaves open.
            first
                .take(1)
                .collect::<Vec<_>>()
                .map(move |_| second)
                .flatten_stream()
        },
    );
    let server = TestServer::from_builder(server_builder().endpoint(endpoint));
    let mut raw = RawClient::connect(&server).await;
    let (e, m) = ("dropper", "dropFirstThenWait");
    raw.send(omsc_to(
        e,
        m,
        &cid(1),
        no_args(),
        &["first", "second"],
        None,
    ))
    .await;
    raw.recv().await.assert_open_at(e, &cid(1), "success");
    raw.send(msm_to(e, m, &cid(1), Some("first"), int(1))).await;
    let close = raw.recv().await;
    assert_eq!(close.str("p"), Some("first"), "{close:?}");
    assert_eq!(close.str("cr"), Some("done"), "{close:?}");
    raw.send(msm_to(e, m, &cid(1), Some("first"), int(2))).await;
    let refused = raw.recv().await;
    refused.assert_close(&cid(1), Some("first"), "error");
    // The call goes on with its other input.
    raw.send(msm_to(e, m, &cid(1), Some("second"), int(3)))
        .await;
    assert_eq!(raw.recv().await.int(), 3);
    raw.expect_quiet().await;
}
