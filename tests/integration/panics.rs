//! A panic in user code fails only what it belongs to: a method its call, a legacy handler
//! its message, an authentication handler its open, a bus listener nothing else.

use crate::support::conformance::server_builder;
use crate::support::*;
use futures::StreamExt;
use streampod::bus::Scope;
use streampod::client::{Client, Error, Inputs, LegacyClient, StaticAuthKey};
use streampod::legacy::{Legacy, LegacyContext, LegacyEndpoint, LegacySession};
use streampod::{Dynamic, Endpoint, NoArgs, StreamError};

struct Panicky;

impl LegacyEndpoint for Panicky {
    type UserObject = ();
    fn handle_stream_message(
        &mut self,
        ctx: &mut LegacyContext<'_, Self>,
        session: &LegacySession,
        message: Dynamic,
    ) -> Result<(), StreamError> {
        if message.decode::<i64>() == Ok(0) {
            panic!("zero");
        }
        ctx.send_stream_message(session, &message)
            .map_err(StreamError::failed)
    }
}

fn server() -> TestServer {
    let mid_stream = Endpoint::new("panicky").stream("midStream", [], |_, _: NoArgs, ()| {
        futures::stream::iter(0i64..3).map(|v| if v == 2 { panic!("two") } else { Ok(v) })
    });
    TestServer::from_builder(
        server_builder()
            .endpoint(mid_stream)
            .legacy_endpoint(Legacy::new("panicky", Panicky)),
    )
}

#[tokio::test]
async fn a_method_panicking_mid_stream_fails_its_call_after_its_values() {
    let server = server();
    let c = Client::new(&server.http_url()).unwrap();
    let got: Vec<_> = c
        .stream::<i64>("panicky", "midStream", NoArgs {}, Inputs::new())
        .collect()
        .await;
    assert_eq!(got, vec![Ok(0), Ok(1), Err(Error::ClosedWithError)]);
    let again: i64 = c
        .call(ENDPOINT, "openCalls", NoArgs {}, Inputs::new())
        .await
        .unwrap();
    assert_eq!(again, 0);
}

#[tokio::test]
async fn a_legacy_handler_panicking_leaves_the_connection_working() {
    let server = server();
    let legacy = LegacyClient::new(&server.http_url(), None).unwrap();
    legacy.open_streaming_connection().await.unwrap();
    let endpoint = legacy.endpoint("panicky");
    let mut echoes = endpoint.stream();
    endpoint.send(&0i64).unwrap();
    endpoint.send(&5i64).unwrap();
    let echoed = tokio::time::timeout(PATIENCE, echoes.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echoed.decode::<i64>(), Ok(5));
}

#[tokio::test]
async fn an_authentication_handler_panicking_refuses_the_open_only() {
    let server = TestServer::from_builder(server_builder().authentication_handler(
        |key: String| async move {
            if key == "boom" {
                panic!("boom");
            }
            crate::support::conformance::fixture_authentication(key).await
        },
    ));
    let boom = Client::builder(&server.http_url())
        .auth_key(StaticAuthKey("Bearer boom".into()))
        .build()
        .unwrap();
    let err = boom
        .call::<i64>(
            "signedInMethodStreaming",
            "whoAmI",
            NoArgs {},
            Inputs::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), Some(401), "{err:?}");
    let good = Client::builder(&server.http_url())
        .auth_key(StaticAuthKey(crate::support::conformance::bearer(
            "7",
            "t",
            &[],
        )))
        .build()
        .unwrap();
    let me: String = good
        .call(
            "signedInMethodStreaming",
            "whoAmI",
            NoArgs {},
            Inputs::new(),
        )
        .await
        .unwrap();
    assert_eq!(me, "7");
}

#[tokio::test]
async fn a_bus_listener_panicking_does_not_stop_delivery() {
    let server = TestServer::start();
    let bus = server.server.messages();
    let _bad = bus.add_listener("c", |_| panic!("listener"));
    let mut stream = bus.create_stream::<i64>("c");
    assert_eq!(bus.post_message("c", &1i64, Scope::Local).await, Ok(()));
    assert_eq!(stream.next().await, Some(Ok(1)));
}
