//! A server with two worker threads: connections land on both, and the bus reaches every
//! subscriber on either, in posting order per poster, whether a message is posted from a
//! call on one worker or from a thread outside the server.

use crate::support::conformance::server_builder;
use crate::support::*;
use futures::StreamExt;
use std::collections::HashSet;
use streampod::bus::Scope;
use streampod::client::{CallStream, Client, Inputs};
use streampod::{Config, Endpoint, NoArgs};

const CLIENTS: usize = 8;
const POSTS: usize = 50;

#[derive(serde::Serialize)]
struct Channel {
    channel: &'static str,
}

#[derive(serde::Serialize)]
struct Post {
    channel: &'static str,
    text: String,
    scope: &'static str,
}

#[tokio::test]
async fn the_bus_reaches_subscribers_on_both_workers_in_order() {
    // Which worker thread serves a call.
    let whereami = Endpoint::new("whereami").future("thread", [], |_, _: NoArgs, ()| async {
        Ok(std::thread::current()
            .name()
            .unwrap_or_default()
            .to_string())
    });
    let server = TestServer::from_builder(
        server_builder()
            .endpoint(whereami)
            .config(Config::default().workers(2)),
    );
    let clients: Vec<Client> = (0..CLIENTS)
        .map(|_| Client::new(&server.http_url()).unwrap())
        .collect();
    let mut subscriptions = Vec::new();
    let mut threads = HashSet::new();
    for client in &clients {
        let subscription: CallStream<String> = client.stream(
            "bus",
            "subscribe",
            Channel { channel: "room" },
            Inputs::new(),
        );
        // Each subscriber reads the first 2 × POSTS messages in a task of its own.
        subscriptions.push(tokio::spawn(
            subscription.take(2 * POSTS).collect::<Vec<_>>(),
        ));
        let thread: String = client
            .call("whereami", "thread", NoArgs {}, Inputs::new())
            .await
            .unwrap();
        threads.insert(thread);
    }
    assert_eq!(threads.len(), 2, "connections on both workers: {threads:?}");
    wait_until("every subscription in place", || {
        server.server.messages().subscribers("room") == CLIENTS
    })
    .await;

    // One poster is a call on client 0's worker, the other a thread outside the server.
    let from_call = async {
        for i in 0..POSTS {
            let post = Post {
                channel: "room",
                text: format!("call {i}"),
                scope: "local",
            };
            let posted: bool = clients[0]
                .call("bus", "post", post, Inputs::new())
                .await
                .unwrap();
            assert!(posted);
        }
    };
    let bus = server.server.messages().clone();
    let from_thread = std::thread::spawn(move || {
        for i in 0..POSTS {
            futures::executor::block_on(bus.post_message(
                "room",
                &format!("thread {i}"),
                Scope::Local,
            ))
            .unwrap();
        }
    });
    from_call.await;
    from_thread.join().unwrap();

    for (n, subscription) in subscriptions.into_iter().enumerate() {
        let got: Vec<String> = tokio::time::timeout(PATIENCE, subscription)
            .await
            .unwrap_or_else(|_| panic!("subscriber {n} did not get every message"))
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        for poster in ["call", "thread"] {
            let mine: Vec<&String> = got.iter().filter(|t| t.starts_with(poster)).collect();
            let expected: Vec<String> = (0..POSTS).map(|i| format!("{poster} {i}")).collect();
            assert_eq!(
                mine,
                expected.iter().collect::<Vec<_>>(),
                "subscriber {n}, {poster}"
            );
        }
    }
}

/// The first connections of a fresh server race to start each legacy endpoint's actor from
/// several workers at once: every session gets the endpoint (its message is echoed),
/// however they interleave.
#[tokio::test]
async fn every_session_reaches_a_legacy_endpoint_started_by_a_racing_worker() {
    use crate::support::method_streaming::SimpleData;
    use streampod::client::LegacyClient;
    const SESSIONS: i64 = 8;
    for _ in 0..10 {
        let server = TestServer::with_config(Config::default().workers(4));
        let sessions = (0..SESSIONS).map(|num| {
            let url = server.http_url();
            async move {
                let c = LegacyClient::new(&url, None).unwrap();
                c.open_streaming_connection().await.unwrap();
                let streaming = c.endpoint("streaming");
                let mut echoes = streaming.stream();
                streaming.send(&SimpleData { num }).unwrap();
                let echo = tokio::time::timeout(PATIENCE, echoes.next())
                    .await
                    .expect("the endpoint answers every session");
                assert_eq!(
                    echo.unwrap().unwrap().decode::<SimpleData>().unwrap(),
                    SimpleData { num }
                );
            }
        });
        futures::future::join_all(sessions).await;
        assert_eq!(
            server.server.legacy_stats("streaming").unwrap().opened,
            SESSIONS as u64
        );
    }
}
