//! Serverpod's JSON wire (docs/PROTOCOL.md §9): a connection whose first data frame is text speaks
//! JSON for its life, in frames byte-identical to Serverpod's server's, on `/v1/websocket`
//! and on the legacy `/websocket`.

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

#[tokio::test]
async fn legacy_endpoints_speak_json_too() {
    let server = TestServer::start();
    let mut raw = RawClient::connect_legacy(&server).await;
    raw.send_text(r#"{"command":"ping","args":{}}"#).await;
    assert_eq!(raw.recv_text().await, r#"{"command":"pong"}"#);
    // The `streaming` endpoint echoes SimpleData; a 2.x client may leave out the class key.
    raw.send_text(
        r#"{"endpoint":"streaming","object":{"className":"SimpleData","data":{"num":5}}}"#,
    )
    .await;
    assert_eq!(
        raw.recv_text().await,
        r#"{"endpoint":"streaming","object":{"className":"SimpleData","data":{"__className__":"SimpleData","num":5}}}"#
    );
    // Signing in with a key the fixture accepts opens a login-only endpoint.
    let key = streampod::basic_auth_value("user:1:a:");
    raw.send_text(&serde_json::json!({"command": "auth", "args": {"key": key}}).to_string())
        .await;
    raw.send_text(
        r#"{"endpoint":"signInRequired","object":{"className":"SimpleData","data":{"num":6}}}"#,
    )
    .await;
    assert_eq!(
        raw.recv_text().await,
        r#"{"endpoint":"signInRequired","object":{"className":"SimpleData","data":{"__className__":"SimpleData","num":6}}}"#
    );
    // A command without its args ends the connection with no reply, as in Serverpod.
    raw.send_text(r#"{"command":"auth"}"#).await;
    assert!(matches!(
        raw.next_text().await,
        Err(Ended::Closed(Some(1002)))
    ));
}

#[tokio::test]
async fn an_open_without_is_is_a_bad_request_as_serverpod_reads_it() {
    // Serverpod reads `is` as a required list: without it (or with null), the frame is not a
    // message, where a MessagePack open without `is` already was.
    for is in ["", r#","is":null"#] {
        let server = TestServer::start();
        let mut raw = RawClient::connect(&server).await;
        let frame = format!(
            r#"{{"type":"omsc","data":{{"en":"{EN}","m":"simpleStream","cid":"{}","args":"{{}}"{is}}}}}"#,
            jcid(4)
        );
        raw.send_text(&frame).await;
        let expected = serde_json::json!({"type": "brm", "data": {"req": frame}}).to_string();
        assert_eq!(raw.recv_text().await, expected);
        assert!(matches!(
            raw.next_text().await,
            Err(Ended::Closed(Some(1002)))
        ));
        assert_eq!(server.stats().calls_opened, 0);
    }
}

#[tokio::test]
async fn a_legacy_command_without_args_ends_the_connection_with_no_reply() {
    // Serverpod reads `args` as a required map before it looks at `command`: even a ping.
    for frame in [r#"{"command":"ping"}"#, r#"{"command":"ping","args":null}"#] {
        let server = TestServer::start();
        let mut raw = RawClient::connect_legacy(&server).await;
        raw.send_text(r#"{"command":"ping","args":{}}"#).await;
        assert_eq!(raw.recv_text().await, r#"{"command":"pong"}"#);
        raw.send_text(frame).await;
        assert!(matches!(
            raw.next_text().await,
            Err(Ended::Closed(Some(1002)))
        ));
    }
}

#[tokio::test]
async fn a_messagepack_legacy_connection_still_refuses_text() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let server = TestServer::start();
    let url = format!("ws://{}/websocket", server.running.addr());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let ping = streampod::protocol::LegacyMessage::Ping.encode();
    ws.send(WsMessage::Binary(ping)).await.unwrap();
    ws.send(WsMessage::Text(r#"{"command":"ping"}"#.into()))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout(PATIENCE, ws.next()).await {
        seen.push(message);
    }
    let pong = streampod::protocol::LegacyMessage::Pong.encode();
    assert_eq!(seen.first(), Some(&WsMessage::Binary(pong)), "{seen:?}");
    let Some(WsMessage::Close(Some(close))) = seen.get(1) else {
        panic!("expected a close after the pong: {seen:?}")
    };
    assert_eq!(u16::from(close.code), 1003);
}

/// Transcript B of docs/PROTOCOL.md §6: a future from a stream, byte for byte.
#[tokio::test]
async fn transcript_b_in_json_byte_for_byte() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let (c, m) = (jcid(9), "intReturnFromStream");
    raw.send_text(&omsc_json(m, &c, r#""{}""#, &["stream"]))
        .await;
    assert_eq!(raw.recv_text().await, omsr_json(m, &c, "success"));
    let seven = r#"{"className":"int","data":7}"#;
    raw.send_text(&msm_json(m, &c, Some("stream"), seven)).await;
    assert_eq!(
        raw.recv_text().await,
        cmsc_json(m, &c, Some("stream"), "done")
    );
    assert_eq!(raw.recv_text().await, msm_json(m, &c, None, seven));
    assert_eq!(raw.recv_text().await, cmsc_json(m, &c, None, "done"));
}

/// Transcript D: a serializable exception, then `cmsc(error)`; a plain one, only the close.
#[tokio::test]
async fn transcript_d_in_json_byte_for_byte() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let (c, m) = (jcid(10), "outStreamThrowsSerializableException");
    raw.send_text(&omsc_json(m, &c, r#""{}""#, &[])).await;
    assert_eq!(raw.recv_text().await, omsr_json(m, &c, "success"));
    let msse = raw.recv_text().await;
    // The exception carries the time it was thrown: take it from the frame.
    let at = msse.find(r#""creationDate":""#).expect("a creation date") + 16;
    let date = &msse[at..at + 24];
    let ex = format!(
        r#"{{"className":"ExceptionWithData","data":{{"__className__":"ExceptionWithData","message":"Throwing an exception","creationDate":"{date}","errorFields":["first line error","second line error"],"someNullableField":1}}}}"#
    );
    assert_eq!(
        msse,
        format!(r#"{{"type":"msse","data":{{"en":"{EN}","m":"{m}","cid":"{c}","ex":{ex}}}}}"#)
    );
    assert_eq!(raw.recv_text().await, cmsc_json(m, &c, None, "error"));
    let (c, m) = (jcid(11), "outStreamThrowsException");
    raw.send_text(&omsc_json(m, &c, r#""{}""#, &[])).await;
    assert_eq!(raw.recv_text().await, omsr_json(m, &c, "success"));
    assert_eq!(raw.recv_text().await, cmsc_json(m, &c, None, "error"));
}

/// Transcript E: the client's input fails with a serializable exception, then its close.
#[tokio::test]
async fn transcript_e_in_json_byte_for_byte() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let (c, m) = (jcid(12), "intEchoStream");
    raw.send_text(&omsc_json(m, &c, r#""{}""#, &["stream"]))
        .await;
    assert_eq!(raw.recv_text().await, omsr_json(m, &c, "success"));
    let ex = r#"{"className":"SimpleData","data":{"__className__":"SimpleData","num":1}}"#;
    raw.send_text(&format!(
        r#"{{"type":"msse","data":{{"en":"{EN}","m":"{m}","cid":"{c}","p":"stream","ex":{ex}}}}}"#
    ))
    .await;
    raw.send_text(&cmsc_json(m, &c, Some("stream"), "error"))
        .await;
    // The echo sees its input fail with the exception and ends with it.
    assert_eq!(
        raw.recv_text().await,
        format!(r#"{{"type":"msse","data":{{"en":"{EN}","m":"{m}","cid":"{c}","ex":{ex}}}}}"#)
    );
    assert_eq!(raw.recv_text().await, cmsc_json(m, &c, None, "error"));
}

/// Transcript F: a rejected open.
#[tokio::test]
async fn transcript_f_in_json_byte_for_byte() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let c = jcid(13);
    let open = format!(
        r#"{{"type":"omsc","data":{{"en":"signedInMethodStreaming","m":"intEchoStream","cid":"{c}","args":"{{}}","is":["stream"]}}}}"#
    );
    raw.send_text(&open).await;
    assert_eq!(
        raw.recv_text().await,
        format!(
            r#"{{"type":"omsr","data":{{"cid":"{c}","res":"authenticationFailed","en":"signedInMethodStreaming","m":"intEchoStream"}}}}"#
        )
    );
}
