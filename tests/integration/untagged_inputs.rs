//! A plain object where a method declares a model, and why a call the client broke failed:
//! what a TypeScript page without class names sends, on both wires.

use crate::support::either_wire::EitherWire;
use crate::support::{cid, TestServer};
use serde_json::{json, Value as Json};
use streampod::Encoding;

const M: &str = "methodStreaming";

fn msm(m: &str, cid: &str, p: &str, o: Json) -> Json {
    json!({"en": M, "m": m, "cid": cid, "p": p, "o": o})
}

#[tokio::test]
async fn an_untagged_object_on_a_model_input_is_read_as_that_model() {
    for wire in [Encoding::MessagePack, Encoding::Json] {
        let server = TestServer::start();
        let mut raw = EitherWire::connect(&server, wire).await;
        let m = "simpleInOutDataStream";
        raw.open(M, m, &cid(1), &["stream"], None).await;
        let opened = raw.recv().await;
        assert_eq!(opened.1["res"], "success", "{wire:?} {opened:?}");
        // A dynamic Map of wrapped fields, as a client that knows no class names sends it.
        let untagged =
            json!({"className": "Map", "data": {"num": {"className": "int", "data": 42}}});
        raw.send("msm", msm(m, &cid(1), "stream", untagged)).await;
        let (kind, data) = raw.recv().await;
        assert_eq!(kind, "msm", "{wire:?}");
        assert_eq!(data["o"]["className"], "SimpleData", "{wire:?}");
        assert_eq!(data["o"]["data"]["num"], 42, "{wire:?}");
    }
}

#[tokio::test]
async fn a_value_the_input_cannot_hold_fails_the_call_saying_why_on_the_msgpack_wire() {
    for wire in [Encoding::MessagePack, Encoding::Json] {
        let server = TestServer::start();
        let mut raw = EitherWire::connect(&server, wire).await;
        let m = "simpleInOutDataStream";
        raw.open(M, m, &cid(1), &["stream"], None).await;
        raw.recv().await;
        // An object without the model's field.
        let wrong =
            json!({"className": "Map", "data": {"number": {"className": "int", "data": 1}}});
        raw.send("msm", msm(m, &cid(1), "stream", wrong)).await;
        let (kind, input) = raw.recv().await;
        assert_eq!(
            (kind.as_str(), input["p"].as_str()),
            ("cmsc", Some("stream"))
        );
        let (kind, call) = raw.recv().await;
        assert_eq!(
            (kind.as_str(), &call["p"]),
            ("cmsc", &Json::Null),
            "{wire:?}"
        );
        assert_eq!(call["cr"], "error");
        match wire {
            Encoding::Json => {
                // Serverpod's frame, byte for byte: no `why`.
                assert_eq!(input.get("why"), None);
                assert_eq!(call.get("why"), None);
            }
            _ => {
                let why = input["why"].as_str().expect("the input's why");
                assert!(why.starts_with("input `stream`: "), "{why}");
                assert!(why.contains("SimpleData") && why.contains("num"), "{why}");
                assert_eq!(call["why"], input["why"], "the call's end says the same");
            }
        }
    }
}

#[tokio::test]
async fn the_rust_client_reports_a_rejected_value_with_the_servers_reason() {
    use streampod::client::{Client, Error, Inputs};
    use streampod::NoArgs;
    let server = TestServer::start();
    let client = Client::new(&server.url()).unwrap();
    // A String on an input of ints.
    let inputs = Inputs::new().values("stream", futures::stream::iter(["x".to_string()]));
    let result = client
        .call::<i64>(M, "intReturnFromStream", NoArgs {}, inputs)
        .await;
    match result {
        Err(Error::Rejected { reason }) => {
            assert!(
                reason.starts_with("input `stream`: expected a value of class `int`"),
                "{reason}"
            )
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}
