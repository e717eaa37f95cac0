//! The server's side of resume (docs/PROTOCOL.md §11), with raw frames: a client that asks
//! (`?resume`) gets a token first; when its socket drops, its calls go on, and a new socket
//! that presents the token gets the frames it lacks and continues; a token that names no
//! session is refused with its reason.

use crate::support::*;
use rmpv::Value;
use std::time::Duration;
use streampod::Config;

const ECHO: &str = "intEchoStream";

fn rsr(token: &str, received: u64) -> Vec<u8> {
    frame(
        "rsr",
        Some(map(vec![
            ("tok", Value::from(token)),
            ("n", Value::from(received)),
        ])),
    )
}

fn ack(received: u64) -> Vec<u8> {
    frame("ack", Some(map(vec![("n", Value::from(received))])))
}

async fn resumable(server: &TestServer) -> RawClient {
    RawClient::connect_url(&format!("{}?resume", server.url())).await
}

/// The next frame that is not an `ack`.
async fn next_call_frame(raw: &mut RawClient) -> Frame {
    loop {
        let f = raw.recv().await;
        if f.kind != "ack" {
            return f;
        }
    }
}

/// Opens an echo on a resumable connection; returns the session's token.
async fn open_echo(raw: &mut RawClient) -> String {
    raw.send(omsc(ECHO, &cid(1), no_args(), &["stream"])).await;
    let rst = raw.recv().await;
    assert_eq!(rst.kind, "rst", "the token comes first: {rst:?}");
    assert_eq!(rst.get("n"), Some(&Value::from(0)));
    assert!(rst.get("win").and_then(Value::as_u64).is_some());
    let token = rst.str("tok").expect("a token").to_string();
    // 32 bytes, base64url.
    assert_eq!(token.len(), 43, "{token}");
    next_call_frame(raw).await.assert_open(&cid(1), "success");
    token
}

#[tokio::test]
async fn a_dropped_socket_resumes_its_calls_and_gets_what_it_lacked() {
    let server = TestServer::start();
    assert_eq!(
        server.server.config().resume_window,
        Duration::from_secs(30)
    );
    let mut first = resumable(&server).await;
    let token = open_echo(&mut first).await;
    for v in 1..=3 {
        first.send(msm(ECHO, &cid(1), Some("stream"), int(v))).await;
        assert_eq!(next_call_frame(&mut first).await.int(), v);
    }
    // The client's 4 call frames (omsc, 3 msm) and the server's 4 (omsr, 3 msm).
    first.drop_tcp();
    server
        .wait_for_stats("the session is detached", |s| {
            s.detached_connections == 1 && s.open_calls == 1
        })
        .await;
    // The call went on meanwhile: a slot is still held.
    assert_eq!(server.stats().open_connections, 0);

    // The new socket says it got only the omsr and the first echo.
    let mut second = resumable(&server).await;
    second.send(rsr(&token, 2)).await;
    let rst = second.recv().await;
    assert_eq!(rst.kind, "rst");
    assert_eq!(rst.str("tok"), Some(token.as_str()));
    assert_eq!(rst.get("n"), Some(&Value::from(4)), "the server got all 4");
    // What it lacked, again, in order.
    assert_eq!(second.recv().await.int(), 2);
    assert_eq!(second.recv().await.int(), 3);
    server
        .wait_for_stats("resumed", |s| {
            s.detached_connections == 0 && s.open_connections == 1
        })
        .await;
    // And the call goes on.
    second
        .send(msm(ECHO, &cid(1), Some("stream"), int(4)))
        .await;
    assert_eq!(next_call_frame(&mut second).await.int(), 4);
    second
        .send(cmsc(ECHO, &cid(1), Some("stream"), "done"))
        .await;
    next_call_frame(&mut second)
        .await
        .assert_close(&cid(1), None, "done");
    server
        .wait_for_stats("the call ended", |s| s.open_calls == 0)
        .await;
}

#[tokio::test]
async fn acknowledged_frames_are_not_replayed() {
    let server = TestServer::start();
    let mut first = resumable(&server).await;
    let token = open_echo(&mut first).await;
    first.send(msm(ECHO, &cid(1), Some("stream"), int(7))).await;
    assert_eq!(next_call_frame(&mut first).await.int(), 7);
    // The client acknowledges both of the server's frames, then drops.
    first.send(ack(2)).await;
    first.send(ping()).await;
    assert_eq!(first.recv().await.kind, "pong");
    first.drop_tcp();
    server
        .wait_for_stats("detached", |s| s.detached_connections == 1)
        .await;
    let mut second = resumable(&server).await;
    // Claiming fewer than it acknowledged: those frames are gone.
    second.send(rsr(&token, 1)).await;
    let refused = second.recv().await;
    assert_eq!(
        (refused.kind.as_str(), refused.str("why")),
        ("rsx", Some("closed"))
    );
    assert_eq!(second.expect_closed().await, Some(1008));
    server
        .wait_for_stats("the broken session ended", |s| {
            s.detached_connections == 0 && s.open_calls == 0 && s.open_connections == 0
        })
        .await;
}

#[tokio::test]
async fn a_second_socket_with_the_token_takes_the_session_from_the_first() {
    let server = TestServer::start();
    let mut first = resumable(&server).await;
    let token = open_echo(&mut first).await;
    let mut second = resumable(&server).await;
    second.send(rsr(&token, 1)).await;
    let rst = second.recv().await;
    assert_eq!(rst.kind, "rst");
    // The first socket is closed; the call is the second's.
    assert_eq!(first.expect_closed().await, Some(1008));
    second
        .send(msm(ECHO, &cid(1), Some("stream"), int(5)))
        .await;
    assert_eq!(next_call_frame(&mut second).await.int(), 5);
    assert_eq!(server.stats().open_calls, 1);
}

#[tokio::test]
async fn two_sockets_racing_with_one_token_leave_the_session_on_exactly_one() {
    let server = TestServer::start();
    let mut first = resumable(&server).await;
    let token = open_echo(&mut first).await;
    first.drop_tcp();
    server
        .wait_for_stats("detached", |s| s.detached_connections == 1)
        .await;
    // Both present the token at once.
    let (mut a, mut b) = (resumable(&server).await, resumable(&server).await);
    a.send(rsr(&token, 1)).await;
    b.send(rsr(&token, 1)).await;
    // Each gets `rst` (and then the other takes the session over: closed with 1008), or
    // `rsx` and a close; exactly one keeps it.
    let mut kept = Vec::new();
    for raw in [&mut a, &mut b] {
        let first = raw.recv().await;
        assert!(first.kind == "rst" || first.kind == "rsx", "{first:?}");
        kept.push(first.kind == "rst");
    }
    let (a_kept, b_kept) = (kept[0], kept[1]);
    assert!(a_kept || b_kept, "neither resumed");
    // Whoever got `rst` last holds it: the loser is closed either way.
    let (mut holder, mut loser) = if b_kept { (b, a) } else { (a, b) };
    assert_eq!(loser.expect_closed().await, Some(1008));
    holder
        .send(msm(ECHO, &cid(1), Some("stream"), int(5)))
        .await;
    assert_eq!(next_call_frame(&mut holder).await.int(), 5);
    assert_eq!(server.stats().open_calls, 1);
    assert_eq!(server.stats().detached_connections, 0);
}

#[tokio::test]
async fn tokens_that_name_no_session_are_refused_with_their_reason() {
    let server = TestServer::from_builder(
        conformance::server_builder()
            .config(Config::default().resume_window(Duration::from_millis(300))),
    );
    // Not a token at all.
    let mut raw = resumable(&server).await;
    raw.send(rsr("nonsense", 0)).await;
    let refused = raw.recv().await;
    assert_eq!(
        (refused.kind.as_str(), refused.str("why")),
        ("rsx", Some("unknown"))
    );
    assert_eq!(raw.expect_closed().await, Some(1008));

    // A token of another node: its first 8 bytes are not this server's.
    let mut raw = resumable(&server).await;
    let token = open_echo(&mut raw).await;
    let mut bytes = base64_decode(&token);
    bytes[0] ^= 0xff;
    let mut other = resumable(&server).await;
    other.send(rsr(&base64_encode(&bytes), 0)).await;
    assert_eq!(other.recv().await.str("why"), Some("elsewhere"));

    // The same token after its window ran out: expired, and everything released.
    raw.drop_tcp();
    server
        .wait_for_stats("detached", |s| s.detached_connections == 1)
        .await;
    server
        .wait_for_stats("expired and released", |s| {
            s.detached_connections == 0 && s.open_calls == 0 && s.open_connections == 0
        })
        .await;
    let mut late = resumable(&server).await;
    late.send(rsr(&token, 0)).await;
    assert_eq!(late.recv().await.str("why"), Some("expired"));

    // A session its client closed: closed.
    let mut closing = resumable(&server).await;
    let token = open_echo(&mut closing).await;
    closing.close().await;
    server.wait_for_stats("closed", |s| s.open_calls == 0).await;
    let mut after = resumable(&server).await;
    after.send(rsr(&token, 0)).await;
    assert_eq!(after.recv().await.str("why"), Some("closed"));
}

#[tokio::test]
async fn a_client_that_does_not_ask_sees_nothing_new() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    raw.send(omsc(ECHO, &cid(1), no_args(), &["stream"])).await;
    raw.recv().await.assert_open(&cid(1), "success");
    // No token, no acks; a resume on it is refused as off.
    for v in 0..40 {
        raw.send(msm(ECHO, &cid(1), Some("stream"), int(v))).await;
        assert_eq!(raw.recv().await.int(), v);
    }
    raw.send(rsr("x", 0)).await;
    assert_eq!(raw.recv().await.str("why"), Some("off"));
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
