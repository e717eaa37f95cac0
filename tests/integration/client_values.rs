//! How the Rust client hands a call's values to its consumer: a read's worth at a time,
//! within the call's bound, and never holding one call's values back while it waits for
//! another's consumer.

use crate::support::*;
use futures::{SinkExt, StreamExt};
use streampod::client::{Client, ClientConfig, Inputs};
use streampod::protocol::{Message, OpenResponse, OpenResult, Target};
use streampod::{Dynamic, NoArgs};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Values the server sends the call that fills up: past the client's bound for a call
/// without flow control (256 unread).
const FLOOD: i64 = 600;

/// `full`'s values before `other`'s in the flood: as many as `full` may have queued.
const BEFORE_OTHER: i64 = 128;

/// A server that opens calls `full` and `other` without flow control and sends `full` its
/// value 0; once `go` fires, it sends, in one write, `full`'s values 1 to [`FLOOD`] with
/// one value (-1) for `other` among them.
async fn one_write_server(go: oneshot::Receiver<()>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let value = |target: &Target, n: i64| {
            let message = Message::value(target.clone(), Dynamic::new(&n).unwrap());
            WsMessage::Binary(message.encode())
        };
        let (mut full, mut other) = (None, None);
        while full.is_none() || other.is_none() {
            let Some(Ok(WsMessage::Binary(bytes))) = ws.next().await else {
                return;
            };
            let open = match Message::decode(&bytes) {
                Ok(Message::Ping) => {
                    ws.send(WsMessage::Binary(Message::Pong.encode()))
                        .await
                        .unwrap();
                    continue;
                }
                Ok(Message::OpenCall(open)) => open,
                _ => continue,
            };
            let answer = OpenResponse::new(
                open.cid,
                OpenResult::Success,
                open.endpoint.clone(),
                open.method.clone(),
            );
            ws.send(WsMessage::Binary(Message::OpenResponse(answer).encode()))
                .await
                .unwrap();
            let target = Target::new(open.endpoint.clone(), open.method.clone(), open.cid);
            match &*open.method {
                "full" => {
                    ws.send(value(&target, 0)).await.unwrap();
                    full = Some(target);
                }
                _ => other = Some(target),
            }
        }
        let (Some(full), Some(other), Ok(())) = (full, other, go.await) else {
            return;
        };
        // The client handles what it read in bursts of 64 frames and hands the values over
        // after each: `other`'s value comes in the burst where `full` overflows.
        for n in 1..FLOOD {
            if n == BEFORE_OTHER + 1 {
                ws.feed(value(&other, -1)).await.unwrap();
            }
            ws.feed(value(&full, n)).await.unwrap();
        }
        ws.flush().await.unwrap();
        // Served until the client goes.
        while let Some(Ok(_)) = ws.next().await {}
    });
    url
}

#[tokio::test]
async fn a_value_read_before_a_full_call_reaches_its_consumer_while_the_client_waits() {
    let (go, went) = oneshot::channel();
    let url = one_write_server(went).await;
    let config = ClientConfig::default().window(None).resume(false);
    let client = Client::with_config(&url, config).unwrap();
    let mut full = client.stream::<i64>(ENDPOINT, "full", NoArgs {}, Inputs::new());
    let mut other = client.stream::<i64>(ENDPOINT, "other", NoArgs {}, Inputs::new());
    // Both calls open (`other` in a task that drives its open and then waits for its
    // value); `full` is read once and then left unread.
    let other = tokio::spawn(async move { other.next().await });
    assert_eq!(full.next().await, Some(Ok(0)));
    // The flood: the client stops reading its socket while `full`'s consumer is behind,
    // with `other`'s value read before that.
    go.send(()).unwrap();
    let got = tokio::time::timeout(PATIENCE, other).await;
    assert_eq!(
        got.expect("the other call's value reaches its consumer")
            .unwrap(),
        Some(Ok(-1))
    );
    // Nothing of the full call is lost to its bound: the rest comes, in order, as it is read.
    for n in 1..FLOOD {
        let got = tokio::time::timeout(PATIENCE, full.next()).await;
        assert_eq!(got.expect("the full call goes on"), Some(Ok(n)));
    }
}
