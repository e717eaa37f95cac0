//! The legacy client's connection status, listeners and reconnect handler (reference
//! §9.4).

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
    let config = ClientConfig {
        connect_timeout: Duration::from_millis(500),
        ..ClientConfig::default()
    };
    let c = LegacyClient::with_config(&server.http_url(), None, config).unwrap();
    c.open_streaming_connection().await.unwrap();
    let countdown = Arc::new(Mutex::new(Vec::new()));
    let record = countdown.clone();
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(1500),
        max_delay: Duration::from_secs(3),
        jitter: 0.0,
    };
    let _handler = ReconnectHandler::start(c.clone(), policy, move |secs| {
        record.lock().unwrap().push(secs)
    });
    let mut changes = c.status_changes();

    drop(server);
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
