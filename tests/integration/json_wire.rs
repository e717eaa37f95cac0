//! Serverpod's JSON wire on `/v1/websocket` (reference §15): a connection whose first data
//! frame is text speaks JSON for its life, in frames byte-identical to Serverpod's server's.

use crate::support::*;

const EN: &str = "methodStreaming";

/// A JSON `cid` (the lowercase form `cid(n)` gives).
fn jcid(n: u8) -> String {
    cid(n)
}

fn omsc_json(method: &str, cid: &str, args: &str, inputs: &[&str]) -> String {
    let is: Vec<String> = inputs.iter().map(|i| format!("\"{i}\"")).collect();
    format!(
        r#"{{"type":"omsc","data":{{"en":"{EN}","m":"{method}","cid":"{cid}","args":{args},"is":[{}]}}}}"#,
        is.join(",")
    )
}

fn omsr_json(method: &str, cid: &str, res: &str) -> String {
    format!(
        r#"{{"type":"omsr","data":{{"cid":"{cid}","res":"{res}","en":"{EN}","m":"{method}"}}}}"#
    )
}

fn msm_json(method: &str, cid: &str, param: Option<&str>, o: &str) -> String {
    let p = param.map(|p| format!(r#""p":"{p}","#)).unwrap_or_default();
    format!(r#"{{"type":"msm","data":{{"en":"{EN}","m":"{method}","cid":"{cid}",{p}"o":{o}}}}}"#)
}

fn cmsc_json(method: &str, cid: &str, param: Option<&str>, cr: &str) -> String {
    let p = param.map(|p| format!(r#""p":"{p}","#)).unwrap_or_default();
    format!(
        r#"{{"type":"cmsc","data":{{"en":"{EN}","m":"{method}","cid":"{cid}",{p}"cr":"{cr}"}}}}"#
    )
}

#[tokio::test]
async fn transcript_a_in_json_byte_for_byte() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let c = jcid(1);
    raw.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(raw.recv_text().await, r#"{"type":"pong"}"#);
    raw.send_text(&omsc_json("intEchoStream", &c, r#""{}""#, &["stream"]))
        .await;
    assert_eq!(
        raw.recv_text().await,
        omsr_json("intEchoStream", &c, "success")
    );
    raw.send_text(&msm_json(
        "intEchoStream",
        &c,
        Some("stream"),
        r#"{"className":"int","data":1}"#,
    ))
    .await;
    assert_eq!(
        raw.recv_text().await,
        msm_json("intEchoStream", &c, None, r#"{"className":"int","data":1}"#)
    );
    raw.send_text(&cmsc_json("intEchoStream", &c, Some("stream"), "done"))
        .await;
    assert_eq!(
        raw.recv_text().await,
        cmsc_json("intEchoStream", &c, None, "done")
    );
}

#[tokio::test]
async fn arguments_travel_as_a_json_string() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let c = jcid(2);
    raw.send_text(&omsc_json(
        "intStreamFromValue",
        &c,
        r#""{\"value\":2}""#,
        &[],
    ))
    .await;
    assert_eq!(
        raw.recv_text().await,
        omsr_json("intStreamFromValue", &c, "success")
    );
    for i in 0..2 {
        let o = format!(r#"{{"className":"int","data":{i}}}"#);
        assert_eq!(
            raw.recv_text().await,
            msm_json("intStreamFromValue", &c, None, &o)
        );
    }
    assert_eq!(
        raw.recv_text().await,
        cmsc_json("intStreamFromValue", &c, None, "done")
    );
}

#[tokio::test]
async fn the_brm_of_invalid_command_test_then_close() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send_text(r#"{"command":"this is not a valid command"}"#)
        .await;
    assert_eq!(
        raw.recv_text().await,
        r#"{"type":"brm","data":{"req":"{\"command\":\"this is not a valid command\"}"}}"#
    );
    assert!(matches!(
        raw.next_text().await,
        Err(Ended::Closed(Some(1002)))
    ));
}

#[tokio::test]
async fn args_that_are_not_a_string_make_the_frame_unreadable() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let frame = omsc_json("intStreamFromValue", &jcid(3), r#"{"value":2}"#, &[]);
    raw.send_text(&frame).await;
    let brm = raw.recv_text().await;
    let expected = serde_json::json!({"type": "brm", "data": {"req": frame}}).to_string();
    assert_eq!(brm, expected, "brm carries the raw frame");
    assert!(matches!(
        raw.next_text().await,
        Err(Ended::Closed(Some(1002)))
    ));
}

#[tokio::test]
async fn args_that_are_not_an_object_are_invalid_and_the_connection_goes_on() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    for (n, args) in [(4, r#""[4]""#), (5, r#""4""#), (6, r#""not json""#)] {
        let c = jcid(n);
        raw.send_text(&omsc_json("intStreamFromValue", &c, args, &[]))
            .await;
        assert_eq!(
            raw.recv_text().await,
            omsr_json("intStreamFromValue", &c, "invalidArguments"),
            "{args}"
        );
    }
    raw.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(raw.recv_text().await, r#"{"type":"pong"}"#);
}

#[tokio::test]
async fn models_cross_with_their_class_name_and_old_clients_may_leave_it_out() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let c = jcid(7);
    let m = "dynamicEchoStream";
    raw.send_text(&omsc_json(m, &c, r#""{}""#, &["stream"]))
        .await;
    assert_eq!(raw.recv_text().await, omsr_json(m, &c, "success"));
    let with = r#"{"className":"SimpleData","data":{"__className__":"SimpleData","num":1}}"#;
    for sent in [r#"{"className":"SimpleData","data":{"num":1}}"#, with] {
        raw.send_text(&msm_json(m, &c, Some("stream"), sent)).await;
        assert_eq!(raw.recv_text().await, msm_json(m, &c, None, with));
    }
    // A whole double as Flutter web sends it comes back as Dart writes it.
    raw.send_text(&msm_json(
        m,
        &c,
        Some("stream"),
        r#"{"className":"double","data":3}"#,
    ))
    .await;
    assert_eq!(
        raw.recv_text().await,
        msm_json(m, &c, None, r#"{"className":"double","data":3.0}"#)
    );
}

#[tokio::test]
async fn an_unknown_class_fails_only_its_input_stream() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let c = jcid(8);
    let m = "intEchoStream";
    raw.send_text(&omsc_json(m, &c, r#""{}""#, &["stream"]))
        .await;
    assert_eq!(raw.recv_text().await, omsr_json(m, &c, "success"));
    raw.send_text(&msm_json(
        m,
        &c,
        Some("stream"),
        r#"{"className":"Nope","data":{}}"#,
    ))
    .await;
    assert_eq!(
        raw.recv_text().await,
        cmsc_json(m, &c, Some("stream"), "error")
    );
    // The echo sees its input fail and ends with an error; the connection is still there.
    assert_eq!(raw.recv_text().await, cmsc_json(m, &c, None, "error"));
    raw.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(raw.recv_text().await, r#"{"type":"pong"}"#);
}

#[tokio::test]
async fn a_binary_frame_on_a_json_connection_is_read_as_json_text() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(raw.recv_text().await, r#"{"type":"pong"}"#);
    raw.send(br#"{"type":"ping"}"#.to_vec()).await;
    assert_eq!(raw.recv_text().await, r#"{"type":"pong"}"#);
    // Not UTF-8: the connection ends.
    raw.send(vec![0xff, 0xfe]).await;
    assert!(matches!(
        raw.next_text().await,
        Err(Ended::Closed(Some(1007)))
    ));
}
