//! The Rust client against the real server: typed values, errors, inputs and outputs
//! (docs/PROTOCOL.md §5; Serverpod's out_stream, out_future, input_parameter and
//! open_stream tests).

use crate::support::method_streaming::{ExceptionWithData, SimpleData};
use crate::support::*;
use futures::{stream, StreamExt};
use streampod::client::{Client, ClientConfig, Error, Inputs};
use streampod::{Dynamic, NoArgs, StreamError};

#[derive(serde::Serialize)]
struct Value {
    value: i64,
}

fn client(server: &TestServer, wire: streampod::Encoding) -> Client {
    client_on(server, wire)
}

async fn collect<T>(s: streampod::client::CallStream<T>) -> Vec<Result<T, Error>>
where
    T: streampod::Wire,
{
    tokio::time::timeout(PATIENCE, s.collect())
        .await
        .expect("call did not end")
}

wire_test!(async fn a_stream_method_returns_its_values_in_order(wire) {
    let server = TestServer::start();
    let c = client(&server, wire);
    let got = collect(c.stream::<i64>(ENDPOINT, "simpleStream", NoArgs {}, Inputs::new())).await;
    assert_eq!(got, (0..10).map(Ok).collect::<Vec<_>>());
    let got = collect(c.stream::<i64>(
        ENDPOINT,
        "intStreamFromValue",
        Value { value: 5 },
        Inputs::new(),
    ))
    .await;
    assert_eq!(got, (0..5).map(Ok).collect::<Vec<_>>());
});

wire_test!(async fn models_arrive_typed(wire) {
    let server = TestServer::start();
    let got = collect(client(&server, wire).stream::<SimpleData>(
        ENDPOINT,
        "simpleDataStream",
        Value { value: 3 },
        Inputs::new(),
    ))
    .await;
    assert_eq!(
        got,
        (0..3).map(|num| Ok(SimpleData { num })).collect::<Vec<_>>()
    );
});

wire_test!(async fn errors_of_stream_methods_reach_the_client(wire) {
    let server = TestServer::start();
    let c = client(&server, wire);
    for method in [
        "outStreamThrowsException",
        "exceptionThrownBeforeStreamReturn",
        "exceptionThrownInStreamReturn",
    ] {
        let got = collect(c.stream::<i64>(ENDPOINT, method, NoArgs {}, Inputs::new())).await;
        assert_eq!(got, vec![Err(Error::ClosedWithError)], "{method}");
    }
    let got = collect(c.stream::<i64>(
        ENDPOINT,
        "outStreamThrowsSerializableException",
        NoArgs {},
        Inputs::new(),
    ))
    .await;
    assert_eq!(got.len(), 1);
    let ex: ExceptionWithData = got[0]
        .as_ref()
        .unwrap_err()
        .exception()
        .expect("typed exception");
    assert_eq!(ex.message, "Throwing an exception");
    assert_eq!(
        ex.error_fields,
        vec!["first line error", "second line error"]
    );
});

wire_test!(async fn future_methods_return_one_value_or_an_error(wire) {
    let server = TestServer::start();
    let c = client(&server, wire);
    let first: i64 = c
        .call(
            ENDPOINT,
            "intReturnFromStream",
            NoArgs {},
            Inputs::new().values("stream", stream::iter(vec![1i64, 2, 3])),
        )
        .await
        .unwrap();
    assert_eq!(first, 1);
    let unit: () = c
        .call(
            ENDPOINT,
            "voidReturnAfterStream",
            NoArgs {},
            Inputs::new().values("stream", stream::iter(vec![1i64, 2, 3])),
        )
        .await
        .unwrap();
    assert_eq!(unit, ());
    let err = c
        .call::<i64>(ENDPOINT, "throwsException", NoArgs {}, Inputs::new())
        .await
        .unwrap_err();
    assert_eq!(err, Error::ClosedWithError);
    let err = c
        .call::<i64>(
            ENDPOINT,
            "throwsSerializableException",
            NoArgs {},
            Inputs::new(),
        )
        .await
        .unwrap_err();
    assert!(err.exception::<ExceptionWithData>().is_some(), "{err:?}");
});

wire_test!(async fn an_input_stream_is_echoed_then_the_call_ends(wire) {
    let server = TestServer::start();
    let inputs = Inputs::new().values("stream", stream::iter(0..10i64));
    let got =
        collect(client(&server, wire).stream::<i64>(ENDPOINT, "intEchoStream", NoArgs {}, inputs)).await;
    assert_eq!(got, (0..10).map(Ok).collect::<Vec<_>>());
});

wire_test!(async fn a_dynamic_stream_keeps_each_values_type(wire) {
    let server = TestServer::start();
    let values = vec![
        Dynamic::new(&1i64).unwrap(),
        Dynamic::new(&"two".to_string()).unwrap(),
        Dynamic::new(&SimpleData { num: 42 }).unwrap(),
    ];
    let inputs = Inputs::new().values("stream", stream::iter(values.clone()));
    let client = Client::builder(&server.http_url())
        .config(streampod::client::ClientConfig::default().encoding(wire))
        .model::<SimpleData>()
        .build()
        .unwrap();
    let got: Vec<Dynamic> =
        collect(client.stream::<Dynamic>(ENDPOINT, "dynamicEchoStream", NoArgs {}, inputs))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    assert_eq!(got, values);
    assert_eq!(got[0].decode::<i64>().unwrap(), 1);
    assert_eq!(got[1].decode::<String>().unwrap(), "two");
    assert_eq!(
        got[2].decode::<SimpleData>().unwrap(),
        SimpleData { num: 42 }
    );
});

wire_test!(async fn nulls_survive_a_nullable_stream(wire) {
    let server = TestServer::start();
    let values = vec![Some(0i64), None, Some(2), None, Some(4)];
    let inputs = Inputs::new().values("stream", stream::iter(values.clone()));
    let got = collect(client(&server, wire).stream::<Option<i64>>(
        ENDPOINT,
        "nullableIntEchoStream",
        NoArgs {},
        inputs,
    ))
    .await;
    assert_eq!(got, values.into_iter().map(Ok).collect::<Vec<_>>());
});

wire_test!(async fn closing_one_of_two_inputs_leaves_the_other_working(wire) {
    let server = TestServer::start();
    let (tx2, rx2) = futures::channel::mpsc::unbounded::<i64>();
    let inputs = Inputs::new()
        .values("stream1", stream::empty::<i64>())
        .values("stream2", rx2);
    let mut call =
        client(&server, wire).stream::<i64>(ENDPOINT, "multipleIntEchoStreams", NoArgs {}, inputs);
    for v in 0..4 {
        tx2.unbounded_send(v).unwrap();
        assert_eq!(call.next().await, Some(Ok(v)));
    }
    drop(tx2);
    assert_eq!(call.next().await, None);
});

wire_test!(async fn input_errors_reach_the_method(wire) {
    let server = TestServer::start();
    let c = client(&server, wire);
    let failing = stream::iter(vec![Ok(1i64), Err(StreamError::failed("local failure"))]);
    let had_error: bool = c
        .call(
            ENDPOINT,
            "didInputStreamHaveError",
            NoArgs {},
            Inputs::new().stream("stream", failing),
        )
        .await
        .unwrap();
    assert!(had_error);
    let throwing = stream::iter(vec![Err::<i64, _>(StreamError::exception(
        ExceptionWithData::thrown(),
    ))]);
    let serializable: bool = c
        .call(
            ENDPOINT,
            "didInputStreamHaveSerializableExceptionError",
            NoArgs {},
            Inputs::new().stream("stream", throwing),
        )
        .await
        .unwrap();
    assert!(serializable);
});

wire_test!(async fn rejected_opens_map_to_status_codes(wire) {
    let server = TestServer::start();
    let c = client(&server, wire);
    let err = c
        .call::<i64>("nope", "simpleStream", NoArgs {}, Inputs::new())
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), Some(404));
    let err = c
        .call::<i64>(
            ENDPOINT,
            "simpleStreamWithParameter",
            NoArgs {},
            Inputs::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), Some(400));
});

wire_test!(async fn a_value_of_another_type_fails_the_call_not_the_socket(wire) {
    let server = TestServer::start();
    let c = client(&server, wire);
    let got = collect(c.stream::<String>(ENDPOINT, "simpleStream", NoArgs {}, Inputs::new())).await;
    assert!(
        matches!(got.as_slice(), [Err(Error::Decode { .. })]),
        "{got:?}"
    );
    let got = collect(c.stream::<i64>(ENDPOINT, "simpleStream", NoArgs {}, Inputs::new())).await;
    assert_eq!(got.len(), 10);
});

wire_test!(async fn ten_streams_of_a_thousand_values_share_one_socket_without_loss(wire) {
    let server = TestServer::start();
    let c = client(&server, wire);
    let calls = (0..10).map(|_| {
        collect(c.stream::<i64>(
            ENDPOINT,
            "intStreamFromValue",
            Value { value: 1000 },
            Inputs::new(),
        ))
    });
    let results = futures::future::join_all(calls).await;
    for got in results {
        assert_eq!(got, (0..1000).map(Ok).collect::<Vec<_>>());
    }
    assert_eq!(server.stats().calls_opened, 10);
});

wire_test!(async fn a_slow_reader_without_flow_control_loses_nothing(wire) {
    let server = TestServer::start();
    // Without flow control the server runs ahead of the reader, to the method's end.
    let c = Client::builder(&server.http_url())
        .config(ClientConfig::default().encoding(wire).window(None))
        .build()
        .unwrap();
    let mut s = c.stream::<i64>(
        ENDPOINT,
        "intStreamFromValue",
        Value { value: 1000 },
        Inputs::new(),
    );
    assert_eq!(s.next().await, Some(Ok(0)));
    // Let the rest pile up before reading on.
    server
        .wait_for_stats("call ended on the server", |st| st.open_calls == 0)
        .await;
    let rest: Vec<_> = s.collect().await;
    assert_eq!(rest, (1..1000).map(Ok).collect::<Vec<_>>());
});

/// A class only server `a` registered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct OnlyOnA {
    n: i64,
}
streampod::model!(OnlyOnA);

wire_test!(async fn each_server_and_client_knows_only_the_classes_registered_with_it(wire) {
    let a =
        TestServer::from_builder(crate::support::conformance::server_builder().model::<OnlyOnA>());
    let b = TestServer::start();
    let value = Dynamic::new(&OnlyOnA { n: 7 }).unwrap();
    let echo = |server: &TestServer, knows: bool| {
        let builder = Client::builder(&server.http_url())
            .config(streampod::client::ClientConfig::default().encoding(wire));
        let client = if knows {
            builder.model::<OnlyOnA>()
        } else {
            builder
        }
        .build()
        .unwrap();
        let inputs = Inputs::new().values("stream", stream::iter(vec![value.clone()]));
        collect(client.stream::<Dynamic>(ENDPOINT, "dynamicEchoStream", NoArgs {}, inputs))
    };
    // `a` knows the class and echoes it to a client that knows it too.
    assert_eq!(echo(&a, true).await, vec![Ok(value.clone())]);
    // A client that does not know it refuses the echoed value.
    let unknown = echo(&a, false).await;
    assert!(
        matches!(unknown.as_slice(), [Err(Error::Decode { .. })]),
        "{unknown:?}"
    );
    // `b`, in the same process, does not know it: the input stream fails, and with it the
    // echo, before any value.
    let refused = echo(&b, true).await;
    assert!(matches!(refused.as_slice(), [Err(_)]), "{refused:?}");
    assert_ne!(refused, vec![Ok(value)]);
});

#[tokio::test]
async fn an_input_stream_that_panics_fails_its_call_and_the_socket_goes_on() {
    let server = TestServer::start();
    let c = client(&server, streampod::Encoding::MessagePack);
    let panicking = stream::iter([1i64, 2]).map(|v| {
        assert!(v < 2, "the application's input stream panics");
        v
    });
    let got = collect(c.stream::<i64>(
        ENDPOINT,
        "intEchoStream",
        NoArgs {},
        Inputs::new().values("stream", panicking),
    ))
    .await;
    assert_eq!(got, vec![Ok(1), Err(Error::ClosedWithError)]);
    // The same client, the same socket, still works.
    let inputs = Inputs::new().values("stream", stream::iter([5i64]));
    let echoed = collect(c.stream::<i64>(ENDPOINT, "intEchoStream", NoArgs {}, inputs)).await;
    assert_eq!(echoed, vec![Ok(5)]);
}
