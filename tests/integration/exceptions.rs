//! Errors crossing the wire: serializable exceptions as `msse` + `cmsc(error)`, anything
//! else as `cmsc(error)` alone, and the socket staying usable (docs/PROTOCOL.md §3.1,
//! §4.3; Serverpod's throwing_method_endpoint_test and method_return_websocket_connection_test).

use crate::support::*;

async fn open(raw: &mut RawClient, method: &str, n: u8, inputs: &[&str]) {
    raw.send(omsc(method, &cid(n), no_args(), inputs)).await;
    raw.recv().await.assert_open(&cid(n), "success");
}

fn assert_exception_with_data(f: &Frame, n: u8) {
    assert_eq!(f.kind, "msse", "{f:?}");
    assert_eq!(f.str("cid"), Some(cid(n).as_str()));
    assert_eq!(f.str("p"), None);
    let (class, data) = f.wrapped("ex");
    assert_eq!(class, "ExceptionWithData");
    let field = |k: &str| {
        data.as_map()
            .unwrap()
            .iter()
            .find(|(key, _)| key.as_str() == Some(k))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(field("message").as_str(), Some("Throwing an exception"));
    let fields: Vec<_> = field("errorFields")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, vec!["first line error", "second line error"]);
    let date = field("creationDate");
    let date = date.as_str().unwrap();
    assert!(date.ends_with('Z') && date.len() == 24, "{date}");
}

#[tokio::test]
async fn a_stream_throwing_a_serializable_exception_sends_msse_then_error() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    open(&mut raw, "outStreamThrowsSerializableException", 1, &[]).await;
    assert_exception_with_data(&raw.recv().await, 1);
    raw.recv().await.assert_close(&cid(1), None, "error");
    raw.expect_quiet().await;
}

#[tokio::test]
async fn a_stream_throwing_another_error_sends_only_cmsc_error() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    open(&mut raw, "outStreamThrowsException", 1, &[]).await;
    raw.recv().await.assert_close(&cid(1), None, "error");
    raw.expect_quiet().await;
}

#[tokio::test]
async fn a_future_throwing_closes_the_call_and_its_input_with_error() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    open(&mut raw, "inStreamThrowsException", 1, &["stream"]).await;
    raw.recv().await.assert_close(&cid(1), None, "error");
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "error");
}

#[tokio::test]
async fn a_future_throwing_a_serializable_exception_sends_msse_and_closes() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    open(
        &mut raw,
        "inStreamThrowsSerializableException",
        1,
        &["stream"],
    )
    .await;
    assert_exception_with_data(&raw.recv().await, 1);
    raw.recv().await.assert_close(&cid(1), None, "error");
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "error");
}

#[tokio::test]
async fn a_method_that_panics_fails_only_its_call() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    open(&mut raw, "intEchoStream", 1, &["stream"]).await;
    open(&mut raw, "exceptionThrownBeforeStreamReturn", 2, &[]).await;
    raw.recv().await.assert_close(&cid(2), None, "error");
    raw.send(msm("intEchoStream", &cid(1), Some("stream"), int(5)))
        .await;
    assert_eq!(raw.recv().await.int(), 5);
}

#[tokio::test]
async fn the_socket_stays_usable_after_a_call_fails() {
    for method in [
        "outStreamThrowsException",
        "outStreamThrowsSerializableException",
    ] {
        let server = TestServer::start();
        let mut raw = RawClient::connect(&server).await;
        open(&mut raw, "intEchoStream", 1, &["stream"]).await;
        open(&mut raw, method, 2, &[]).await;
        loop {
            let f = raw.recv().await;
            if f.kind == "cmsc" {
                f.assert_close(&cid(2), None, "error");
                break;
            }
        }
        raw.send(msm("intEchoStream", &cid(1), Some("stream"), int(4)))
            .await;
        assert_eq!(raw.recv().await.int(), 4);
    }
}

#[tokio::test]
async fn a_client_input_closed_with_error_reaches_the_method() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    open(&mut raw, "didInputStreamHaveError", 1, &["stream"]).await;
    raw.send(cmsc(
        "didInputStreamHaveError",
        &cid(1),
        Some("stream"),
        "error",
    ))
    .await;
    let f = raw.recv().await;
    assert_eq!(f.wrapped("o"), ("bool".to_string(), true.into()));
    raw.recv().await.assert_close(&cid(1), None, "done");
}

#[tokio::test]
async fn a_client_input_exception_reaches_the_method_as_a_serializable_exception() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "didInputStreamHaveSerializableExceptionError";
    open(&mut raw, m, 1, &["stream"]).await;
    let ex = wrapped(
        "ExceptionWithData",
        map(vec![
            ("message", "from client".into()),
            ("creationDate", "2026-08-21T10:00:00.000Z".into()),
            ("errorFields", rmpv::Value::Array(vec![])),
            ("someNullableField", rmpv::Value::Nil),
        ]),
    );
    raw.send(msse(m, &cid(1), Some("stream"), ex)).await;
    raw.send(cmsc(m, &cid(1), Some("stream"), "error")).await;
    // The method stops reading at the first error, which closes its input, then answers.
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "done");
    let f = raw.recv().await;
    assert_eq!(f.wrapped("o"), ("bool".to_string(), true.into()));
}

#[tokio::test]
async fn a_plain_input_error_is_not_a_serializable_exception() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let m = "didInputStreamHaveSerializableExceptionError";
    open(&mut raw, m, 1, &["stream"]).await;
    raw.send(cmsc(m, &cid(1), Some("stream"), "error")).await;
    let f = raw.recv().await;
    assert_eq!(f.wrapped("o"), ("bool".to_string(), false.into()));
}

/// A method's first error ends its call: the method is not pulled past it, even when more
/// items were ready at once (the call takes its method's output in batches).
#[tokio::test]
async fn a_method_is_not_pulled_past_its_first_error() {
    use futures::StreamExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let endpoint = streampod::Endpoint::new("errors").stream(
        "twice",
        [],
        move |_, _: streampod::NoArgs, ()| {
            let counter = counter.clone();
            futures::stream::iter([
                Err(streampod::StreamError::failed("first")),
                Err(streampod::StreamError::failed("second")),
                Ok(1i64),
            ])
            .inspect(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            })
        },
    );
    let server =
        TestServer::from_builder(crate::support::conformance::server_builder().endpoint(endpoint));
    let client = streampod::client::Client::new(&server.http_url()).unwrap();
    let got: Vec<_> = client
        .stream::<i64>("errors", "twice", streampod::NoArgs {}, Default::default())
        .collect()
        .await;
    assert_eq!(got, vec![Err(streampod::client::Error::ClosedWithError)]);
    assert_eq!(pulled.load(Ordering::SeqCst), 1);
}
