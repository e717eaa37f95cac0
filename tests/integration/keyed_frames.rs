//! Keyed value frames (docs/PROTOCOL.md §12): an open that carries a key `k` above every
//! earlier one gets it back in its `omsr`, and from then on the call's values travel as
//! `[k, i, className, data]` both ways; everything else about the call is unchanged. A
//! keyed frame for no call closes the connection with `brm`; one for a call that has ended
//! is dropped; the JSON wire knows no keys. With raw frames, and with the Rust client on and
//! off.

use crate::support::*;
use futures::{stream, StreamExt};
use rmpv::Value;
use streampod::client::{Client, ClientConfig, Inputs};
use streampod::{Encoding, NoArgs};

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
    let cases: Vec<(Option<u64>, Vec<u8>)> = vec![
        // No open took key 9.
        (None, keyed(9, Some(0), "int", Value::from(1))),
        // The call has one input stream, at place 0.
        (Some(5), keyed(5, Some(1), "int", Value::from(1))),
        // Values on the return stream are the server's to send.
        (Some(5), keyed(5, None, "int", Value::from(1))),
        // Not a keyed frame: three items.
        (
            Some(5),
            encode(&Value::Array(vec![5.into(), 0.into(), "int".into()])),
        ),
    ];
    for (key, bad) in cases {
        let mut client = RawClient::connect(&server).await;
        if key.is_some() {
            assert_eq!(opened_with(&mut client, &cid(1), key).await, key);
        }
        client.send(bad).await;
        let answer = client.recv().await;
        assert_eq!(answer.kind, "brm", "{answer:?}");
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
