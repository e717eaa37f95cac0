//! Methods woken from threads outside the server (a feed thread, another runtime): their
//! wakes go through the arbiter's hub (`call::local_wakes`), and every value still
//! arrives, in order, on every call.

use crate::support::conformance::server_builder;
use crate::support::*;
use futures::channel::mpsc::{unbounded, UnboundedSender};
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use streampod::client::{Client, Inputs};
use streampod::{Endpoint, NoArgs, StreamError};

type Feeds = Arc<Mutex<Vec<UnboundedSender<i64>>>>;

/// A server whose `feed.values` streams what the test sends on the call's sender.
fn feed_server(feeds: Feeds) -> TestServer {
    let feed = Endpoint::new("feed").stream("values", [], move |_, _: NoArgs, ()| {
        let (tx, rx) = unbounded();
        feeds.lock().unwrap().push(tx);
        rx.map(Ok::<i64, StreamError>)
    });
    TestServer::from_builder(server_builder().endpoint(feed))
}

#[tokio::test]
async fn values_fed_from_a_plain_thread_reach_every_call_in_order() {
    const CALLS: usize = 50;
    const VALUES: i64 = 200;
    let feeds = Feeds::default();
    let server = feed_server(feeds.clone());
    let client = Client::new(&server.http_url()).unwrap();
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let stream = client.stream::<i64>("feed", "values", NoArgs {}, Inputs::new());
            tokio::spawn(stream.collect::<Vec<_>>())
        })
        .collect();
    wait_until("every call open", || feeds.lock().unwrap().len() == CALLS).await;
    // One thread outside any runtime feeds every call, value by value, then ends them all.
    let senders = std::mem::take(&mut *feeds.lock().unwrap());
    std::thread::spawn(move || {
        for v in 0..VALUES {
            for tx in &senders {
                tx.unbounded_send(v).unwrap();
            }
        }
    })
    .join()
    .unwrap();
    let expected: Vec<i64> = (0..VALUES).collect();
    for call in calls {
        let got = tokio::time::timeout(PATIENCE, call)
            .await
            .expect("the call to end")
            .unwrap();
        let got: Vec<i64> = got.into_iter().map(Result::unwrap).collect();
        assert_eq!(got, expected);
    }
    server
        .wait_for_stats("every call closed", |s| s.open_calls == 0)
        .await;
}
