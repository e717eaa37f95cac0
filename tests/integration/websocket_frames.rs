//! The server reads a client's WebSocket frames itself (RFC 6455 §5): messages in
//! fragments are joined whatever the reads cut them into, control frames are answered
//! between fragments, and a frame a client must not send closes the connection with 1002
//! (1009 for a message too large), after the frames before it were served.

use crate::support::*;
use tokio::io::AsyncWriteExt;

/// The frames the server wrote after `wire`, written a byte at a time (every frame's header
/// and payload cut across reads), then a close: as (first byte, payload).
async fn served_byte_by_byte(server: &TestServer, wire: Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut tcp = raw_upgrade(server).await;
    tcp.set_nodelay(true).unwrap();
    for byte in wire {
        tcp.write_all(&[byte]).await.unwrap();
    }
    let close = client_frame(8, &1000u16.to_be_bytes());
    let (received, _) = send_and_read_to_eof_on(tcp, &close).await;
    server_frames(&received)
}

/// The frames the server wrote after `wire`, written at once and ending where the server
/// stops reading: nothing more is sent, so that no byte is left unread when it closes (a
/// socket closed with unread bytes resets, and the reset can overtake what it wrote).
async fn served_until_closed(server: &TestServer, wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let (received, _) = send_and_read_to_eof_on(raw_upgrade(server).await, wire).await;
    server_frames(&received)
}

/// The `type` of a MessagePack protocol message.
fn kind(payload: &[u8]) -> String {
    let value = rmpv::decode::read_value(&mut &payload[..]).expect("MessagePack");
    let entries = value.as_map().expect("a map").clone();
    let (_, kind) = entries
        .into_iter()
        .find(|(k, _)| k.as_str() == Some("type"))
        .expect("a type");
    kind.as_str().expect("a string").to_string()
}

#[tokio::test]
async fn a_message_in_fragments_with_a_ping_between_them_is_served_whole() {
    let server = TestServer::start();
    let message = ping();
    let (head, rest) = message.split_at(3);
    let (middle, tail) = rest.split_at(2);
    let wire = [
        client_frame_as(0x02, head),
        client_frame(9, b"still there?"),
        client_frame_as(0x00, middle),
        client_frame_as(0x80, tail),
        // And a whole one after it.
        client_frame(2, &ping()),
    ]
    .concat();
    let frames = served_byte_by_byte(&server, wire).await;
    let got: Vec<(u8, String)> = frames
        .iter()
        .map(|(first, payload)| match first & 0x0f {
            2 => (*first, kind(payload)),
            8 => (
                *first,
                u16::from_be_bytes([payload[0], payload[1]]).to_string(),
            ),
            _ => (*first, String::from_utf8_lossy(payload).into_owned()),
        })
        .collect();
    assert_eq!(
        got,
        [
            (0x8A, "still there?".to_string()),
            (0x82, "pong".to_string()),
            (0x82, "pong".to_string()),
            (0x88, "1000".to_string()),
        ]
    );
}

#[tokio::test]
async fn frames_a_client_must_not_send_close_with_1002_after_those_before_them() {
    let server = TestServer::start();
    let unmasked = {
        let message = ping();
        let mut frame = vec![0x82, message.len() as u8];
        frame.extend_from_slice(&message);
        frame
    };
    let cases: [(&str, Vec<u8>); 7] = [
        ("an unmasked frame", unmasked),
        ("a reserved bit", client_frame_as(0xC2, &ping())),
        ("an unknown opcode", client_frame(3, b"")),
        ("a continuation first", client_frame_as(0x80, &ping())),
        (
            "a message inside a fragmented one",
            [client_frame_as(0x02, b"\x81"), client_frame(2, &ping())].concat(),
        ),
        ("a fragmented ping", client_frame_as(0x09, b"")),
        ("a ping over 125 bytes", client_frame(9, &[0; 126])),
    ];
    for (what, bad) in cases {
        let wire = [client_frame(2, &ping()), bad].concat();
        let frames = served_until_closed(&server, &wire).await;
        let firsts: Vec<u8> = frames.iter().map(|(first, _)| *first).collect();
        assert_eq!(firsts, [0x82, 0x88], "{what}: one pong, then the close");
        assert_eq!(kind(&frames[0].1), "pong", "{what}");
        assert_eq!(frames[1].1[..2], 1002u16.to_be_bytes(), "{what}");
    }
    server
        .wait_for_stats("every connection gone", |s| s.open_connections == 0)
        .await;
}

#[tokio::test]
async fn a_message_whose_fragments_outgrow_the_limit_closes_with_1009() {
    let server = TestServer::with_config(streampod::Config::default().max_frame_size(1024));
    let wire = [
        client_frame_as(0x02, &[0x81; 600]),
        client_frame_as(0x80, &[0; 600]),
    ]
    .concat();
    let frames = served_until_closed(&server, &wire).await;
    assert_eq!(frames.len(), 1, "only the close: {frames:?}");
    assert_eq!(frames[0].1[..2], 1009u16.to_be_bytes());
}
