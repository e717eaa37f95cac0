//! A session closes when its call ends, however it ends (docs/PROTOCOL.md
//! §4.4; Serverpod's method_streaming_cancel_test): its `on_close` listeners run once and `closed()`
//! completes, when the method finishes, when the client cancels, when the connection
//! drops, and when authentication is revoked.

use crate::support::conformance::{bearer, server_builder};
use crate::support::*;
use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use streampod::client::{Client, Error, Inputs, StaticAuthKey};
use streampod::{Endpoint, NoArgs, Revoked, Session, StreamError};

/// How many sessions ran their close listener, and how many saw `closed()` complete.
#[derive(Clone, Default)]
struct Closes {
    listened: Arc<AtomicUsize>,
    awaited: Arc<AtomicUsize>,
}

impl Closes {
    fn watch(&self, session: &Session) {
        let listened = self.listened.clone();
        session.on_close(move || {
            listened.fetch_add(1, Ordering::SeqCst);
        });
        let (awaited, session) = (self.awaited.clone(), session.clone());
        actix::spawn(async move {
            session.closed().await;
            awaited.fetch_add(1, Ordering::SeqCst);
        });
    }

    async fn wait_for(&self, n: usize) {
        wait_until("close listeners and closed()", || {
            self.listened.load(Ordering::SeqCst) == n && self.awaited.load(Ordering::SeqCst) == n
        })
        .await;
    }
}

/// `watched.forever` yields one value and never ends; `watched.once` yields one and ends;
/// `watchedSignedIn.forever` is `forever` behind a login.
fn watched_server(closes: &Closes) -> TestServer {
    let method = |closes: Closes, end: bool| {
        move |session: Session, _: NoArgs, ()| {
            closes.watch(&session);
            let first = futures::stream::once(async { Ok::<i64, StreamError>(1) });
            if end {
                first.boxed()
            } else {
                first.chain(futures::stream::pending()).boxed()
            }
        }
    };
    let watched = Endpoint::new("watched")
        .stream("forever", [], method(closes.clone(), false))
        .stream("once", [], method(closes.clone(), true));
    let signed_in = Endpoint::new("watchedSignedIn").require_login().stream(
        "forever",
        [],
        method(closes.clone(), false),
    );
    TestServer::from_builder(server_builder().endpoint(watched).endpoint(signed_in))
}

#[tokio::test]
async fn a_session_closes_when_its_method_finishes() {
    let closes = Closes::default();
    let server = watched_server(&closes);
    let client = Client::new(&server.http_url()).unwrap();
    let got: Vec<_> = client
        .stream::<i64>("watched", "once", NoArgs {}, Inputs::new())
        .collect()
        .await;
    assert_eq!(got, vec![Ok(1)]);
    closes.wait_for(1).await;
}

#[tokio::test]
async fn a_session_closes_when_the_client_cancels() {
    let closes = Closes::default();
    let server = watched_server(&closes);
    let client = Client::new(&server.http_url()).unwrap();
    let mut call = client.stream::<i64>("watched", "forever", NoArgs {}, Inputs::new());
    assert_eq!(call.next().await, Some(Ok(1)));
    assert_eq!(closes.listened.load(Ordering::SeqCst), 0, "still open");
    drop(call);
    closes.wait_for(1).await;
}

#[tokio::test]
async fn every_session_closes_when_the_connection_drops() {
    let closes = Closes::default();
    let server = watched_server(&closes);
    let mut raw = RawClient::connect(&server).await;
    for n in 1..=3 {
        raw.send(omsc_to("watched", "forever", &cid(n), no_args(), &[], None))
            .await;
    }
    // Each call answers its open and sends its one value.
    raw.recv_n(6).await;
    raw.drop_tcp();
    closes.wait_for(3).await;
}

#[tokio::test]
async fn a_session_closes_when_its_authentication_is_revoked() {
    let closes = Closes::default();
    let server = watched_server(&closes);
    let client = Client::builder(&server.http_url())
        .auth_key(StaticAuthKey(bearer("5", "t", &[])))
        .build()
        .unwrap();
    let mut call = client.stream::<i64>("watchedSignedIn", "forever", NoArgs {}, Inputs::new());
    assert_eq!(call.next().await, Some(Ok(1)));
    server
        .server
        .revoke_authentication("5", Revoked::User)
        .await
        .unwrap();
    assert_eq!(call.next().await, Some(Err(Error::Revoked)));
    closes.wait_for(1).await;
}
