//! Credentials on the client: status codes of refused opens, and refresh-and-retry-once
//! (docs/PROTOCOL.md §5; Serverpod's
//! authenticated_streaming_method_test and open_method_stream_retry_test).

use crate::support::conformance::bearer;
use crate::support::*;
use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use streampod::client::{Client, Error, Inputs, RefreshingAuthKey, StaticAuthKey};
use streampod::NoArgs;

const AUTHENTICATED: &str = "authenticatedMethodStreaming";

async fn simple_stream(c: &Client) -> Result<Vec<i64>, Error> {
    c.stream::<i64>(AUTHENTICATED, "simpleStream", NoArgs {}, Inputs::new())
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

fn with_key(server: &TestServer, key: &str) -> Client {
    Client::builder(&server.http_url())
        .auth_key(StaticAuthKey(key.to_string()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn refused_opens_carry_401_and_403() {
    let server = TestServer::start();
    let anonymous = Client::new(&server.http_url()).unwrap();
    assert_eq!(
        simple_stream(&anonymous).await.unwrap_err().status_code(),
        Some(401)
    );
    let user = with_key(&server, &bearer("1", "t", &[]));
    assert_eq!(
        simple_stream(&user).await.unwrap_err().status_code(),
        Some(403)
    );
    let admin = with_key(&server, &bearer("1", "t", &["admin"]));
    assert_eq!(
        simple_stream(&admin).await.unwrap(),
        (0..10).collect::<Vec<_>>()
    );
}

/// A provider whose key starts as `first` and becomes `after_refresh` when refreshed,
/// counting refreshes; `refresh_works` is what refreshing reports.
fn refreshing(
    first: &str,
    after_refresh: &str,
    refresh_works: bool,
) -> (RefreshingAuthKey, Arc<AtomicUsize>) {
    let key = Arc::new(Mutex::new(first.to_string()));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let (k1, k2, count, next) = (
        key.clone(),
        key,
        refreshes.clone(),
        after_refresh.to_string(),
    );
    let provider = RefreshingAuthKey::new(
        move || {
            let value = k1.lock().unwrap().clone();
            async move { Some(value) }
        },
        move || {
            count.fetch_add(1, Ordering::SeqCst);
            *k2.lock().unwrap() = next.clone();
            async move { refresh_works }
        },
    );
    (provider, refreshes)
}

fn client_with(
    server: &TestServer,
    wire: streampod::Encoding,
    provider: RefreshingAuthKey,
) -> Client {
    Client::builder(&server.http_url())
        .config(streampod::client::ClientConfig::default().encoding(wire))
        .auth_key(provider)
        .build()
        .unwrap()
}

wire_test!(async fn a_refreshed_key_is_retried_and_succeeds(wire) {
    let server = TestServer::start();
    let (provider, refreshes) = refreshing("Bearer expired", &bearer("1", "t", &["admin"]), true);
    let c = client_with(&server, wire, provider);
    assert_eq!(simple_stream(&c).await.unwrap().len(), 10);
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
});

wire_test!(async fn no_refresh_when_the_first_try_succeeds(wire) {
    let server = TestServer::start();
    let (provider, refreshes) = refreshing(&bearer("1", "t", &["admin"]), "unused", true);
    let c = client_with(&server, wire, provider);
    assert!(simple_stream(&c).await.is_ok());
    assert_eq!(refreshes.load(Ordering::SeqCst), 0);
});

wire_test!(async fn a_failed_refresh_returns_the_original_error(wire) {
    let server = TestServer::start();
    let (provider, refreshes) = refreshing("Bearer expired", "unused", false);
    let c = client_with(&server, wire, provider);
    assert_eq!(
        simple_stream(&c).await.unwrap_err().status_code(),
        Some(401)
    );
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
});

wire_test!(async fn only_one_retry_when_the_refreshed_key_fails_too(wire) {
    let server = TestServer::start();
    let (provider, refreshes) = refreshing("Bearer expired", "Bearer still-bad", true);
    let c = client_with(&server, wire, provider);
    assert_eq!(
        simple_stream(&c).await.unwrap_err().status_code(),
        Some(401)
    );
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(server.stats().calls_opened, 0);
});

wire_test!(async fn authorization_declined_is_not_retried(wire) {
    let server = TestServer::start();
    let (provider, refreshes) = refreshing(&bearer("1", "t", &[]), "unused", true);
    let c = client_with(&server, wire, provider);
    assert_eq!(
        simple_stream(&c).await.unwrap_err().status_code(),
        Some(403)
    );
    assert_eq!(refreshes.load(Ordering::SeqCst), 0);
});

wire_test!(async fn a_retried_open_keeps_its_input_streams(wire) {
    let server = TestServer::start();
    let (provider, _) = refreshing("Bearer expired", &bearer("1", "t", &["admin"]), true);
    let c = client_with(&server, wire, provider);
    let inputs = Inputs::new().values("stream", futures::stream::iter(vec![1i64, 2, 3]));
    let echoed: Vec<_> = c
        .stream::<i64>(AUTHENTICATED, "intEchoStream", NoArgs {}, inputs)
        .collect()
        .await;
    assert_eq!(echoed, vec![Ok(1), Ok(2), Ok(3)]);
});
