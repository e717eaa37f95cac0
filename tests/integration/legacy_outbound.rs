//! A legacy session that never reads costs the server bounded memory: what an endpoint sends
//! it is counted against `max_outbound_bytes`, the session is closed with 1013 once over it,
//! and the sender and the other sessions get every message.

use crate::support::*;
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use streampod::client::LegacyClient;
use tokio::io::AsyncReadExt;

const MESSAGES: usize = 100_000;
const BATCH: usize = 1_000;
/// The default: the rule method streams follow. (An endpoint actor may handle a few hundred
/// messages in one turn before any socket drains, so a much smaller limit would also close
/// sessions that do read.)
const LIMIT: usize = 1 << 20;

/// A 1 KiB message that says which one it is.
fn message(i: usize) -> String {
    format!("{i:08}{}", "x".repeat(1016))
}

/// The server frames in `bytes`: (opcode, payload).
fn server_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while bytes.len() >= 2 {
        let opcode = bytes[0] & 0x0f;
        let (len, header) = match bytes[1] & 0x7f {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        frames.push((opcode, bytes[header..header + len].to_vec()));
        bytes = &bytes[header + len..];
    }
    frames
}

#[tokio::test]
async fn a_session_that_never_reads_is_closed_with_1013_and_costs_bounded_memory() {
    let server = TestServer::start();
    assert_eq!(server.server.config().max_outbound_bytes, LIMIT);
    let stats = |s: &TestServer| s.server.legacy_stats("broadcast").unwrap();
    // The slow session: upgraded by hand, never reads.
    let mut slow = raw_upgrade_at(&server, "/websocket").await;
    let sender = LegacyClient::new(&server.http_url(), None).unwrap();
    let other = LegacyClient::new(&server.http_url(), None).unwrap();
    sender.open_streaming_connection().await.unwrap();
    other.open_streaming_connection().await.unwrap();
    let mut own = sender.endpoint("broadcast").stream();
    let mut others = other.endpoint("broadcast").stream();
    server
        .wait_for_stats("three sessions on the endpoint", |_| {
            stats(&server).sessions == 3
        })
        .await;

    // The most the server held for its sockets at any moment.
    let done = Arc::new(AtomicBool::new(false));
    let most = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (done, most, view) = (done.clone(), most.clone(), server.server.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                most.fetch_max(view.stats().outbound_queued_bytes, Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        })
    };
    let reader = tokio::spawn(async move {
        for i in 0..MESSAGES {
            let got = tokio::time::timeout(PATIENCE, others.next()).await;
            let got = got
                .expect("the other session keeps receiving")
                .unwrap()
                .unwrap();
            assert_eq!(got.decode::<String>().unwrap(), message(i));
        }
    });
    let endpoint = sender.endpoint("broadcast");
    for batch in 0..MESSAGES / BATCH {
        for i in batch * BATCH..(batch + 1) * BATCH {
            endpoint.send(&message(i)).unwrap();
        }
        for i in batch * BATCH..(batch + 1) * BATCH {
            let got = tokio::time::timeout(PATIENCE, own.next()).await;
            let got = got.expect("the sender keeps receiving").unwrap().unwrap();
            assert_eq!(got.decode::<String>().unwrap(), message(i));
        }
    }
    reader.await.unwrap();
    done.store(true, Ordering::Relaxed);
    watcher.await.unwrap();

    // Three sockets, each at most its limit and one more message behind; not the 100 MB
    // the slow session was sent.
    let most = most.load(Ordering::Relaxed);
    eprintln!("at most {most} bytes held for the three sockets");
    assert!(most <= 3 * (LIMIT + 2048), "{most} bytes held at once");
    assert_eq!(stats(&server).sessions, 2, "the slow session was closed");
    assert_eq!(stats(&server).closed, 1);

    // What the slow session finds once it reads: a prefix of the messages, then 1013.
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, slow.read_to_end(&mut received))
        .await
        .expect("the server closed the slow session's TCP")
        .unwrap();
    let frames = server_frames(&received);
    let (opcode, payload) = frames.last().unwrap();
    assert_eq!(*opcode, 8, "a close frame ends it");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1013);
    let data = frames.iter().filter(|(op, _)| *op == 2).count();
    assert!(data > 0 && data < MESSAGES, "{data} messages reached it");
}
