//! The in-process message bus (docs/MESSAGE_BUS.md): delivery, order, types, lag, and clean-up
//! with the session.

use crate::support::conformance::server_builder;
use crate::support::*;
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use streampod::bus::{BusError, Scope};
use streampod::client::{CallStream, Client, Error, Inputs};
use streampod::Config;

#[derive(serde::Serialize)]
struct Channel<'a> {
    channel: &'a str,
}

#[derive(serde::Serialize)]
struct Post<'a> {
    channel: &'a str,
    text: &'a str,
    scope: &'a str,
}

/// A subscription call, driven by a task of its own so that it opens without being read;
/// dropping it cancels the call.
struct Subscription {
    items: tokio::sync::mpsc::UnboundedReceiver<Result<String, Error>>,
    task: tokio::task::JoinHandle<()>,
}

impl Subscription {
    async fn next(&mut self) -> Option<Result<String, Error>> {
        tokio::time::timeout(PATIENCE, self.items.recv())
            .await
            .expect("a message")
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn subscribe(
    c: &Client,
    method: &str,
    channel: &str,
    server: &TestServer,
    subscribers: usize,
) -> Subscription {
    let mut stream: CallStream<String> =
        c.stream("bus", method, Channel { channel }, Inputs::new());
    let (tx, items) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            let _ = tx.send(item);
        }
    });
    // The subscription exists once the server counts the call and the channel.
    server
        .wait_for_stats("subscribed", |s| {
            s.bus_channels >= 1 && s.open_calls >= subscribers
        })
        .await;
    Subscription { items, task }
}

async fn post(c: &Client, channel: &str, text: &str, scope: &str) -> Result<bool, Error> {
    c.call(
        "bus",
        "post",
        Post {
            channel,
            text,
            scope,
        },
        Inputs::new(),
    )
    .await
}

#[tokio::test]
async fn posting_with_no_listener_succeeds() {
    let server = TestServer::start();
    let bus = server.server.messages();
    assert_eq!(bus.post_message("empty", &1i64, Scope::Local).await, Ok(()));
    assert_eq!(bus.post_message("empty", &1i64, Scope::Auto).await, Ok(()));
    assert_eq!(server.stats().bus_channels, 0);
}

#[tokio::test]
async fn a_global_post_without_redis_is_an_error() {
    let server = TestServer::start();
    let err = server
        .server
        .messages()
        .post_message("c", &1i64, Scope::Global)
        .await;
    assert_eq!(err, Err(BusError::NoRedis));
    assert_eq!(server.stats().redis, None);
}

#[tokio::test]
async fn a_listener_is_notified_and_can_be_removed() {
    let server = TestServer::start();
    let bus = server.server.messages();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let id = bus.add_listener("c", move |m| {
        record.lock().unwrap().push(m.decode::<i64>().unwrap())
    });
    bus.post_message("c", &1i64, Scope::Local).await.unwrap();
    bus.post_message("c", &2i64, Scope::Auto).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
    bus.remove_listener("c", id);
    bus.post_message("c", &3i64, Scope::Local).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
    assert_eq!(server.stats().bus_channels, 0);
}

#[tokio::test]
async fn streams_receive_every_message_in_order() {
    let server = TestServer::start();
    let bus = server.server.messages();
    let (mut a, mut b) = (bus.create_stream::<i64>("c"), bus.create_stream::<i64>("c"));
    for v in 0..500 {
        bus.post_message("c", &v, Scope::Local).await.unwrap();
    }
    for stream in [&mut a, &mut b] {
        let got: Vec<i64> = stream.take(500).map(Result::unwrap).collect().await;
        assert_eq!(got, (0..500).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn a_message_of_another_type_is_an_error_item_and_the_stream_goes_on() {
    let server = TestServer::start();
    let bus = server.server.messages();
    let mut s = bus.create_stream::<i64>("c");
    bus.post_message("c", &"text".to_string(), Scope::Local)
        .await
        .unwrap();
    bus.post_message("c", &7i64, Scope::Local).await.unwrap();
    assert!(matches!(s.next().await, Some(Err(BusError::WrongType(_)))));
    assert_eq!(s.next().await, Some(Ok(7)));
}

#[tokio::test]
async fn dropping_one_stream_leaves_the_others() {
    let server = TestServer::start();
    let bus = server.server.messages();
    let (a, mut b) = (bus.create_stream::<i64>("c"), bus.create_stream::<i64>("c"));
    drop(a);
    bus.post_message("c", &1i64, Scope::Local).await.unwrap();
    assert_eq!(b.next().await, Some(Ok(1)));
    drop(b);
    assert_eq!(
        server.stats().bus_channels,
        0,
        "the last stream gone, the channel is gone"
    );
}

#[tokio::test]
async fn a_slow_stream_is_told_it_lagged_and_nobody_else_is_slowed() {
    let server = TestServer::from_builder(server_builder().config(Config::default().bus_buffer(4)));
    let bus = server.server.messages();
    let mut slow = bus.create_stream::<i64>("c");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let _listener = bus.add_listener("c", move |m| {
        record.lock().unwrap().push(m.decode::<i64>().unwrap())
    });
    for v in 0..10 {
        bus.post_message("c", &v, Scope::Local).await.unwrap();
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        10,
        "the listener got everything"
    );
    assert_eq!(slow.next().await, Some(Err(BusError::Lagged(6))));
    let rest: Vec<i64> = slow.take(4).map(Result::unwrap).collect().await;
    assert_eq!(rest, vec![6, 7, 8, 9]);
}

wire_test!(async fn a_call_streams_what_another_call_posts(wire) {
    let server = TestServer::start();
    let (listener, poster) = (
        client_on(&server, wire),
        client_on(&server, wire),
    );
    let mut room = subscribe(&listener, "subscribe", "room", &server, 1).await;
    for text in ["one", "two", "three"] {
        assert_eq!(post(&poster, "room", text, "auto").await, Ok(true));
    }
    for text in ["one", "two", "three"] {
        assert_eq!(room.next().await, Some(Ok(text.to_string())));
    }
});

wire_test!(async fn a_calls_streams_and_listeners_end_with_the_call(wire) {
    let server = TestServer::start();
    let c = client_on(&server, wire);
    for method in ["subscribe", "subscribeWithListener"] {
        let mut stream = subscribe(&c, method, "room", &server, 1).await;
        assert_eq!(post(&c, "room", "hi", "local").await, Ok(true));
        assert_eq!(stream.next().await, Some(Ok("hi".to_string())));
        drop(stream);
        server
            .wait_for_stats("the call's subscription removed", |s| {
                s.open_calls == 0 && s.bus_channels == 0
            })
            .await;
    }
});

wire_test!(async fn a_global_post_through_a_call_without_redis_fails_the_call(wire) {
    let server = TestServer::start();
    let c = client_on(&server, wire);
    assert_eq!(
        post(&c, "room", "x", "global").await,
        Err(Error::ClosedWithError)
    );
});
