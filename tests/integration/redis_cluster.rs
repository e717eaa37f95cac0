//! Two server nodes in one process, on two ports, sharing one real Redis: global messages,
//! revocation across nodes, and a Redis restart mid-test.

use crate::support::conformance::{bearer, server_builder};
use crate::support::redis::RedisServer;
use crate::support::*;
use futures::channel::mpsc;
use futures::StreamExt;
use streampod::bus::{BusError, RedisState, Scope};
use streampod::client::{CallStream, Client, Error, Inputs, StaticAuthKey};
use streampod::{NoArgs, Revoked};

fn node(redis: &RedisServer) -> TestServer {
    TestServer::from_builder(server_builder().redis_url(redis.url()))
}

/// Two nodes on one Redis, both linked.
async fn two_nodes(redis: &RedisServer) -> (TestServer, TestServer) {
    let (a, b) = (node(redis), node(redis));
    connected(&a).await;
    connected(&b).await;
    (a, b)
}

async fn connected(node: &TestServer) {
    node.wait_for_stats("linked to Redis", |s| {
        s.redis == Some(RedisState::Connected)
    })
    .await;
}

#[derive(serde::Serialize)]
struct Channel<'a> {
    channel: &'a str,
}

/// A channel name no other test uses (tests may share one Redis).
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

/// A subscriber call on `node`, read by a task of its own.
async fn subscriber(
    node: &TestServer,
    room: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<Result<String, Error>> {
    let c = Client::new(&node.http_url()).unwrap();
    let mut s: CallStream<String> =
        c.stream("bus", "subscribe", Channel { channel: room }, Inputs::new());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _client = c;
        while let Some(item) = s.next().await {
            let _ = tx.send(item);
        }
    });
    rx
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Result<String, Error>>) -> String {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a message")
        .expect("open")
        .expect("a value")
}

#[tokio::test]
async fn a_message_posted_on_one_node_reaches_subscribers_on_every_node_once() {
    let Some(redis) = RedisServer::shared() else {
        return;
    };
    let (a, b) = two_nodes(&redis).await;
    let room = unique("room");
    let mut on_a = subscriber(&a, &room).await;
    let mut on_b = subscriber(&b, &room).await;
    redis.wait_for_subscribers(&room, 2).await;
    for text in ["one", "two", "three"] {
        b.server
            .messages()
            .post_message(&room, &text.to_string(), Scope::Global)
            .await
            .unwrap();
    }
    a.server
        .messages()
        .post_message(&room, &"end".to_string(), Scope::Auto)
        .await
        .unwrap();
    for rx in [&mut on_a, &mut on_b] {
        for expected in ["one", "two", "three", "end"] {
            assert_eq!(
                next(rx).await,
                expected,
                "each message once, in order, then nothing else"
            );
        }
    }
    // A local post stays on its node.
    b.server
        .messages()
        .post_message(&room, &"b only".to_string(), Scope::Local)
        .await
        .unwrap();
    a.server
        .messages()
        .post_message(&room, &"after".to_string(), Scope::Global)
        .await
        .unwrap();
    assert_eq!(next(&mut on_a).await, "after");
    assert_eq!(next(&mut on_b).await, "b only");
    assert_eq!(next(&mut on_b).await, "after");
}

#[tokio::test]
async fn revoking_a_user_on_one_node_closes_their_call_on_another() {
    let Some(redis) = RedisServer::shared() else {
        return;
    };
    let (a, b) = two_nodes(&redis).await;
    let user = unique("user");
    let client = Client::builder(&a.http_url())
        .auth_key(StaticAuthKey(bearer(&user, "t", &["admin"])))
        .build()
        .unwrap();
    let (tx, rx) = mpsc::unbounded::<i64>();
    let mut call = client.stream::<i64>(
        "authenticatedMethodStreaming",
        "intEchoStream",
        NoArgs {},
        Inputs::new().values("stream", rx),
    );
    tx.unbounded_send(1).unwrap();
    assert_eq!(call.next().await, Some(Ok(1)));
    redis
        .wait_for_subscribers(&format!("_streampod_revoked_authentication_{user}"), 1)
        .await;
    b.server
        .revoke_authentication(&user, Revoked::User)
        .await
        .unwrap();
    let got = tokio::time::timeout(PATIENCE, call.next())
        .await
        .expect("closed in time");
    assert_eq!(got, Some(Err(Error::Revoked)));
}

#[tokio::test]
async fn posts_fail_while_redis_is_down_and_delivery_resumes_after() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_nodes(&redis).await;
    let room = unique("room");
    let mut on_a = subscriber(&a, &room).await;
    redis.wait_for_subscribers(&room, 1).await;
    b.server
        .messages()
        .post_message(&room, &"before".to_string(), Scope::Global)
        .await
        .unwrap();
    assert_eq!(next(&mut on_a).await, "before");

    redis.stop();
    b.wait_for_stats("B saw Redis go", |s| {
        s.redis == Some(RedisState::Disconnected)
    })
    .await;
    let down = b
        .server
        .messages()
        .post_message(&room, &"lost".to_string(), Scope::Global)
        .await;
    assert!(matches!(down, Err(BusError::Redis { .. })), "{down:?}");
    assert!(matches!(
        b.server.revoke_authentication("1", Revoked::User).await,
        Err(BusError::Redis { .. })
    ));

    redis.restart();
    connected(&a).await;
    connected(&b).await;
    // A resubscribed by itself.
    redis.wait_for_subscribers(&room, 1).await;
    b.server
        .messages()
        .post_message(&room, &"after".to_string(), Scope::Global)
        .await
        .unwrap();
    assert_eq!(
        next(&mut on_a).await,
        "after",
        "nothing lost is replayed; delivery resumes"
    );
}

#[tokio::test]
async fn an_invalid_redis_url_stops_the_build() {
    let err = server_builder()
        .redis_url("not a url")
        .build()
        .expect_err("refused");
    assert!(matches!(err, streampod::ConfigError::Bus(_)), "{err:?}");
    // The cause is kept, down to Redis's own error.
    let bus = std::error::Error::source(&err).expect("the bus error");
    let redis = bus.source().expect("Redis's error");
    assert!(
        redis.downcast_ref::<::redis::RedisError>().is_some(),
        "{redis:?}"
    );
}
