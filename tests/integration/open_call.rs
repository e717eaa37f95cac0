//! Opening calls: every `omsc` gets exactly one `omsr`, in Serverpod's validation order
//! (docs/PROTOCOL.md §4.2; Serverpod's open_method_stream_command_test).

use crate::support::*;
use rmpv::Value;

async fn open(method: &str, args: Value, inputs: &[&str]) -> (TestServer, RawClient, Frame) {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc(method, &cid(1), args, inputs)).await;
    let f = raw.recv().await;
    (server, raw, f)
}

#[tokio::test]
async fn unknown_endpoint_is_not_found() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let f = frame(
        "omsc",
        Some(map(vec![
            ("en", "nope".into()),
            ("m", "simpleStream".into()),
            ("cid", cid(1).as_str().into()),
            ("args", no_args()),
            ("is", Value::Array(vec![])),
        ])),
    );
    raw.send(f).await;
    let f = raw.recv().await;
    assert_eq!(f.str("res"), Some("endpointNotFound"));
    assert_eq!(f.str("en"), Some("nope"), "en is echoed verbatim");
    assert_eq!(f.str("m"), Some("simpleStream"));
    raw.expect_quiet().await;
}

#[tokio::test]
async fn unknown_method_is_not_found() {
    let (_s, _r, f) = open("nope", no_args(), &[]).await;
    f.assert_open(&cid(1), "endpointNotFound");
}

#[tokio::test]
async fn a_valid_open_succeeds() {
    let (_s, _r, f) = open("simpleStream", no_args(), &[]).await;
    f.assert_open(&cid(1), "success");
    assert_eq!(f.str("m"), Some("simpleStream"));
}

#[tokio::test]
async fn a_missing_argument_is_invalid() {
    let (_s, mut raw, f) = open("simpleStreamWithParameter", no_args(), &[]).await;
    f.assert_open(&cid(1), "invalidArguments");
    // The connection stays usable.
    raw.expect_quiet().await;
}

#[tokio::test]
async fn an_argument_of_the_wrong_type_is_invalid() {
    let (_s, _r, f) = open(
        "simpleStreamWithParameter",
        map(vec![("value", "four".into())]),
        &[],
    )
    .await;
    f.assert_open(&cid(1), "invalidArguments");
}

#[tokio::test]
async fn args_that_are_not_a_map_are_invalid() {
    let (_s, _r, f) = open("simpleStream", Value::from("{}"), &[]).await;
    f.assert_open(&cid(1), "invalidArguments");
}

#[tokio::test]
async fn a_missing_required_input_stream_is_invalid() {
    let (_s, _r, f) = open("intEchoStream", no_args(), &[]).await;
    f.assert_open(&cid(1), "invalidArguments");
}

#[tokio::test]
async fn a_present_argument_succeeds() {
    let (_s, _r, f) = open(
        "simpleStreamWithParameter",
        map(vec![("value", 42.into())]),
        &[],
    )
    .await;
    f.assert_open(&cid(1), "success");
}

#[tokio::test]
async fn an_input_return_stream_opens() {
    let (_s, _r, f) = open("simpleInputReturnStream", no_args(), &["stream"]).await;
    f.assert_open(&cid(1), "success");
}

#[tokio::test]
async fn an_optional_input_may_be_left_out() {
    let (_s, mut raw, f) = open("optionalEchoStream", no_args(), &[]).await;
    f.assert_open(&cid(1), "success");
    assert_eq!(raw.recv().await.int(), -1);
    raw.recv().await.assert_close(&cid(1), None, "done");
}

#[tokio::test]
async fn unknown_names_in_is_are_ignored() {
    let (_s, _r, f) = open("intEchoStream", no_args(), &["stream", "extra"]).await;
    f.assert_open(&cid(1), "success");
}

#[tokio::test]
async fn a_cid_in_use_cannot_be_opened_again() {
    let (_s, mut raw, f) = open("intEchoStream", no_args(), &["stream"]).await;
    f.assert_open(&cid(1), "success");
    raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cid(1), "invalidArguments");
    // The first call is unaffected.
    raw.send(msm("intEchoStream", &cid(1), Some("stream"), int(3)))
        .await;
    assert_eq!(raw.recv().await.int(), 3);
}

#[tokio::test]
async fn an_upper_case_cid_is_answered_in_lower_case() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc(
        "simpleStream",
        &cid(0xab).to_uppercase(),
        no_args(),
        &[],
    ))
    .await;
    raw.recv().await.assert_open(&cid(0xab), "success");
}
