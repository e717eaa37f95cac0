//! The legacy client's connection status, listeners and reconnect handler (reference
//! §9.4).

use crate::support::method_streaming::SimpleData;
use crate::support::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streampod::client::{
    ClientConfig, ConnectionStatus, LegacyClient, ReconnectHandler, ReconnectPolicy,
};

#[tokio::test]
async fn status_goes_connecting_connected_disconnected_and_listeners_hear_it() {
    let server = TestServer::start();
    let c = LegacyClient::new(&server.http_url(), None).unwrap();
    assert_eq!(c.status(), ConnectionStatus::Disconnected);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let id = c.add_status_listener(move |s| record.lock().unwrap().push(s));
    c.open_streaming_connection().await.unwrap();
    assert_eq!(c.status(), ConnectionStatus::Connected);
    c.close_streaming_connection().await;
    assert_eq!(c.status(), ConnectionStatus::Disconnected);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            ConnectionStatus::Connecting,
            ConnectionStatus::Connected,
            ConnectionStatus::Disconnected
        ]
    );
    c.remove_status_listener(id);
    c.open_streaming_connection().await.unwrap();
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "a removed listener hears nothing"
    );
    server
        .wait_for_stats("the first socket closed", |s| s.open_connections == 1)
        .await;
}

#[tokio::test]
async fn a_failed_open_leaves_the_client_disconnected() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = LegacyClient::new(&format!("http://127.0.0.1:{port}"), None).unwrap();
    assert!(c.open_streaming_connection().await.is_err());
    assert_eq!(c.status(), ConnectionStatus::Disconnected);
    assert!(c.endpoint("streaming").send(&1i64).is_err());
}

#[tokio::test]
async fn the_reconnect_handler_waits_counts_down_and_reconnects() {
    let server = TestServer::start();
    let addr = server.running.addr();
    let config = ClientConfig::default().connect_timeout(Duration::from_millis(500));
    let c = LegacyClient::with_config(&server.http_url(), None, config).unwrap();
    c.open_streaming_connection().await.unwrap();
    let countdown = Arc::new(Mutex::new(Vec::new()));
    let record = countdown.clone();
    let policy = ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(1500))
        .max_delay(Duration::from_secs(3))
        .jitter(0.0);
    let _handler = ReconnectHandler::start(c.clone(), policy, move |secs| {
        record.lock().unwrap().push(secs)
    });
    let mut changes = c.status_changes();

    // Stopped and waited for, so that its port is free again.
    server.running.stop().await;
    tokio::time::timeout(
        PATIENCE,
        changes.wait_for(|s| *s == ConnectionStatus::WaitingToRetry),
    )
    .await
    .expect("waiting to retry")
    .unwrap();
    // A server comes back on the same port; the handler finds it.
    let restarted = crate::support::conformance::server_builder()
        .build()
        .unwrap();
    let _running = restarted
        .spawn(std::net::TcpListener::bind(addr).unwrap())
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(15),
        changes.wait_for(|s| *s == ConnectionStatus::Connected),
    )
    .await
    .expect("reconnected")
    .unwrap();
    let seconds = countdown.lock().unwrap().clone();
    // 1.5 s left is reported as 2 whole seconds, then 1.
    assert_eq!(seconds.get(..2), Some(&[2, 1][..]), "{seconds:?}");
}

/// A legacy server that answers the greeting `ping` once, then counts the client's pings and
/// says nothing more.
async fn silent_legacy_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use futures::{SinkExt, StreamExt};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use streampod::protocol::LegacyMessage;
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let pings = Arc::new(AtomicUsize::new(0));
    let counter = pings.clone();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        while let Some(Ok(WsMessage::Binary(bytes))) = ws.next().await {
            if let Ok(LegacyMessage::Ping) = LegacyMessage::decode(&bytes) {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    let pong = WsMessage::Binary(LegacyMessage::Pong.encode());
                    ws.send(pong).await.unwrap();
                }
            }
        }
    });
    (url, pings)
}

#[tokio::test]
async fn the_legacy_client_pings_and_gives_up_a_silent_server_as_its_config_says() {
    let (url, pings) = silent_legacy_server().await;
    let config = ClientConfig::default()
        .ping_interval(Duration::from_millis(20))
        .idle_timeout(Duration::from_millis(200));
    let c = LegacyClient::with_config(&url, None, config).unwrap();
    c.open_streaming_connection().await.unwrap();
    let mut changes = c.status_changes();
    tokio::time::timeout(
        PATIENCE,
        changes.wait_for(|s| *s == ConnectionStatus::Disconnected),
    )
    .await
    .expect("the idle timeout ended the connection")
    .unwrap();
    // The greeting, then the keepalive's pings while it waited.
    assert!(pings.load(std::sync::atomic::Ordering::SeqCst) >= 3);
}

/// A taken endpoint stream ends when the connection is gone, with `ConnectionClosed` after
/// the messages it had (it used to wait for ever); taken again after a reconnect, it gets
/// the new connection's messages.
#[tokio::test]
async fn an_endpoint_stream_ends_with_an_error_when_the_connection_is_gone() {
    use futures::StreamExt;
    use streampod::client::Error;
    let server = TestServer::start();
    let c = LegacyClient::new(&server.http_url(), None).unwrap();
    c.open_streaming_connection().await.unwrap();
    let endpoint = c.endpoint("streaming");
    let mut messages = endpoint.stream();
    endpoint.send(&SimpleData { num: 1 }).unwrap();
    let first = tokio::time::timeout(PATIENCE, messages.next())
        .await
        .unwrap();
    assert_eq!(
        first.unwrap().unwrap().decode::<SimpleData>().unwrap().num,
        1
    );
    // The server goes away (every connection closed, as at shutdown).
    server.server.close_all_connections();
    let end: Vec<_> = tokio::time::timeout(PATIENCE, messages.collect())
        .await
        .expect("the stream ends");
    assert_eq!(end, vec![Err(Error::ConnectionClosed)]);
    // The client closing its connection ends the stream the same way.
    c.open_streaming_connection().await.unwrap();
    let mut again = endpoint.stream();
    endpoint.send(&SimpleData { num: 2 }).unwrap();
    let second = tokio::time::timeout(PATIENCE, again.next()).await.unwrap();
    assert_eq!(
        second.unwrap().unwrap().decode::<SimpleData>().unwrap().num,
        2
    );
    c.close_streaming_connection().await;
    let end: Vec<_> = tokio::time::timeout(PATIENCE, again.collect())
        .await
        .expect("the stream ends");
    assert_eq!(end, vec![Err(Error::ConnectionClosed)]);
}
