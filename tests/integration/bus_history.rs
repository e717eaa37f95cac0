//! Bus history in one process (docs/MESSAGE_BUS.md): a subscriber that was away recovers
//! what was posted after its last position, with no gap and no duplicate between history and
//! live messages; a position the history no longer covers, or of another epoch, is not
//! recovered and the stream goes on live. Through the conformance server's
//! `bus.subscribeSince` (channels `h:*` keep 1,000 messages) and the bus API itself.

use crate::support::conformance::{BusEvent, BusRecovery};
use crate::support::*;
use futures::StreamExt;
use std::time::Duration;
use streampod::bus::Scope;
use streampod::client::{CallStream, Client, Inputs};
use streampod::Dynamic;

#[derive(serde::Serialize)]
struct Since<'a> {
    channel: &'a str,
    epoch: Option<&'a str>,
    offset: Option<u64>,
}

pub(crate) fn client(server: &TestServer) -> Client {
    Client::builder(&server.url())
        .model::<BusRecovery>()
        .model::<BusEvent>()
        .build()
        .unwrap()
}

/// `bus.subscribeSince`: where it starts, and the stream of its events.
pub(crate) async fn subscribe_since(
    c: &Client,
    channel: &str,
    since: Option<(&str, u64)>,
) -> (BusRecovery, CallStream<Dynamic>) {
    let args = Since {
        channel,
        epoch: since.map(|s| s.0),
        offset: since.map(|s| s.1),
    };
    let mut stream = c.stream::<Dynamic>("bus", "subscribeSince", args, Inputs::new());
    let first = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("the recovery")
        .expect("a value")
        .expect("not an error");
    (first.decode::<BusRecovery>().unwrap(), stream)
}

pub(crate) async fn next_event(stream: &mut CallStream<Dynamic>) -> BusEvent {
    let item = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("an event")
        .expect("a value")
        .expect("not an error");
    item.decode::<BusEvent>().unwrap()
}

/// Asserts that a subscription recovered in `epoch` from offset `from`, and that its
/// stream then brings the posts `m{from}` … `m{to - 1}` at offsets `from + 1` … `to`.
pub(crate) async fn assert_recovered_in_order(
    (back, stream): (BusRecovery, &mut CallStream<Dynamic>),
    epoch: &str,
    from: i64,
    to: i64,
) {
    assert!(back.recovered, "{back:?}");
    assert_eq!((back.epoch.as_str(), back.offset), (epoch, from));
    for i in from..to {
        let event = next_event(stream).await;
        assert_eq!(
            (event.offset, event.text.as_str()),
            (i + 1, &*format!("m{i}"))
        );
    }
}

async fn post(server: &TestServer, channel: &str, text: String) {
    server
        .server
        .messages()
        .post_message(channel, &text, Scope::Local)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_subscriber_back_from_its_position_gets_exactly_what_it_missed_then_live() {
    let server = TestServer::start();
    let c = client(&server);
    let (start, mut stream) = subscribe_since(&c, "h:room", None).await;
    assert!(!start.recovered);
    assert_eq!(start.offset, 0);
    for i in 0..10 {
        post(&server, "h:room", format!("m{i}")).await;
    }
    let mut last = 0;
    for i in 0..10 {
        let event = next_event(&mut stream).await;
        assert_eq!(
            (event.offset, event.text.as_str()),
            (i + 1, &*format!("m{i}"))
        );
        last = event.offset;
    }
    drop(stream);
    for i in 10..110 {
        post(&server, "h:room", format!("m{i}")).await;
    }
    // Posts go on while it comes back: none lost, none twice, across history and live.
    let poster = {
        let bus = server.server.messages().clone();
        tokio::spawn(async move {
            for i in 110..160 {
                bus.post_message("h:room", &format!("m{i}"), Scope::Local)
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let (back, mut stream) = subscribe_since(&c, "h:room", Some((&start.epoch, last as u64))).await;
    assert_recovered_in_order((back, &mut stream), &start.epoch, 10, 160).await;
    poster.await.unwrap();
}

#[tokio::test]
async fn a_position_the_history_no_longer_holds_or_of_another_epoch_goes_live() {
    let server = TestServer::start();
    let c = client(&server);
    for i in 0..1_010 {
        post(&server, "h:long", format!("m{i}")).await;
    }
    let (epoch, _) = {
        let (start, _) = subscribe_since(&c, "h:long", None).await;
        (start.epoch, start.offset)
    };
    // Offset 5 was pruned (1,000 kept): live from the last message on.
    let (too_old, mut stream) = subscribe_since(&c, "h:long", Some((&epoch, 5))).await;
    assert!(!too_old.recovered);
    assert_eq!(too_old.offset, 1_010);
    post(&server, "h:long", "next".into()).await;
    let event = next_event(&mut stream).await;
    assert_eq!((event.offset, event.text.as_str()), (1_011, "next"));
    // Another epoch (a restarted process) cannot be recovered either.
    let (foreign, _) = subscribe_since(&c, "h:long", Some(("another", 1_000))).await;
    assert!(!foreign.recovered);
    assert_eq!(foreign.epoch, epoch);
    // The oldest kept position still is.
    let (oldest, _) = subscribe_since(&c, "h:long", Some((&epoch, 11))).await;
    assert!(oldest.recovered, "{oldest:?}");
    // An offset ahead of the channel (or absurd) is not recovered either.
    let bus = server.server.messages();
    for offset in [1_012, u64::MAX] {
        let ahead = bus
            .create_stream_since::<String>("h:long", Some((&epoch, offset)))
            .await
            .unwrap();
        assert!(!ahead.recovery().recovered, "{offset}");
    }
    // A channel without history recovers nothing.
    let (plain, _) = subscribe_since(&c, "plain", Some((&epoch, 1))).await;
    assert_eq!((plain.recovered, plain.epoch.as_str()), (false, ""));
}

#[tokio::test]
async fn random_posts_and_resubscriptions_never_lose_or_repeat_a_message() {
    let server = TestServer::start();
    let bus = server.server.messages().clone();
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let channel = format!("h:prop{seed}");
        let mut posted = 0u64;
        let mut seen = 0u64;
        let mut stream = bus
            .create_stream_since::<String>(&channel, None)
            .await
            .unwrap();
        let epoch = stream.recovery().epoch.clone();
        for _ in 0..60 {
            // Unread messages stay within the stream's buffer (1,024) and the history (1,000).
            let room = 800 - (posted - seen);
            match rng.below(3) {
                0 => {
                    for _ in 0..rng.below(40).min(room) {
                        posted += 1;
                        bus.post_message(&channel, &format!("{posted}"), Scope::Local)
                            .await
                            .unwrap();
                    }
                }
                1 => {
                    // Away, and back from the last position (always within the 1,000 kept).
                    drop(stream);
                    for _ in 0..rng.below(40).min(room) {
                        posted += 1;
                        bus.post_message(&channel, &format!("{posted}"), Scope::Local)
                            .await
                            .unwrap();
                    }
                    stream = bus
                        .create_stream_since::<String>(&channel, Some((&epoch, seen)))
                        .await
                        .unwrap();
                    assert!(stream.recovery().recovered, "seed {seed}");
                }
                _ => {
                    for _ in 0..rng.below(posted - seen + 1) {
                        let item = tokio::time::timeout(PATIENCE, stream.next())
                            .await
                            .unwrap()
                            .unwrap()
                            .unwrap();
                        seen += 1;
                        assert_eq!(
                            (item.offset, item.value),
                            (seen, seen.to_string()),
                            "seed {seed}"
                        );
                    }
                }
            }
        }
        while seen < posted {
            let item = stream.next().await.unwrap().unwrap();
            seen += 1;
            assert_eq!(
                (item.offset, item.value),
                (seen, seen.to_string()),
                "seed {seed}"
            );
        }
    }
}
