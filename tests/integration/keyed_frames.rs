//! Keyed value frames (docs/PROTOCOL.md §12): an open that carries a key `k` above every
//! earlier one gets it back in its `omsr`, and from then on the call's values travel as
//! `[k, i, className, data]` both ways; everything else about the call is unchanged. A
//! keyed frame for no call closes the connection with `brm`; one for a call that has ended
//! is dropped; the JSON wire knows no keys. With raw frames, with the Rust client on and
//! off, and with the Rust client against a scripted server that does not take its key.

use crate::support::*;
use futures::{stream, SinkExt, StreamExt};
use rmpv::Value;
use streampod::client::{Client, ClientConfig, Inputs};
use streampod::protocol::{CloseReason, Message, OpenCall, OpenResponse, OpenResult, Target};
use streampod::{Dynamic, Encoding, NoArgs};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// An `omsc` of `intEchoStream` with input `stream`, asking for key `key`.
fn open_echo(cid: &str, key: Option<u64>) -> Vec<u8> {
    let mut data = vec![
        ("en", Value::from(ENDPOINT)),
        ("m", Value::from("intEchoStream")),
        ("cid", Value::from(cid)),
        ("args", no_args()),
        ("is", Value::Array(vec![Value::from("stream")])),
    ];
    if let Some(key) = key {
        data.push(("k", Value::from(key)));
    }
    frame("omsc", Some(map(data)))
}

/// Opens the echo with `key` and returns the `k` of its answer.
async fn opened_with(client: &mut RawClient, cid: &str, key: Option<u64>) -> Option<u64> {
    client.send(open_echo(cid, key)).await;
    let answer = client.recv().await;
    answer.assert_open(cid, "success");
    answer.get("k").map(|k| k.as_u64().expect("an integer `k`"))
}

#[tokio::test]
async fn a_keyed_call_carries_its_values_in_keyed_frames_both_ways() {
    let server = TestServer::start();
    let mut client = RawClient::connect(&server).await;
    let c1 = cid(1);
    assert_eq!(opened_with(&mut client, &c1, Some(5)).await, Some(5));
    client.send(keyed(5, Some(0), "int", Value::from(7))).await;
    assert_eq!(
        client.recv().await.keyed(),
        (5, None, "int".to_string(), Value::from(7))
    );
    // A full `msm` on the same call still counts; its answer comes keyed.
    client
        .send(msm("intEchoStream", &c1, Some("stream"), int(8)))
        .await;
    assert_eq!(client.recv().await.keyed().3, Value::from(8));
    // The end is a `cmsc` as ever.
    client
        .send(cmsc("intEchoStream", &c1, Some("stream"), "done"))
        .await;
    client.recv().await.assert_close(&c1, None, "done");
    // The call has ended: a late keyed value is dropped, and nothing answers it.
    client.send(keyed(5, Some(0), "int", Value::from(9))).await;
    client.expect_quiet().await;
}

#[tokio::test]
async fn a_key_that_does_not_grow_is_not_taken_and_the_call_uses_msm() {
    let server = TestServer::start();
    let mut client = RawClient::connect(&server).await;
    let (c1, c2, c3) = (cid(1), cid(2), cid(3));
    assert_eq!(opened_with(&mut client, &c1, Some(5)).await, Some(5));
    assert_eq!(opened_with(&mut client, &c2, Some(5)).await, None);
    assert_eq!(opened_with(&mut client, &c3, Some(4)).await, None);
    client
        .send(msm("intEchoStream", &c2, Some("stream"), int(1)))
        .await;
    let answer = client.recv().await;
    assert_eq!((answer.str("cid"), answer.int()), (Some(c2.as_str()), 1));
    // Without a key at all, as Serverpod's clients open.
    assert_eq!(opened_with(&mut client, &cid(4), None).await, None);
}

#[tokio::test]
async fn a_keyed_frame_for_no_call_or_no_input_is_a_bad_request() {
    let server = TestServer::start();
    let cases: Vec<(Option<u64>, Vec<u8>, &str)> = vec![
        // No open took key 9.
        (
            None,
            keyed(9, Some(0), "int", Value::from(1)),
            "invalid `k`: no open took key 9",
        ),
        // The call has one input stream, at place 0.
        (
            Some(5),
            keyed(5, Some(1), "int", Value::from(1)),
            "invalid `i`: input 1 of a call with 1 input streams",
        ),
        // Values on the return stream are the server's to send.
        (
            Some(5),
            keyed(5, None, "int", Value::from(1)),
            "return stream",
        ),
        // Not a keyed frame: three items.
        (
            Some(5),
            encode(&Value::Array(vec![5.into(), 0.into(), "int".into()])),
            "3 items, not 4",
        ),
    ];
    for (key, bad, why) in cases {
        let mut client = RawClient::connect(&server).await;
        if key.is_some() {
            assert_eq!(opened_with(&mut client, &cid(1), key).await, key);
        }
        client.send(bad).await;
        let answer = client.recv().await;
        assert_eq!(answer.kind, "brm", "{answer:?}");
        let req = answer.str("req").unwrap_or_default();
        assert!(req.contains(why), "{req}");
        assert_eq!(client.expect_closed().await, Some(1002));
    }
    // Nothing of those connections is left behind.
    server
        .wait_for_stats("no calls or connections", |s| {
            s.open_calls == 0 && s.open_connections == 0
        })
        .await;
}

#[tokio::test]
async fn the_json_wire_knows_no_keys() {
    let server = TestServer::start();
    let mut client = RawClient::connect(&server).await;
    let c1 = cid(1);
    client
        .send_text(&format!(
            r#"{{"type":"omsc","data":{{"en":"{ENDPOINT}","m":"intEchoStream","cid":"{c1}","args":"{{}}","is":["stream"],"k":5}}}}"#
        ))
        .await;
    let answer = client.recv_text().await;
    assert_eq!(
        answer,
        format!(
            r#"{{"type":"omsr","data":{{"cid":"{c1}","res":"success","en":"{ENDPOINT}","m":"intEchoStream"}}}}"#
        )
    );
}

#[tokio::test]
async fn the_rust_client_gets_the_same_values_with_keys_and_without() {
    let server = TestServer::start();
    for keyed in [true, false] {
        for encoding in [Encoding::MessagePack, Encoding::Json] {
            let config = ClientConfig::default()
                .keyed_frames(keyed)
                .encoding(encoding);
            let client = Client::with_config(&server.url(), config).unwrap();
            let inputs = Inputs::new().values("stream", stream::iter(0..300i64));
            let echoed: Vec<i64> = client
                .stream::<i64>(ENDPOINT, "intEchoStream", NoArgs {}, inputs)
                .map(Result::unwrap)
                .collect()
                .await;
            assert_eq!(echoed, (0..300).collect::<Vec<_>>(), "{keyed} {encoding:?}");
            // A second call on the same socket takes the next key.
            let inputs = Inputs::new().values("stream", stream::iter([41i64, 42]));
            let echoed: Vec<i64> = client
                .stream::<i64>(ENDPOINT, "intEchoStream", NoArgs {}, inputs)
                .map(Result::unwrap)
                .collect()
                .await;
            assert_eq!(echoed, vec![41, 42]);
        }
    }
}

/// A scripted server: answers every open (echoing its key when `echo_key`), echoes each
/// value ×10 in the form it came in, ends the call when its input ends, and, with `stray`,
/// sends a keyed frame for a key no open took right after its answer. It reports every
/// frame it received.
async fn scripted_server(
    echo_key: bool,
    stray: bool,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<Message>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (seen, frames) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let mut open: Option<OpenCall> = None;
        while let Some(Ok(WsMessage::Binary(bytes))) = ws.next().await {
            let Ok(message) = Message::decode(&bytes) else {
                return;
            };
            let times_ten = |value: &Dynamic| Dynamic::new(&(value.decode::<i64>().unwrap() * 10));
            let answer = match &message {
                Message::Ping => Some(Message::Pong),
                Message::OpenCall(call) => {
                    open = Some(call.clone());
                    let answer = OpenResponse::new(
                        call.cid,
                        OpenResult::Success,
                        call.endpoint.clone(),
                        call.method.clone(),
                    );
                    let answer = match (echo_key, call.key) {
                        (true, Some(key)) => answer.with_key(key),
                        _ => answer,
                    };
                    let _ = ws
                        .send(WsMessage::Binary(Message::OpenResponse(answer).encode()))
                        .await;
                    stray.then(|| Message::keyed_value(99, None, Dynamic::new(&1i64).unwrap()))
                }
                Message::Value { value, .. } => {
                    let call = open.as_ref().unwrap();
                    let target = Target::new(call.endpoint.clone(), call.method.clone(), call.cid);
                    Some(Message::value(target, times_ten(value).unwrap()))
                }
                Message::KeyedValue { key, value, .. } => {
                    Some(Message::keyed_value(*key, None, times_ten(value).unwrap()))
                }
                Message::Close { target, .. } => {
                    Some(Message::close(target.call(), CloseReason::Done))
                }
                _ => None,
            };
            let _ = seen.send(message);
            if let Some(answer) = answer {
                let _ = ws.send(WsMessage::Binary(answer.encode())).await;
            }
        }
    });
    (url, frames)
}

#[tokio::test]
async fn the_rust_client_uses_msm_with_a_server_that_does_not_take_its_key() {
    for echo_key in [false, true] {
        let (url, mut frames) = scripted_server(echo_key, false).await;
        let client = Client::with_config(&url, ClientConfig::default().resume(false)).unwrap();
        let inputs = Inputs::new().values("stream", stream::iter([1i64, 2, 3]));
        let echoed: Vec<i64> = client
            .stream::<i64>(ENDPOINT, "intEchoStream", NoArgs {}, inputs)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(echoed, vec![10, 20, 30], "echo_key {echo_key}");
        let mut sent = Vec::new();
        while let Ok(frame) = frames.try_recv() {
            sent.push(frame);
        }
        let open = sent.iter().find_map(|m| match m {
            Message::OpenCall(open) => Some(open.key),
            _ => None,
        });
        assert_eq!(open, Some(Some(1)), "the open asks for key 1");
        let keyed = sent
            .iter()
            .filter(|m| matches!(m, Message::KeyedValue { .. }))
            .count();
        let full = sent
            .iter()
            .filter(|m| matches!(m, Message::Value { .. }))
            .count();
        // Keyed only once the server took the key; `msm` otherwise.
        assert_eq!((keyed, full), if echo_key { (3, 0) } else { (0, 3) });
    }
}

#[tokio::test]
async fn a_keyed_frame_for_a_key_the_client_never_asked_for_fails_its_connection() {
    let (url, _frames) = scripted_server(true, true).await;
    let client = Client::with_config(&url, ClientConfig::default().resume(false)).unwrap();
    let inputs = Inputs::new().values("stream", stream::pending::<i64>());
    let call = client
        .stream::<i64>(ENDPOINT, "intEchoStream", NoArgs {}, inputs)
        .collect::<Vec<_>>();
    // The input never ends: only the failure ends the call.
    let result = tokio::time::timeout(PATIENCE, call)
        .await
        .expect("the call failed at once");
    assert!(
        matches!(
            result.as_slice(),
            [Err(streampod::client::Error::Protocol { .. })]
        ),
        "{result:?}"
    );
}
