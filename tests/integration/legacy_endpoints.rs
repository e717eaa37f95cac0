//! Legacy streaming endpoints (docs/PROTOCOL.md §7): lifecycle, order, access, user objects,
//! and no leaks.

use crate::support::conformance::bearer;
use crate::support::method_streaming::SimpleData;
use crate::support::*;
use futures::{FutureExt, SinkExt, StreamExt};
use std::sync::Arc;
use streampod::client::{Inputs, LegacyClient, StaticAuthKey};
use streampod::legacy::LegacyStats;
use streampod::NoArgs;
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn legacy(server: &TestServer, auth: Option<String>) -> LegacyClient {
    legacy_on(server, streampod::Encoding::MessagePack, auth)
}

fn legacy_on(server: &TestServer, wire: streampod::Encoding, auth: Option<String>) -> LegacyClient {
    let auth =
        auth.map(|a| Arc::new(StaticAuthKey(a)) as Arc<dyn streampod::client::AuthKeyProvider>);
    let config = streampod::client::ClientConfig::default().encoding(wire);
    LegacyClient::with_config(&server.http_url(), auth, config).unwrap()
}

async fn next_data(stream: &mut streampod::client::LegacyMessages) -> SimpleData {
    let d = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("a message")
        .expect("open")
        .expect("connected");
    d.decode::<SimpleData>().unwrap()
}

fn legacy_stats(server: &TestServer) -> LegacyStats {
    server.server.legacy_stats("streaming").unwrap()
}

wire_test!(async fn messages_are_echoed_in_order(wire) {
    let server = TestServer::start();
    let c = legacy_on(&server, wire, None);
    c.open_streaming_connection().await.unwrap();
    let streaming = c.endpoint("streaming");
    let mut echoes = streaming.stream();
    for num in [42, 1337, 69] {
        streaming.send(&SimpleData { num }).unwrap();
    }
    for num in [42, 1337, 69] {
        assert_eq!(next_data(&mut echoes).await, SimpleData { num });
    }
});

wire_test!(async fn a_message_to_an_endpoint_without_access_is_dropped(wire) {
    let server = TestServer::start();
    let c = legacy_on(&server, wire, None);
    c.open_streaming_connection().await.unwrap();
    let mut signed_in = c.endpoint("signInRequired").stream();
    c.endpoint("signInRequired")
        .send(&SimpleData { num: 1 })
        .unwrap();
    // A later message on the same connection is answered; the dropped one never will be.
    let mut streaming = c.endpoint("streaming").stream();
    c.endpoint("streaming")
        .send(&SimpleData { num: 2 })
        .unwrap();
    assert_eq!(next_data(&mut streaming).await, SimpleData { num: 2 });
    assert!(signed_in.next().now_or_never().is_none());
    assert_eq!(
        server.server.legacy_stats("signInRequired").unwrap().opened,
        0
    );
});

wire_test!(async fn a_signed_in_connection_reaches_login_endpoints(wire) {
    let server = TestServer::start();
    let c = legacy_on(&server, wire, Some(bearer("1", "t", &[])));
    c.open_streaming_connection().await.unwrap();
    let endpoint = c.endpoint("signInRequired");
    let mut echoes = endpoint.stream();
    for num in [11, 22, 33] {
        endpoint.send(&SimpleData { num }).unwrap();
    }
    for num in [11, 22, 33] {
        assert_eq!(next_data(&mut echoes).await, SimpleData { num });
    }
});

wire_test!(async fn an_auth_command_upgrades_the_connection(wire) {
    let server = TestServer::start();
    let key = Arc::new(std::sync::Mutex::new(None::<String>));
    let provider = {
        let key = key.clone();
        streampod::client::RefreshingAuthKey::new(
            move || {
                let k = key.lock().unwrap().clone();
                async move { k }
            },
            || async { false },
        )
    };
    let config = streampod::client::ClientConfig::default().encoding(wire);
    let c = LegacyClient::with_config(&server.http_url(), Some(Arc::new(provider)), config)
        .unwrap();
    c.open_streaming_connection().await.unwrap();
    *key.lock().unwrap() = Some(bearer("1", "t", &[]));
    c.update_streaming_connection_authentication_key()
        .await
        .unwrap();
    let endpoint = c.endpoint("signInRequired");
    let mut echoes = endpoint.stream();
    endpoint.send(&SimpleData { num: 5 }).unwrap();
    assert_eq!(next_data(&mut echoes).await, SimpleData { num: 5 });
    assert_eq!(
        server.server.legacy_stats("signInRequired").unwrap().opened,
        1
    );
});

wire_test!(async fn scopes_decide_access(wire) {
    let server = TestServer::start();
    let user = legacy_on(&server, wire, Some(bearer("1", "t", &[])));
    user.open_streaming_connection().await.unwrap();
    let mut user_admin = user.endpoint("adminScopeRequired").stream();
    user.endpoint("adminScopeRequired")
        .send(&SimpleData { num: 1 })
        .unwrap();
    let mut user_streaming = user.endpoint("streaming").stream();
    user.endpoint("streaming")
        .send(&SimpleData { num: 2 })
        .unwrap();
    assert_eq!(next_data(&mut user_streaming).await, SimpleData { num: 2 });
    assert!(user_admin.next().now_or_never().is_none());

    let admin = legacy_on(&server, wire, Some(bearer("2", "t", &["admin"])));
    admin.open_streaming_connection().await.unwrap();
    let mut echoes = admin.endpoint("adminScopeRequired").stream();
    admin
        .endpoint("adminScopeRequired")
        .send(&SimpleData { num: 3 })
        .unwrap();
    assert_eq!(next_data(&mut echoes).await, SimpleData { num: 3 });
});

wire_test!(async fn two_connections_keep_independent_user_objects(wire) {
    let server = TestServer::start();
    let (a, b) = (legacy_on(&server, wire, None), legacy_on(&server, wire, None));
    a.open_streaming_connection().await.unwrap();
    b.open_streaming_connection().await.unwrap();
    let (ea, eb) = (a.endpoint("streaming"), b.endpoint("streaming"));
    let (mut ra, mut rb) = (ea.stream(), eb.stream());
    for num in 0..3 {
        ea.send(&SimpleData { num }).unwrap();
        next_data(&mut ra).await;
    }
    eb.send(&SimpleData { num: 9 }).unwrap();
    next_data(&mut rb).await;
    ea.send(&"count".to_string()).unwrap();
    eb.send(&"count".to_string()).unwrap();
    assert_eq!(next_data(&mut ra).await, SimpleData { num: 3 });
    assert_eq!(next_data(&mut rb).await, SimpleData { num: 1 });
    assert_eq!(legacy_stats(&server).user_objects, 2);
    // A method stream sees the same count through its probe.
    let client = streampod::client::Client::new(&server.http_url()).unwrap();
    let held: i64 = client
        .call(ENDPOINT, "legacyUserObjects", NoArgs {}, Inputs::new())
        .await
        .unwrap();
    assert_eq!(held, 2);
    a.close_streaming_connection().await;
    server
        .wait_for_stats("a's user object dropped", |_| {
            legacy_stats(&server).user_objects == 1
        })
        .await;
});

#[tokio::test]
async fn a_failing_handler_does_not_end_the_connection() {
    let server = TestServer::start();
    let c = legacy(&server, None);
    c.open_streaming_connection().await.unwrap();
    let streaming = c.endpoint("streaming");
    let mut echoes = streaming.stream();
    // Neither SimpleData nor "count": the handler returns an error, which is logged.
    streaming.send(&123i64).unwrap();
    streaming.send(&SimpleData { num: 7 }).unwrap();
    assert_eq!(next_data(&mut echoes).await, SimpleData { num: 7 });
}

/// A raw legacy socket, to send what the client never would.
async fn raw(
    server: &TestServer,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("ws://{}/websocket", server.running.addr());
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn close_code(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<u16> {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(WsMessage::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}

#[tokio::test]
async fn a_message_to_an_unknown_endpoint_closes_the_connection() {
    let server = TestServer::start();
    let mut ws = raw(&server).await;
    let frame = streampod::protocol::LegacyMessage::Endpoint {
        endpoint: "nope".into(),
        object: streampod::Dynamic::new(&1i64).unwrap(),
    };
    ws.send(WsMessage::Binary(frame.encode())).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1008));
}

#[tokio::test]
async fn a_malformed_frame_closes_the_connection() {
    let server = TestServer::start();
    let mut ws = raw(&server).await;
    ws.send(WsMessage::Binary(encode(&map(vec![(
        "endpoint",
        5.into(),
    )]))))
    .await
    .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1002));
}

#[tokio::test]
async fn the_ping_command_gets_pong() {
    let server = TestServer::start();
    let mut ws = raw(&server).await;
    let ping = encode(&map(vec![("command", "ping".into()), ("args", no_args())]));
    ws.send(WsMessage::Binary(ping)).await.unwrap();
    let Some(Ok(WsMessage::Binary(bytes))) = ws.next().await else {
        panic!("no answer")
    };
    assert_eq!(
        rmpv::decode::read_value(&mut bytes.as_slice()).unwrap(),
        map(vec![("command", "pong".into())])
    );
}

#[tokio::test]
async fn a_thousand_connections_leave_nothing_behind() {
    let server = TestServer::start();
    let url = format!("ws://{}/websocket", server.running.addr());
    let message = streampod::protocol::LegacyMessage::Endpoint {
        endpoint: "streaming".into(),
        object: streampod::Dynamic::new(&SimpleData { num: 1 }).unwrap(),
    }
    .encode();
    for batch in 0..20 {
        let connections = (0..50).map(|i| {
            let (url, message) = (url.clone(), message.clone());
            async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
                ws.send(WsMessage::Binary(message)).await.unwrap();
                // The echo proves the session opened and holds a user object.
                loop {
                    if let Some(Ok(WsMessage::Binary(_))) = ws.next().await {
                        break;
                    }
                }
                if (batch + i) % 2 == 0 {
                    let _ = ws.close(None).await;
                } else {
                    drop(ws); // TCP drop, no close handshake
                }
            }
        });
        futures::future::join_all(connections).await;
    }
    server
        .wait_for_stats("every session closed", |s| {
            let l = legacy_stats(&server);
            s.open_connections == 0 && l.sessions == 0 && l.user_objects == 0 && l.closed == 1000
        })
        .await;
    let l = legacy_stats(&server);
    assert_eq!(
        (l.opened, l.closed),
        (1000, 1000),
        "stream_closed ran once per stream_opened"
    );
    // Endpoints the sessions could not access were neither opened nor closed.
    assert_eq!(
        server.server.legacy_stats("signInRequired").unwrap().opened,
        0
    );
}

wire_test!(async fn server_shutdown_closes_legacy_and_method_sockets(wire) {
    let server = TestServer::start();
    let c = legacy_on(&server, wire, None);
    c.open_streaming_connection().await.unwrap();
    let mut changes = c.status_changes();
    // Without resume: a dropped server ends its calls at once.
    let config = streampod::client::ClientConfig::default().resume(false);
    let method_client = streampod::client::Client::with_config(&server.http_url(), config).unwrap();
    let (_tx, rx) = futures::channel::mpsc::unbounded::<i64>();
    let mut call = method_client.stream::<i64>(
        ENDPOINT,
        "intEchoStream",
        NoArgs {},
        Inputs::new().values("stream", rx),
    );
    let waiting = tokio::spawn(async move { call.next().await });
    server
        .wait_for_stats("both connected", |s| {
            s.open_connections == 2 && s.open_calls == 1
        })
        .await;
    drop(server);
    tokio::time::timeout(
        PATIENCE,
        changes.wait_for(|s| *s == streampod::client::ConnectionStatus::Disconnected),
    )
    .await
    .expect("legacy socket closed")
    .unwrap();
    let ended = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("call ended")
        .unwrap();
    assert_eq!(ended, Some(Err(streampod::client::Error::ConnectionClosed)));
});
