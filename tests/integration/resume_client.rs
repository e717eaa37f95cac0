//! Resume as an app sees it (docs/PROTOCOL.md §11): the Rust client through
//! `streampod::testing`'s proxy, which cuts, refuses, stalls and delays connections. Calls
//! go on across cuts with every value exactly once and in order; an outage longer than the
//! window fails them with `ResumeFailed` and frees everything on the server; a resume
//! re-checks who calls.

use crate::support::conformance::{bearer, server_builder};
use crate::support::ticker::{Ticker, TickerClient, Ticks};
use crate::support::{wait_until, Rng, PATIENCE};
use futures::{stream, StreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streampod::client::{
    Client, ClientConfig, ConnectionState, Error, Inputs, RefreshingAuthKey, StaticAuthKey,
};
use streampod::protocol::{Encoding, ResumeRefusal};
use streampod::testing::TestServer;
use streampod::{Config, Endpoint, NoArgs, Revoked, Stats};

async fn ticker_server(config: Config, closed: Arc<AtomicUsize>) -> TestServer {
    // `held.hold`: a call that never ends by itself, and counts its close listeners' runs.
    let held = Endpoint::new("held").stream("hold", [], move |session, _: NoArgs, ()| {
        let closed = closed.clone();
        session.on_close(move || {
            closed.fetch_add(1, Ordering::SeqCst);
        });
        stream::pending::<Result<i64, streampod::StreamError>>()
    });
    let server = server_builder()
        .endpoint(Ticks.into_endpoint())
        .endpoint(held)
        .config(config)
        .build()
        .unwrap();
    TestServer::start(server).await.unwrap()
}

fn idle(s: &Stats) -> bool {
    s.open_calls == 0 && s.open_connections == 0 && s.detached_connections == 0
}

/// The ints `0..n`, one every `every`.
fn paced(n: i64, every: Duration) -> impl futures::Stream<Item = i64> + Send + 'static {
    stream::iter(0..n).then(move |v| async move {
        tokio::time::sleep(every).await;
        v
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_random_cuts_every_value_arrives_exactly_once_and_in_order() {
    const CALLS: usize = 20;
    const VALUES: i64 = 2_000;
    let server = ticker_server(Config::default(), Arc::default()).await;
    let client = Client::new(&server.url()).unwrap();
    let ticker = TickerClient::new(&client);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("cut seed {seed}");
    let mut random = Rng(seed);
    let calls = futures::future::join_all((0..CALLS).map(|_| {
        let counted = ticker.count(0, VALUES, 2).collect::<Vec<_>>();
        let echoed = ticker
            .echo(paced(VALUES, Duration::from_millis(2)))
            .collect::<Vec<_>>();
        futures::future::join(counted, echoed)
    }));
    tokio::pin!(calls);
    // Cut every connection through the proxy every 0.2 to 2 s until the calls are done.
    let results = loop {
        let pause = Duration::from_millis(200 + random.below(1_800));
        tokio::select! {
            results = &mut calls => break results,
            () = tokio::time::sleep(pause) => server.proxy().cut_all(),
        }
    };
    let expected: Vec<Result<i64, Error>> = (0..VALUES).map(Ok).collect();
    for (i, (counted, echoed)) in results.into_iter().enumerate() {
        assert!(
            counted == expected,
            "count {i}: {:?}",
            first_difference(&counted, &expected)
        );
        assert!(
            echoed == expected,
            "echo {i}: {:?}",
            first_difference(&echoed, &expected)
        );
    }
    // The calls lived through cuts, each resumed on a new connection.
    let cuts = server.proxy().cut();
    assert!(cuts >= 2, "only {cuts} cuts: the test proved nothing");
    assert!(
        server.proxy().accepted() > cuts,
        "no connection after the last cut"
    );
    client.close().await;
    server.wait_for_idle().await;
}

fn first_difference(
    got: &[Result<i64, Error>],
    expected: &[Result<i64, Error>],
) -> Option<(usize, Option<Result<i64, Error>>)> {
    let at = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    (got.len() != expected.len() || at < got.len()).then(|| (at, got.get(at).cloned()))
}

trait WaitForIdle {
    async fn wait_for_idle(&self);
}

impl WaitForIdle for TestServer {
    /// Waits until the server holds no call and no connection, live or detached.
    async fn wait_for_idle(&self) {
        wait_until("no call or connection left on the server", || {
            idle(&self.stats())
        })
        .await;
    }
}

#[tokio::test]
async fn an_outage_longer_than_the_window_fails_every_call_with_resume_failed_and_frees_all() {
    let closed = Arc::new(AtomicUsize::new(0));
    let config = Config::default().resume_window(Duration::from_secs(1));
    let server = ticker_server(config, closed.clone()).await;
    let client = Client::new(&server.url()).unwrap();
    // Each held call in a task of its own, which drives its open and waits for its end
    // (it yields nothing while it lives).
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let mut call = client.stream::<i64>("held", "hold", NoArgs {}, Inputs::new());
            tokio::spawn(async move { call.next().await })
        })
        .collect();
    let ticker = TickerClient::new(&client);
    let mut echo = ticker.echo(paced(1_000_000, Duration::from_millis(5)));
    assert_eq!(echo.next().await, Some(Ok(0)));
    wait_until("six calls open", || server.stats().open_calls == 6).await;
    // Opened: nothing came, and nothing failed.
    assert!(calls.iter().all(|call| !call.is_finished()));
    // Three seconds without a network: longer than the window.
    server.proxy().set_down(true);
    server.proxy().cut_all();
    let outage = tokio::spawn({
        let down = Duration::from_secs(3);
        async move { tokio::time::sleep(down).await }
    });
    let expired = |ended: &Option<Result<i64, Error>>| {
        matches!(
            ended,
            Some(Err(Error::ResumeFailed {
                reason: ResumeRefusal::Expired,
                ..
            }))
        )
    };
    for call in calls {
        let ended = tokio::time::timeout(PATIENCE, call).await.unwrap().unwrap();
        assert!(expired(&ended), "{ended:?}");
    }
    // The echo may still deliver what was on its way; then it fails.
    let ended = loop {
        match tokio::time::timeout(PATIENCE, echo.next()).await.unwrap() {
            Some(Ok(_)) => continue,
            other => break other,
        }
    };
    assert!(expired(&ended), "{ended:?}");
    // On the server: every call ended, its close listeners ran, nothing is kept.
    server.wait_for_idle().await;
    assert_eq!(closed.load(Ordering::SeqCst), 5);
    outage.await.unwrap();
    server.proxy().set_down(false);
    // The client connects afresh for the next call.
    let counted: Vec<_> = ticker.count(0, 3, 0).collect().await;
    assert_eq!(counted, vec![Ok(0), Ok(1), Ok(2)]);
}

#[tokio::test]
async fn the_client_reports_reconnecting_and_connected_again() {
    let server = ticker_server(Config::default(), Arc::default()).await;
    let client = Client::new(&server.url()).unwrap();
    let mut state = client.state();
    assert_eq!(*state.borrow_and_update(), ConnectionState::Disconnected);
    let ticker = TickerClient::new(&client);
    let mut count = ticker.count(0, 1_000, 5);
    assert_eq!(count.next().await, Some(Ok(0)));
    assert_eq!(*state.borrow_and_update(), ConnectionState::Connected);
    server.proxy().set_down(true);
    server.proxy().cut_all();
    // Refused while down: the attempts count up.
    let attempt = tokio::time::timeout(
        PATIENCE,
        state.wait_for(|s| matches!(s, ConnectionState::Reconnecting { attempt } if *attempt >= 2)),
    )
    .await
    .expect("a second attempt")
    .unwrap()
    .to_owned();
    assert!(matches!(attempt, ConnectionState::Reconnecting { .. }));
    server.proxy().set_down(false);
    tokio::time::timeout(
        PATIENCE,
        state.wait_for(|s| *s == ConnectionState::Connected),
    )
    .await
    .expect("connected again")
    .unwrap();
    let rest: Vec<i64> = count.take(5).map(Result::unwrap).collect().await;
    assert_eq!(rest, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn connections_cut_after_a_few_kilobytes_each_still_carry_every_value() {
    let server = ticker_server(Config::default(), Arc::default()).await;
    // Each connection carries 16 KiB, then is cut: a resume every few hundred values.
    server.proxy().set_cut_after(Some(16 * 1024));
    let client = Client::new(&server.url()).unwrap();
    let ticker = TickerClient::new(&client);
    let (counted, echoed) = futures::future::join(
        ticker.count(0, 2_000, 0).collect::<Vec<_>>(),
        ticker.echo(stream::iter(0..2_000i64)).collect::<Vec<_>>(),
    )
    .await;
    let expected: Vec<Result<i64, Error>> = (0..2_000).map(Ok).collect();
    assert!(
        counted == expected,
        "{:?}",
        first_difference(&counted, &expected)
    );
    assert!(
        echoed == expected,
        "{:?}",
        first_difference(&echoed, &expected)
    );
    assert!(server.proxy().cut() >= 3, "{} cuts", server.proxy().cut());
}

#[tokio::test]
async fn resume_works_on_serverpods_json_wire_too() {
    let server = ticker_server(Config::default(), Arc::default()).await;
    server.proxy().set_cut_after(Some(64 * 1024));
    let config = ClientConfig::default().encoding(Encoding::Json);
    let client = Client::with_config(&server.url(), config).unwrap();
    let ticker = TickerClient::new(&client);
    let echoed: Vec<_> = ticker.echo(stream::iter(0..2_000i64)).collect().await;
    assert_eq!(echoed, (0..2_000).map(Ok).collect::<Vec<_>>());
    assert!(server.proxy().cut() >= 2, "{} cuts", server.proxy().cut());
}

#[tokio::test]
async fn a_stalled_network_is_noticed_by_the_keepalive_and_resumed_when_it_moves_again() {
    let server = ticker_server(Config::default(), Arc::default()).await;
    let config = ClientConfig::default()
        .ping_interval(Duration::from_millis(100))
        .idle_timeout(Duration::from_millis(300));
    let client = Client::with_config(&server.url(), config).unwrap();
    let mut state = client.state();
    let ticker = TickerClient::new(&client);
    let mut count = ticker.count(0, 100_000, 2);
    assert_eq!(count.next().await, Some(Ok(0)));
    server.proxy().set_stalled(true);
    tokio::time::timeout(
        PATIENCE,
        state.wait_for(|s| matches!(s, ConnectionState::Reconnecting { .. })),
    )
    .await
    .expect("the idle timeout drops the socket")
    .unwrap();
    server.proxy().set_stalled(false);
    // The old socket may still be open on the server: the new one takes the session over.
    let next: Vec<i64> = (&mut count).take(200).map(Result::unwrap).collect().await;
    assert_eq!(next, (1..=200).collect::<Vec<_>>());
}

#[tokio::test]
async fn while_kept_frames_are_unacknowledged_the_client_stops_taking_inputs() {
    const VALUES: usize = 2_000;
    let server = ticker_server(Config::default(), Arc::default()).await;
    // 64 KiB of kept frames at most: 32 values of 2 KiB. Without flow control, so that no
    // credit bounds the input instead.
    let config = ClientConfig::default()
        .resume_buffer(64 * 1024)
        .window(None);
    let client = Client::with_config(&server.url(), config).unwrap();
    let value = |i: usize| format!("{i:02048}");
    // The first value at once; the others once released, counted as they are pulled.
    let pulled = Arc::new(AtomicUsize::new(0));
    let (release, released) = tokio::sync::watch::channel(false);
    let values = {
        let pulled = pulled.clone();
        stream::iter(0..VALUES).then(move |i| {
            let (pulled, mut released) = (pulled.clone(), released.clone());
            async move {
                if i > 0 {
                    let _ = released.wait_for(|r| *r).await;
                }
                pulled.fetch_add(1, Ordering::SeqCst);
                value(i)
            }
        })
    };
    let mut echo = client.stream::<String>(
        "methodStreaming",
        "dynamicEchoStream",
        NoArgs {},
        Inputs::new().values("stream", values),
    );
    assert_eq!(echo.next().await.unwrap().unwrap(), value(0));
    // No network: nothing is acknowledged, so the client keeps what it sends, up to the
    // bound, and then takes no more values from the input.
    server.proxy().set_down(true);
    server.proxy().cut_all();
    release.send_replace(true);
    let held = tokio::time::timeout(PATIENCE, async {
        let mut last = pulled.load(Ordering::SeqCst);
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = pulled.load(Ordering::SeqCst);
            if now == last {
                return now;
            }
            last = now;
        }
    })
    .await
    .expect("the client stops pulling");
    // The bound, one batch over it, and the queue between the input pumps and the socket
    // task (16 batches of 16): far from all 2,000.
    assert!(
        held <= 32 + 16 + 256 + 16,
        "{held} values pulled with 64 KiB to keep them"
    );
    // Back: nothing was dropped to make room.
    server.proxy().set_down(false);
    let mut rest = Vec::new();
    while let Some(echoed) = tokio::time::timeout(PATIENCE, echo.next()).await.unwrap() {
        rest.push(echoed.unwrap());
    }
    let expected: Vec<String> = (1..VALUES).map(value).collect();
    assert!(
        rest == expected,
        "{} values, expected {}",
        rest.len(),
        expected.len()
    );
}

#[tokio::test]
async fn a_user_revoked_during_the_gap_gets_their_call_ended_revoked_and_others_go_on() {
    let server = ticker_server(Config::default(), Arc::default()).await;
    let admin = bearer("7", "a1", &["admin"]);
    let client = Client::builder(&server.url())
        .auth_key(StaticAuthKey(admin))
        .build()
        .unwrap();
    let (tx, rx) = futures::channel::mpsc::unbounded::<i64>();
    let mut guarded = client.stream::<i64>(
        "authenticatedMethodStreaming",
        "intEchoStream",
        NoArgs {},
        Inputs::new().values("stream", rx),
    );
    tx.unbounded_send(1).unwrap();
    assert_eq!(guarded.next().await, Some(Ok(1)));
    let ticker = TickerClient::new(&client);
    let mut count = ticker.count(0, 100_000, 5);
    assert_eq!(count.next().await, Some(Ok(0)));
    server.proxy().set_down(true);
    server.proxy().cut_all();
    wait_until("the session is detached", || {
        server.stats().detached_connections == 1
    })
    .await;
    server
        .running()
        .server()
        .revoke_authentication("7", Revoked::User)
        .await
        .unwrap();
    server.proxy().set_down(false);
    let ended = tokio::time::timeout(PATIENCE, guarded.next())
        .await
        .unwrap();
    assert_eq!(ended, Some(Err(Error::Revoked)));
    // The call that needed no login goes on, from where it was.
    let next: Vec<i64> = count.take(3).map(Result::unwrap).collect().await;
    assert_eq!(next, vec![1, 2, 3]);
}

#[tokio::test]
async fn a_resume_with_another_users_key_ends_the_calls_that_required_login() {
    let server = ticker_server(Config::default(), Arc::default()).await;
    let key = Arc::new(std::sync::Mutex::new(bearer("7", "a1", &["admin"])));
    let provider = {
        let key = key.clone();
        RefreshingAuthKey::new(
            move || {
                let value = key.lock().unwrap().clone();
                async move { Some(value) }
            },
            || async { false },
        )
    };
    let client = Client::builder(&server.url())
        .auth_key(provider)
        .build()
        .unwrap();
    let (tx, rx) = futures::channel::mpsc::unbounded::<i64>();
    let mut guarded = client.stream::<i64>(
        "authenticatedMethodStreaming",
        "intEchoStream",
        NoArgs {},
        Inputs::new().values("stream", rx),
    );
    tx.unbounded_send(1).unwrap();
    assert_eq!(guarded.next().await, Some(Ok(1)));
    // Another user signs in on this client while the network is away.
    server.proxy().set_down(true);
    server.proxy().cut_all();
    *key.lock().unwrap() = bearer("8", "b1", &["admin"]);
    server.proxy().set_down(false);
    let ended = tokio::time::timeout(PATIENCE, guarded.next())
        .await
        .unwrap();
    assert_eq!(ended, Some(Err(Error::Revoked)));
}

#[tokio::test]
async fn without_resume_a_cut_ends_the_calls_and_the_server_keeps_nothing() {
    let server = ticker_server(Config::default(), Arc::default()).await;
    let config = ClientConfig::default().resume(false);
    let client = Client::with_config(&server.url(), config).unwrap();
    let ticker = TickerClient::new(&client);
    let mut count = ticker.count(0, 100_000, 5);
    assert_eq!(count.next().await, Some(Ok(0)));
    server.proxy().cut_all();
    let ended = loop {
        match tokio::time::timeout(PATIENCE, count.next()).await.unwrap() {
            Some(Ok(_)) => continue,
            other => break other,
        }
    };
    assert_eq!(ended, Some(Err(Error::ConnectionClosed)));
    server.wait_for_idle().await;
}

#[tokio::test]
async fn the_proxys_latency_holds_every_byte_back() {
    let server = ticker_server(Config::default(), Arc::default()).await;
    let client = Client::new(&server.url()).unwrap();
    let ticker = TickerClient::new(&client);
    // Connected first, so that only the call's round trip is timed.
    assert_eq!(ticker.count(0, 1, 0).collect::<Vec<_>>().await, vec![Ok(0)]);
    server.proxy().set_latency(Duration::from_millis(100));
    let started = tokio::time::Instant::now();
    assert_eq!(ticker.count(0, 1, 0).collect::<Vec<_>>().await, vec![Ok(0)]);
    // The open goes and its answer comes back, each held 100 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_flood_without_flow_control_does_not_wait_for_ever_on_acknowledgements() {
    // Without flow control the server holds its input when a method falls behind; on a
    // resumable connection the client's acknowledgements must still get through then, or
    // the method's output (which waits for them) and its input (which waits for the
    // method) wait for each other until the connection is closed as stuck.
    let server = ticker_server(Config::default(), Arc::default()).await;
    let client = Client::with_config(&server.url(), ClientConfig::default().window(None)).unwrap();
    const VALUES: usize = 20_000;
    let value = |i: usize| format!("{i:01024}");
    let values = stream::iter(0..VALUES).map(value);
    let echo = client.stream::<String>(
        "methodStreaming",
        "dynamicEchoStream",
        NoArgs {},
        Inputs::new().values("stream", values),
    );
    let echoed: Vec<String> =
        tokio::time::timeout(Duration::from_secs(60), echo.collect::<Vec<_>>())
            .await
            .expect("the echo went on")
            .into_iter()
            .map(Result::unwrap)
            .collect();
    assert_eq!(echoed.len(), VALUES);
    assert!(echoed.iter().enumerate().all(|(i, v)| *v == value(i)));
}
