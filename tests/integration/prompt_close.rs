//! The server closes TCP as soon as the close frames are exchanged (RFC 6455 §7.1.1), on
//! both paths, whoever starts the close: the peer here never closes its side first.

use crate::support::*;
use std::time::Duration;

/// Far below the second that actix-web's HTTP/1 dispatcher lingered before (0.9–1.0 s
/// measured), far above a loaded machine's scheduling delay.
const AT_ONCE: Duration = Duration::from_millis(400);

/// The close frame that ends `bytes`, as (code, reason).
fn last_close_frame(bytes: &[u8]) -> (u16, Vec<u8>) {
    let frames = server_frames(bytes);
    let (first, payload) = frames.last().expect("no frame from the server");
    assert_eq!(first & 0x0f, 8, "the last frame is a close");
    (
        u16::from_be_bytes([payload[0], payload[1]]),
        payload[2..].to_vec(),
    )
}

#[tokio::test]
async fn a_close_the_client_starts_ends_tcp_at_once_on_both_paths() {
    let server = TestServer::start();
    for path in ["/v1/websocket", "/websocket"] {
        let (received, took) =
            send_and_read_to_eof(&server, path, &client_frame(8, &1000u16.to_be_bytes())).await;
        assert_eq!(last_close_frame(&received).0, 1000, "{path}");
        assert!(took < AT_ONCE, "{path}: EOF after {took:?}");
    }
    server
        .wait_for_stats("both connections gone", |s| s.open_connections == 0)
        .await;
}

#[tokio::test]
async fn a_close_the_server_starts_is_on_the_wire_and_ends_tcp_at_once_on_both_paths() {
    let server = TestServer::start();
    // Not MessagePack: the method path answers `brm`, then 1002; the legacy path 1002.
    let garbage = client_frame(2, b"\xc1\xc1not msgpack");
    for path in ["/v1/websocket", "/websocket"] {
        let (received, took) = send_and_read_to_eof(&server, path, &garbage).await;
        assert_eq!(last_close_frame(&received).0, 1002, "{path}");
        assert!(took < AT_ONCE, "{path}: EOF after {took:?}");
    }
}
