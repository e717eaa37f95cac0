//! A peer that stops reading freezes its connection (the HTTP layer cannot write, so the
//! socket's actor is never polled: no ping, no pong timeout). It is dropped once it has
//! taken none of the server's bytes for the send timeout (two ping intervals by default),
//! on both paths: its slot, its calls and its legacy sessions are freed, its TCP is gone,
//! the drop is counted, and a client that reads is unaffected throughout.

use crate::support::*;
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streampod::client::LegacyClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The ping interval, and so the send timeout (twice it). A drop counts as the peer's when
/// the body went unpolled for three quarters of the send timeout; the kernel's timer starts
/// when the peer's window closes, and the server may fill its send buffer for a while after
/// that. With 300 ms, a loaded machine took 170 ms to fill it and the drop came 433 ms
/// after the last poll, under the 450 ms that count: the margin is a quarter of this.
const PING: Duration = Duration::from_millis(1000);

/// A raw client at `path` with a 4 KiB receive buffer, which it never reads.
async fn non_reading(server: &TestServer, path: &str) -> TcpStream {
    let addr = server.running.addr();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (status, tcp) = raw_handshake_on(tcp, addr, path).await;
    assert_eq!(status, "101");
    tcp
}

/// Waits until the server has reset `tcp`: once the peer reads what was buffered for it,
/// its window update meets a socket that is gone and is answered with a reset.
async fn assert_reset(mut tcp: impl AsyncReadExt + Unpin) {
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => panic!("the server kept the TCP connection"),
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
        }
    }
}

/// A client that reads: an `intEchoStream` call that echoes a value every few milliseconds
/// until `stop`, each within PATIENCE; returns how many it echoed.
fn reading_client(server: &TestServer, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<i64> {
    let url = server.url();
    tokio::spawn(async move {
        let mut raw = RawClient::connect_url(&url).await;
        raw.send(omsc("intEchoStream", &cid(1), no_args(), &["stream"]))
            .await;
        raw.recv().await.assert_open(&cid(1), "success");
        let mut echoed = 0;
        while !stop.load(Ordering::Relaxed) {
            raw.send(msm("intEchoStream", &cid(1), Some("stream"), int(echoed)))
                .await;
            assert_eq!(raw.recv().await.int(), echoed);
            echoed += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        echoed
    })
}

/// Waits until `cond` holds, at most the send timeout plus PATIENCE.
async fn within_the_bound(
    server: &TestServer,
    what: &str,
    cond: impl Fn(&streampod::Stats) -> bool,
) {
    let bound = server.server.config().send_timeout.expect("resolved");
    let deadline = Instant::now() + bound + PATIENCE;
    while !cond(&server.stats()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for: {what}: {:?}",
            server.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn method_stream_peers_that_stop_reading_are_dropped_within_the_send_timeout() {
    let server =
        TestServer::from_builder(conformance::server_builder().websocket_ping_interval(PING));
    assert_eq!(server.server.config().send_timeout, Some(PING * 2));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = reading_client(&server, stop.clone());
    server
        .wait_for_stats("the reading client's call", |s| s.open_calls == 1)
        .await;

    let mut peers: Vec<Box<dyn tokio::io::AsyncRead + Unpin + Send>> = Vec::new();
    let mut pushers = Vec::new();
    for n in 0..4u8 {
        let mut tcp = non_reading(&server, "/v1/websocket").await;
        if n % 2 == 0 {
            // A method that yields without end: the server writes until its buffers fill.
            let args = map(vec![("value", 1_000_000_000.into())]);
            let open = omsc("intStreamFromValue", &cid(n), args, &[]);
            tcp.write_all(&client_frame(2, &open)).await.unwrap();
            peers.push(Box::new(tcp));
        } else {
            // An echo the peer feeds until its own writes block, as the clients did.
            let open = omsc("intEchoStream", &cid(n), no_args(), &["stream"]);
            tcp.write_all(&client_frame(2, &open)).await.unwrap();
            let (read, mut write) = tcp.into_split();
            pushers.push(tokio::spawn(async move {
                for v in 0.. {
                    let value = msm("intEchoStream", &cid(n), Some("stream"), int(v));
                    if write.write_all(&client_frame(2, &value)).await.is_err() {
                        return;
                    }
                }
            }));
            peers.push(Box::new(read));
        }
    }
    server
        .wait_for_stats("every peer's call open", |s| s.open_calls == 5)
        .await;

    within_the_bound(&server, "the peers that stopped reading are gone", |s| {
        s.open_connections == 1 && s.open_calls == 1
    })
    .await;
    // The flooded peers froze their connections, and their drops are counted as such. An
    // echo peer may also have been closed with 1013 first (its method, unable to write,
    // took no input for a ping interval while the connection waited for it to).
    let dropped = server.stats().peers_not_reading;
    assert!((2..=4).contains(&dropped), "{dropped} drops counted");
    for tcp in peers {
        assert_reset(tcp).await;
    }
    stop.store(true, Ordering::Relaxed);
    let echoed = reader.await.expect("the reading client never failed");
    assert!(echoed > 0);
    for pusher in pushers {
        // Each pusher's writes fail once the server is gone: nothing blocks for ever.
        tokio::time::timeout(PATIENCE, pusher)
            .await
            .expect("the pusher's write failed")
            .unwrap();
    }
}

/// streampod mounted on an application's own `HttpServer`, with the hook the README shows.
struct OwnHttpServer {
    addr: std::net::SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl OwnHttpServer {
    fn start(server: streampod::Server) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let hook = server.on_connect_hook();
                let http = actix_web::HttpServer::new(move || {
                    let server = server.clone();
                    actix_web::App::new().configure(move |c| server.mount(c))
                })
                .workers(1)
                .disable_signals()
                .on_connect(hook)
                .listen(listener)
                .unwrap()
                .run();
                tx.send(http.handle()).unwrap();
                let _ = http.await;
            })
        });
        OwnHttpServer {
            addr,
            handle: rx.recv().unwrap(),
        }
    }
}

impl Drop for OwnHttpServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

#[tokio::test]
async fn legacy_peers_that_stop_reading_are_dropped_on_an_apps_own_http_server() {
    const MESSAGES: usize = 8_000;
    let message = |i: usize| format!("{i:08}{}", "x".repeat(1016));
    let server = conformance::server_builder()
        .websocket_ping_interval(PING)
        .build()
        .unwrap();
    let http = OwnHttpServer::start(server.clone());
    let sessions = || server.legacy_stats("broadcast").unwrap().sessions;
    let url = format!("http://{}", http.addr);
    let sender = LegacyClient::new(&url, None).unwrap();
    let reader = LegacyClient::new(&url, None).unwrap();
    sender.open_streaming_connection().await.unwrap();
    reader.open_streaming_connection().await.unwrap();
    let mut own = sender.endpoint("broadcast").stream();
    let mut others = reader.endpoint("broadcast").stream();
    let mut peers = Vec::new();
    for _ in 0..3 {
        let addr = http.addr;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let (status, tcp) =
            raw_handshake_on(socket.connect(addr).await.unwrap(), addr, "/websocket").await;
        assert_eq!(status, "101");
        peers.push(tcp);
    }
    wait_until("five sessions on the endpoint", || sessions() == 5).await;

    // The reader keeps up with everything, in order, while the peers freeze.
    let reading = tokio::spawn(async move {
        for i in 0..MESSAGES {
            let got = tokio::time::timeout(PATIENCE, others.next()).await;
            let got = got.expect("the reader keeps receiving").unwrap().unwrap();
            assert_eq!(got.decode::<String>().unwrap(), message(i));
        }
    });
    let endpoint = sender.endpoint("broadcast");
    for batch in 0..MESSAGES / 1000 {
        for i in batch * 1000..(batch + 1) * 1000 {
            endpoint.send(&message(i)).unwrap();
        }
        for _ in 0..1000 {
            let got = tokio::time::timeout(PATIENCE, own.next()).await;
            got.expect("the sender keeps receiving").unwrap().unwrap();
        }
    }
    reading.await.expect("the reader got every message");

    let bound = server.config().send_timeout.expect("resolved");
    let deadline = Instant::now() + bound + PATIENCE;
    while server.stats().open_connections != 2 || server.stats().peers_not_reading != 3 {
        assert!(
            Instant::now() < deadline,
            "the peers stayed: {:?}",
            server.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sessions(), 2, "their sessions are gone");
    for tcp in peers {
        assert_reset(tcp).await;
    }
}
