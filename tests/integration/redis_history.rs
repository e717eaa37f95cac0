//! Bus history across nodes, through a real Redis (docs/MESSAGE_BUS.md): a subscriber that
//! read on node A and went away recovers on node B exactly what was posted meanwhile, then
//! the live messages, while posts go on; a Redis that lost its data has a new epoch, and a
//! position from before cannot be recovered.

use crate::bus_history::{assert_recovered_in_order, client, next_event, subscribe_since};
use crate::support::conformance::server_builder;
use crate::support::redis::RedisServer;
use crate::support::*;
use std::time::Duration;
use streampod::bus::{RedisState, Scope};

fn node(redis: &RedisServer) -> TestServer {
    TestServer::from_builder(server_builder().redis_url(redis.url()))
}

async fn linked(node: &TestServer) {
    node.wait_for_stats("linked to Redis", |s| {
        s.redis == Some(RedisState::Connected)
    })
    .await;
}

async fn post(node: &TestServer, channel: &str, text: String) {
    node.server
        .messages()
        .post_message(channel, &text, Scope::Global)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_subscriber_that_moves_to_another_node_recovers_there() {
    let Some(redis) = RedisServer::shared() else {
        return;
    };
    let (a, b) = (node(&redis), node(&redis));
    linked(&a).await;
    linked(&b).await;
    let channel = format!("h:moves-{}", uuid::Uuid::new_v4());
    let (start, mut on_a) = subscribe_since(&client(&a), &channel, None).await;
    assert!(!start.recovered);
    redis.wait_for_subscribers(&channel, 1).await;
    for i in 0..10 {
        post(&b, &channel, format!("m{i}")).await;
    }
    for i in 0..10 {
        let event = next_event(&mut on_a).await;
        assert_eq!(
            (event.offset, event.text.as_str()),
            (i + 1, &*format!("m{i}"))
        );
    }
    drop(on_a);
    for i in 10..110 {
        post(&b, &channel, format!("m{i}")).await;
    }
    // Posts go on, through node A, while the subscriber comes back on node B.
    let poster = {
        let bus = a.server.messages().clone();
        let channel = channel.clone();
        tokio::spawn(async move {
            for i in 110..140 {
                bus.post_message(&channel, &format!("m{i}"), Scope::Global)
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let (back, mut on_b) = subscribe_since(&client(&b), &channel, Some((&start.epoch, 10))).await;
    assert_recovered_in_order((back, &mut on_b), &start.epoch, 10, 140).await;
    poster.await.unwrap();
    // A position older than the 1,000 kept is not recovered: live from the last one.
    for i in 140..1_150 {
        post(&a, &channel, format!("m{i}")).await;
    }
    let (old, _) = subscribe_since(&client(&a), &channel, Some((&start.epoch, 20))).await;
    assert!(!old.recovered);
    assert_eq!(old.offset, 1_150);
}

#[tokio::test]
async fn a_redis_that_lost_its_data_has_a_new_epoch() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let a = node(&redis);
    linked(&a).await;
    let channel = "h:flushed";
    let (start, _) = subscribe_since(&client(&a), channel, None).await;
    for i in 0..5 {
        post(&a, channel, format!("m{i}")).await;
    }
    // Restarted without persistence: the history, the epoch and the offsets are gone.
    redis.restart();
    // The first post that Redis takes again starts the channel over.
    let deadline = std::time::Instant::now() + PATIENCE;
    while a
        .server
        .messages()
        .post_message(channel, &"again".to_string(), Scope::Global)
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "Redis never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (after, _) = subscribe_since(&client(&a), channel, Some((&start.epoch, 5))).await;
    assert!(!after.recovered, "{after:?}");
    assert_ne!(after.epoch, start.epoch);
    assert_eq!(after.offset, 1);
}
