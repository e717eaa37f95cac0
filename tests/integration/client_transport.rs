//! The Rust clients' own WebSocket transport against a scripted server that writes raw
//! bytes: messages in fragments, with pings between them, and written a byte at a time
//! reach the client whole; pings are answered and the close echoed; every frame RFC 6455
//! forbids a server, and a message above the client's limit, fail the connection with a
//! protocol error at once; an upgrade the server refuses or does not prove fails the
//! connect with the reason. The server reads what the client sends through tungstenite,
//! which refuses unmasked or malformed client frames.

use crate::support::*;
use futures::StreamExt;
use std::sync::Arc;
use streampod::client::{Client, ClientConfig, Error, Inputs};
use streampod::protocol::Target;
use streampod::protocol::{report, CloseReason, Message, OpenCall, OpenResponse, OpenResult};
use streampod::{Dynamic, NoArgs};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A whole binary frame.
fn binary(message: &Message) -> Vec<u8> {
    server_frame(0x82, &message.encode())
}

/// What the scripted server writes, raw, after an open: each chunk written and flushed on
/// its own.
type OnOpen = Arc<dyn Fn(&OpenCall) -> Vec<Vec<u8>> + Send + Sync>;

/// A server that answers the client's `ping` with `greeting` (raw), an open with what
/// `on_open` gives, and reports every WebSocket message the client sent.
async fn scripted(
    greeting: Vec<u8>,
    on_open: OnOpen,
) -> (String, mpsc::UnboundedReceiver<WsMessage>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (seen, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            let chunks = match &message {
                WsMessage::Binary(bytes) => match Message::decode(bytes) {
                    Ok(Message::Ping) => vec![greeting.clone()],
                    Ok(Message::OpenCall(open)) => on_open(&open),
                    _ => vec![],
                },
                _ => vec![],
            };
            let _ = seen.send(message);
            for chunk in chunks {
                let raw = ws.get_mut();
                if raw.write_all(&chunk).await.is_err() || raw.flush().await.is_err() {
                    return;
                }
            }
        }
    });
    (url, received)
}

fn pong() -> Vec<u8> {
    binary(&Message::Pong)
}

fn accepted(open: &OpenCall) -> Vec<u8> {
    binary(&Message::OpenResponse(OpenResponse::new(
        open.cid,
        OpenResult::Success,
        open.endpoint.clone(),
        open.method.clone(),
    )))
}

fn target(open: &OpenCall) -> Target {
    Target::new(open.endpoint.clone(), open.method.clone(), open.cid)
}

fn value(open: &OpenCall, text: &str) -> Vec<u8> {
    Message::value(target(open), Dynamic::new(&text.to_string()).unwrap()).encode()
}

fn client(url: &str, config: ClientConfig) -> Client {
    Client::with_config(url, config.resume(false).keyed_frames(false)).unwrap()
}

async fn call(client: &Client) -> Vec<Result<String, Error>> {
    let call = client
        .stream::<String>(ENDPOINT, "strings", NoArgs {}, Inputs::new())
        .collect::<Vec<_>>();
    tokio::time::timeout(PATIENCE, call)
        .await
        .expect("the call ended at once")
}

/// The call ended with one error of the kind `kind` accepts, whose report says `why`.
fn assert_failed(result: &[Result<String, Error>], kind: fn(&Error) -> bool, why: &str) {
    match result {
        [Err(e)] if kind(e) => {
            let report = report(e);
            assert!(report.contains(why), "{why}: {report}");
        }
        other => panic!("{why}: {other:?}"),
    }
}

#[tokio::test]
async fn fragmented_messages_with_pings_between_and_bytes_one_at_a_time_arrive_whole() {
    // The greeting: a pong in three fragments, a ping between the first two.
    let pong = Message::Pong.encode();
    let greeting = [
        server_frame(0x02, &pong[..2]),
        server_frame(0x89, b"are you there"),
        server_frame(0x00, &pong[2..4]),
        server_frame(0x80, &pong[4..]),
    ]
    .concat();
    let large = "x".repeat(70_000);
    let expected_large = large.clone();
    let (url, mut received) = scripted(
        greeting,
        Arc::new(move |open| {
            let first = value(open, "first");
            let mut chunks = vec![
                accepted(open),
                // A value in three fragments, each in a write of its own.
                server_frame(0x02, &first[..5]),
                server_frame(0x00, &first[5..9]),
                server_frame(0x80, &first[9..]),
                // One whose length takes eight bytes.
                binary(&Message::value(target(open), Dynamic::new(&large).unwrap())),
            ];
            // One written a byte at a time: headers and payload arrive in pieces.
            let last = server_frame(0x82, &value(open, "last"));
            chunks.extend(last.iter().map(|b| vec![*b]));
            chunks.push(binary(&Message::close(
                target(open).call(),
                CloseReason::Done,
            )));
            chunks
        }),
    )
    .await;
    let client = client(&url, ClientConfig::default());
    let values: Vec<String> = call(&client)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        values,
        vec!["first".to_string(), expected_large, "last".to_string()]
    );
    // The ping between the fragments was answered with its payload.
    let mut pongs = Vec::new();
    while let Ok(message) = received.try_recv() {
        if let WsMessage::Pong(payload) = message {
            pongs.push(payload);
        }
    }
    assert_eq!(pongs, vec![b"are you there".to_vec()]);
}

#[tokio::test]
async fn every_frame_a_server_may_not_send_fails_the_connection_with_a_protocol_error() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (server_frame(0xc2, b"x"), "reserved bits"),
        (server_frame(0x83, b"x"), "unknown opcode"),
        (vec![0x82, 0x81, 1, 2, 3, 4, b'x'], "masked frame"),
        (
            server_frame(0x80, b"x"),
            "continuation frame with no message",
        ),
        (server_frame(0x09, b""), "control frame"),
        (server_frame(0x89, &[0; 126]), "control frame"),
        (
            [server_frame(0x02, b"a"), server_frame(0x82, b"b")].concat(),
            "before the fragmented one ended",
        ),
        (server_frame(0x88, &[3]), "close frame"),
    ];
    for (bad, why) in cases {
        let (url, _received) = scripted(
            pong(),
            Arc::new(move |open| vec![accepted(open), bad.clone()]),
        )
        .await;
        let client = client(&url, ClientConfig::default());
        let result = call(&client).await;
        assert_failed(&result, |e| matches!(e, Error::Protocol { .. }), why);
    }
}

#[tokio::test]
async fn a_message_above_the_clients_limit_fails_at_its_header() {
    // Only the header of a 1 MiB message comes: the client must not wait for the rest.
    let header = vec![0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 0];
    let (url, _received) = scripted(
        pong(),
        Arc::new(move |open| vec![accepted(open), header.clone()]),
    )
    .await;
    let client = client(&url, ClientConfig::default().max_message_size(64 * 1024));
    let result = call(&client).await;
    let why = "above the limit of 65536";
    assert_failed(&result, |e| matches!(e, Error::Protocol { .. }), why);
}

#[tokio::test]
async fn the_servers_close_is_echoed_with_its_code() {
    let (url, mut received) = scripted(
        pong(),
        Arc::new(|open| vec![accepted(open), server_frame(0x88, &1001u16.to_be_bytes())]),
    )
    .await;
    let client = client(&url, ClientConfig::default());
    let result = call(&client).await;
    assert!(
        matches!(result.as_slice(), [Err(Error::ConnectionClosed)]),
        "{result:?}"
    );
    let echo = tokio::time::timeout(PATIENCE, async {
        loop {
            match received.recv().await {
                Some(WsMessage::Close(close)) => return close,
                Some(_) => {}
                None => panic!("the client's close never came"),
            }
        }
    })
    .await
    .expect("the client echoed the close");
    assert_eq!(echo.map(|c| c.code), Some(CloseCode::Away));
}

/// A server that answers the upgrade with `answer`, raw.
async fn answering(answer: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let _ = tcp.write_all(&answer).await;
        // Held open: the client must decide on what it read.
        tokio::time::sleep(PATIENCE * 2).await;
    });
    url
}

#[tokio::test]
async fn an_upgrade_the_server_refuses_or_does_not_prove_fails_the_connect_with_the_reason() {
    let mut flood = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
    while flood.len() < 20_000 {
        flood.extend_from_slice(b"X-Padding: yes\r\n");
    }
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_vec(),
            "`HTTP/1.1 401 Unauthorized`",
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: dGhpcyBpcyBub3QgaXQ=\r\n\r\n"
                .to_vec(),
            "Sec-WebSocket-Accept does not match",
        ),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec(), "not HTTP"),
        (flood, "longer than 16384 bytes"),
    ];
    for (answer, why) in cases {
        let url = answering(answer).await;
        let client = client(&url, ClientConfig::default());
        let result = call(&client).await;
        assert_failed(&result, |e| matches!(e, Error::ConnectFailed { .. }), why);
    }
}

#[tokio::test]
async fn the_legacy_client_reads_fragments_and_answers_pings_on_the_same_transport() {
    // The server's first frame (any will do: the legacy client only needs one), in two
    // fragments with a ping between them.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (seen, mut received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let _first = ws.next().await;
        let raw = ws.get_mut();
        let greeting = [
            server_frame(0x02, &[0x80]),
            server_frame(0x89, b"p"),
            server_frame(0x80, &[]),
        ]
        .concat();
        raw.write_all(&greeting).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            let _ = seen.send(message);
        }
    });
    let legacy = streampod::client::LegacyClient::new(&url, None).unwrap();
    legacy.open_streaming_connection().await.unwrap();
    let pong = tokio::time::timeout(PATIENCE, received.recv())
        .await
        .unwrap();
    assert!(
        matches!(pong, Some(WsMessage::Pong(ref p)) if p == b"p"),
        "{pong:?}"
    );
    legacy.close_streaming_connection().await;
}
