//! The origin allow-list on the handshake (docs/PROTOCOL.md §1).

use crate::support::conformance::server_builder;
use crate::support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;

async fn handshake(server: &TestServer, origin: Option<&str>) -> Result<(), (u16, String)> {
    let mut request = server.url().into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(()),
        Err(WsError::Http(response)) => {
            let body =
                String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).to_string();
            Err((response.status().as_u16(), body))
        }
        Err(e) => panic!("unexpected handshake error {e}"),
    }
}

#[tokio::test]
async fn listed_origins_are_allowed_after_normalizing() {
    let server =
        TestServer::from_builder(server_builder().allowed_origins(["https://App.example.com/"]));
    assert_eq!(
        handshake(&server, Some("https://app.example.com")).await,
        Ok(())
    );
    assert_eq!(
        handshake(&server, Some("HTTPS://APP.EXAMPLE.COM/")).await,
        Ok(())
    );
}

#[tokio::test]
async fn other_origins_get_403() {
    let server =
        TestServer::from_builder(server_builder().allowed_origins(["https://app.example.com"]));
    let (status, body) = handshake(&server, Some("https://evil.example.com"))
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    assert_eq!(body, "WebSocket origin not allowed.");
    assert_eq!(server.stats().open_connections, 0);
}

#[tokio::test]
async fn requests_without_origin_are_allowed() {
    let server =
        TestServer::from_builder(server_builder().allowed_origins(["https://app.example.com"]));
    assert_eq!(handshake(&server, None).await, Ok(()));
}

#[tokio::test]
async fn the_builders_list_is_the_configs() {
    let builder = server_builder()
        .config(streampod::Config::default().max_connections(10))
        .allowed_origins(["https://app.example.com"]);
    let server = TestServer::from_builder(builder);
    let config = server.server.config();
    assert_eq!(config.max_connections, 10);
    assert_eq!(
        config.allowed_origins.as_deref(),
        Some(&["https://app.example.com".to_string()][..])
    );
    assert!(handshake(&server, Some("https://evil.example.com"))
        .await
        .is_err());
}

#[tokio::test]
async fn without_a_list_every_origin_is_allowed() {
    let server = TestServer::start();
    assert_eq!(
        handshake(&server, Some("https://anywhere.example")).await,
        Ok(())
    );
}
