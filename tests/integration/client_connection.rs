//! The client's one shared socket: lazy connect, handshake timeout, sharing, idle timeout,
//! closing when idle, and failures (docs/PROTOCOL.md §5;
//! Serverpod's method_stream_manager_connection_test).

use crate::support::*;
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streampod::client::{CallStream, Client, ClientConfig, ConnectionState, Error, Inputs};
use streampod::protocol::{Message, OpenResponse, OpenResult, ResumeRefusal};
use streampod::NoArgs;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn fast(connect_ms: u64, ping_ms: u64, idle_ms: u64) -> ClientConfig {
    ClientConfig::default()
        .connect_timeout(Duration::from_millis(connect_ms))
        .ping_interval(Duration::from_millis(ping_ms))
        .idle_timeout(Duration::from_millis(idle_ms))
}

/// Opens an `intEchoStream` call and proves it open with one echoed value.
async fn open_echo(c: &Client) -> (mpsc::UnboundedSender<i64>, CallStream<i64>) {
    let (tx, rx) = mpsc::unbounded::<i64>();
    let mut call = c.stream::<i64>(
        ENDPOINT,
        "intEchoStream",
        NoArgs {},
        Inputs::new().values("stream", rx),
    );
    tx.unbounded_send(1).unwrap();
    assert_eq!(call.next().await, Some(Ok(1)));
    (tx, call)
}

/// A WebSocket server that counts the `ping`s it receives and answers only as `reply` says:
/// it answers the first `ping` and every `omsc` (with success) while `reply` is true.
async fn fake_server(reply: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let pings = Arc::new(AtomicUsize::new(0));
    let counter = pings.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let mut answered_ping = false;
                while let Some(Ok(WsMessage::Binary(bytes))) = ws.next().await {
                    match Message::decode(&bytes) {
                        Ok(Message::Ping) => {
                            counter.fetch_add(1, Ordering::SeqCst);
                            if reply && !answered_ping {
                                answered_ping = true;
                                let _ = ws.send(WsMessage::Binary(Message::Pong.encode())).await;
                            }
                        }
                        Ok(Message::OpenCall(open)) if reply => {
                            let answer = Message::OpenResponse(OpenResponse::new(
                                open.cid,
                                OpenResult::Success,
                                open.endpoint,
                                open.method,
                            ));
                            let _ = ws.send(WsMessage::Binary(answer.encode())).await;
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (url, pings)
}

#[tokio::test]
async fn no_server_is_a_connect_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
    let err = c
        .call::<i64>(ENDPOINT, "simpleStream", NoArgs {}, Inputs::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConnectFailed { .. }), "{err:?}");
    // The cause is kept: the refused TCP connection, as an I/O error.
    let mut cause = std::error::Error::source(&err);
    let mut io = None;
    while let Some(e) = cause {
        if let Some(found) = e.downcast_ref::<std::io::Error>() {
            io = Some(found.kind());
        }
        cause = e.source();
    }
    assert_eq!(io, Some(std::io::ErrorKind::ConnectionRefused), "{err:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_and_concurrent_opens_share_the_attempt() {
    let (url, pings) = fake_server(false).await;
    let c = Client::with_config(&url, fast(100, 20_000, 40_000)).unwrap();
    let calls = (0..5).map(|_| c.call::<i64>(ENDPOINT, "simpleStream", NoArgs {}, Inputs::new()));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result, Err(Error::ConnectTimedOut));
    }
    wait_until("one ping for the shared attempt", || {
        pings.load(Ordering::SeqCst) == 1
    })
    .await;
    // A later call makes a new attempt.
    let again = c
        .call::<i64>(ENDPOINT, "simpleStream", NoArgs {}, Inputs::new())
        .await;
    assert_eq!(again, Err(Error::ConnectTimedOut));
    wait_until("a second ping", || pings.load(Ordering::SeqCst) == 2).await;
}

#[tokio::test]
async fn a_lazily_opened_stream_does_not_block_other_calls_while_unpolled() {
    // A stream polled once in a select!, then left while another call runs, must not hold
    // up that call (it did, while the connect held a lock across the caller's await).
    let server = TestServer::start();
    let c = Client::new(&server.http_url()).unwrap();
    let mut echo = c.stream::<i64>(ENDPOINT, "simpleStream", NoArgs {}, Inputs::new());
    tokio::select! {
        _ = echo.next() => {}
        _ = tokio::task::yield_now() => {}
    }
    let inputs = Inputs::new().values("stream", futures::stream::iter([4i64]));
    let other = tokio::time::timeout(
        PATIENCE,
        c.call::<i64>(ENDPOINT, "intReturnFromStream", NoArgs {}, inputs),
    )
    .await
    .expect("not blocked");
    assert_eq!(other, Ok(4));
}

#[tokio::test]
async fn concurrent_first_calls_share_one_socket() {
    let server = TestServer::start();
    let c = Client::new(&server.http_url()).unwrap();
    let mut senders = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..5 {
        let (tx, rx) = mpsc::unbounded::<i64>();
        senders.push(tx);
        calls.push(c.stream::<i64>(
            ENDPOINT,
            "intEchoStream",
            NoArgs {},
            Inputs::new().values("stream", rx),
        ));
    }
    for (tx, call) in senders.iter().zip(calls.iter_mut()) {
        tx.unbounded_send(7).unwrap();
        assert_eq!(call.next().await, Some(Ok(7)));
    }
    let s = server.stats();
    assert_eq!((s.open_connections, s.open_calls), (1, 5));
    drop(calls);
    server
        .wait_for_stats("socket closed once no call is left", |s| {
            s.open_connections == 0 && s.open_calls == 0
        })
        .await;
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_call_and_closes_the_idle_socket() {
    let server = TestServer::start();
    let c = Client::new(&server.http_url()).unwrap();
    let (_tx, call) = open_echo(&c).await;
    drop(call);
    server
        .wait_for_stats("cancelled and closed", |s| {
            s.calls_cancelled == 1 && s.open_calls == 0 && s.open_connections == 0
        })
        .await;
}

#[tokio::test]
async fn a_silent_connection_fails_with_idle_timeout() {
    let (url, _) = fake_server(true).await;
    let c = Client::with_config(&url, fast(1000, 20, 100)).unwrap();
    let mut call = c.stream::<i64>(ENDPOINT, "simpleStream", NoArgs {}, Inputs::new());
    let got = tokio::time::timeout(PATIENCE, call.next()).await.unwrap();
    assert_eq!(got, Some(Err(Error::IdleTimeout)));
}

#[tokio::test]
async fn pongs_keep_an_active_connection_alive() {
    let server = TestServer::start();
    let c = Client::with_config(&server.http_url(), fast(1000, 20, 200)).unwrap();
    // One second without a value, five idle timeouts long.
    let got = delayed_answer(&c, 1).await;
    assert_eq!(got, Ok(42));
}

#[tokio::test]
async fn a_server_going_away_fails_open_calls_and_a_restarted_one_is_reached_again() {
    let server = TestServer::start();
    let addr = server.running.addr();
    // Without resume: the socket's end is the calls' end (with it, see the next test).
    let config = ClientConfig::default().resume(false);
    let c = Client::with_config(&server.http_url(), config).unwrap();
    let (_tx, mut call) = open_echo(&c).await;
    // Stopped and waited for, so that its port is free again (dropping it would not wait).
    server.running.stop().await;
    let got = tokio::time::timeout(PATIENCE, call.next()).await.unwrap();
    assert_eq!(got, Some(Err(Error::ConnectionClosed)));
    // A new server on the same port: the next call opens a new socket.
    let again = crate::support::method_streaming::endpoint(Default::default());
    let restarted = streampod::Server::builder()
        .endpoint(again)
        .build()
        .unwrap();
    let _running = restarted
        .spawn(std::net::TcpListener::bind(addr).unwrap())
        .unwrap();
    let got = c
        .call::<i64>(
            ENDPOINT,
            "intReturnFromStream",
            NoArgs {},
            Inputs::new().values("stream", futures::stream::iter([5i64])),
        )
        .await;
    assert_eq!(got, Ok(5));
}

#[tokio::test]
async fn a_crashed_and_restarted_server_refuses_the_resume_and_open_calls_fail_with_resume_failed()
{
    let server = TestServer::start();
    let addr = server.running.addr();
    let c = Client::new(&server.http_url()).unwrap();
    let mut state = c.state();
    let (_tx, mut call) = open_echo(&c).await;
    // Stopped without a close, as a crash: the client takes it for a lost network.
    server.running.stop().await;
    tokio::time::timeout(
        PATIENCE,
        state.wait_for(|s| matches!(s, ConnectionState::Reconnecting { .. })),
    )
    .await
    .expect("the client reconnects")
    .unwrap();
    // Another server (another node) on the same port: the token is not its own.
    let again = crate::support::method_streaming::endpoint(Default::default());
    let restarted = streampod::Server::builder()
        .endpoint(again)
        .build()
        .unwrap();
    let _running = restarted
        .spawn(std::net::TcpListener::bind(addr).unwrap())
        .unwrap();
    let got = tokio::time::timeout(PATIENCE, call.next()).await.unwrap();
    assert!(
        matches!(
            got,
            Some(Err(Error::ResumeFailed {
                reason: ResumeRefusal::Elsewhere,
                ..
            }))
        ),
        "{got:?}"
    );
    tokio::time::timeout(
        PATIENCE,
        state.wait_for(|s| *s == ConnectionState::Disconnected),
    )
    .await
    .expect("the client says it is disconnected")
    .unwrap();
    // The next call opens a session on the new server.
    let got = c
        .call::<i64>(
            ENDPOINT,
            "intReturnFromStream",
            NoArgs {},
            Inputs::new().values("stream", futures::stream::iter([5i64])),
        )
        .await;
    assert_eq!(got, Ok(5));
    assert_eq!(*state.borrow(), ConnectionState::Connected);
}

#[tokio::test]
async fn closing_the_client_fails_open_calls_and_later_calls_reconnect() {
    let server = TestServer::start();
    let c = Client::new(&server.http_url()).unwrap();
    let (_tx, mut call) = open_echo(&c).await;
    c.close().await;
    assert_eq!(call.next().await, Some(Err(Error::ConnectionClosed)));
    let got = c
        .call::<i64>(
            ENDPOINT,
            "simpleStreamWithParameter",
            Value1 { value: 1 },
            Inputs::new(),
        )
        .await;
    assert_eq!(got, Ok(0));
}

#[derive(serde::Serialize)]
struct Value1 {
    value: i64,
}

#[tokio::test]
async fn an_input_the_method_lets_go_of_is_no_longer_pulled() {
    let server = TestServer::start();
    let c = Client::new(&server.http_url()).unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let flag = Flag(dropped.clone());
    // An endless input; the method reads only its first value.
    let endless = futures::stream::unfold(flag, |flag| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Some((3i64, flag))
    });
    let got = c
        .call::<i64>(
            ENDPOINT,
            "intReturnFromStream",
            NoArgs {},
            Inputs::new().values("stream", endless),
        )
        .await;
    assert_eq!(got, Ok(3));
    wait_until("the client dropped the endless input", || {
        dropped.load(Ordering::SeqCst)
    })
    .await;
}

#[tokio::test]
async fn closing_the_client_while_an_input_floods_does_not_hang() {
    let server = TestServer::start();
    let c = Client::new(&server.http_url()).unwrap();
    let flood = futures::stream::iter(0i64..).then(|v| async move {
        tokio::task::yield_now().await;
        v
    });
    let mut call = c.stream::<i64>(
        ENDPOINT,
        "intEchoStream",
        NoArgs {},
        Inputs::new().values("stream", flood),
    );
    for expected in 0..10 {
        assert_eq!(call.next().await, Some(Ok(expected)));
    }
    c.close().await;
    let rest = tokio::time::timeout(PATIENCE, async {
        let mut last = None;
        while let Some(item) = call.next().await {
            last = Some(item);
        }
        last
    })
    .await
    .expect("the call ended");
    assert_eq!(rest, Some(Err(Error::ConnectionClosed)));
    server
        .wait_for_stats("server side torn down", |s| s.open_calls == 0)
        .await;
}
