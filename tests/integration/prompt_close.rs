//! The server closes TCP as soon as the close frames are exchanged (RFC 6455 §7.1.1), on
//! both paths, whoever starts the close: the peer here never closes its side first.

use crate::support::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Far below the second that actix-web's HTTP/1 dispatcher lingered before (0.9–1.0 s
/// measured), far above a loaded machine's scheduling delay.
const AT_ONCE: Duration = Duration::from_millis(400);

/// Sends `frame` on a fresh connection at `path`, then reads without ever closing until the
/// server's EOF; returns what arrived and how long the EOF took.
async fn send_and_read_to_eof(
    server: &TestServer,
    path: &str,
    frame: &[u8],
) -> (Vec<u8>, Duration) {
    let mut tcp = raw_upgrade_at(server, path).await;
    let started = Instant::now();
    tcp.write_all(frame).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut received))
        .await
        .expect("the server never closed TCP")
        .expect("the server closed TCP cleanly");
    (received, started.elapsed())
}

/// The close frame that ends `bytes`, as (code, reason).
fn last_close_frame(bytes: &[u8]) -> (u16, Vec<u8>) {
    let mut at = 0;
    let mut last = None;
    while at + 2 <= bytes.len() {
        let (opcode, len) = (bytes[at] & 0x0f, (bytes[at + 1] & 0x7f) as usize);
        assert!(len < 126, "only short server frames expected here");
        let payload = &bytes[at + 2..at + 2 + len];
        if opcode == 8 {
            last = Some((
                u16::from_be_bytes([payload[0], payload[1]]),
                payload[2..].to_vec(),
            ));
        }
        at += 2 + len;
    }
    last.expect("no close frame from the server")
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
