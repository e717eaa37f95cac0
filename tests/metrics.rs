//! The metrics example's `/metrics` after a scripted session: counts, not timings. A test
//! binary of its own, because a recorder is global to its process.

#[path = "../examples/support/metrics_app.rs"]
mod metrics_app;

use futures::{stream, SinkExt, StreamExt};
use std::net::TcpListener;
use std::time::{Duration, Instant};
use streampod::client::{Client, Error, Inputs};
use streampod::NoArgs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// `GET /metrics`, the body.
async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// The value of the sample `name{labels}` (labels as the exporter writes them), if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Scrapes until `series` has `value`, for at most five seconds.
async fn wait_for(addr: std::net::SocketAddr, series: &str, value: f64) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = scrape(addr).await;
        if sample(&text, series) == Some(value) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never became {value}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn metrics_count_a_scripted_session() {
    let handle = metrics_app::install_recorder();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let http = metrics_app::serve(metrics_app::server(), handle, listener).unwrap();
    let running = http.handle();
    std::thread::spawn(move || actix_web::rt::System::new().block_on(http));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let client = Client::new(&format!("http://{addr}")).unwrap();
            // Two echoes that end by themselves: 3 values each way, each.
            for _ in 0..2 {
                let inputs = Inputs::new().values("stream", stream::iter([1i64, 2, 3]));
                let echoed: Vec<_> = client
                    .stream::<i64>("metrics", "echo", NoArgs {}, inputs)
                    .collect()
                    .await;
                assert_eq!(echoed.len(), 3);
            }
            // One the client cancels after its first value.
            let inputs =
                Inputs::new().values("stream", stream::iter([7i64]).chain(stream::pending()));
            let mut cancelled = client.stream::<i64>("metrics", "echo", NoArgs {}, inputs);
            assert_eq!(cancelled.next().await, Some(Ok(7)));
            drop(cancelled);
            // An open of a method that does not exist: refused, no call.
            let refused = client
                .stream::<i64>("metrics", "nope", NoArgs {}, Inputs::new())
                .next()
                .await;
            assert!(matches!(
                refused,
                Some(Err(Error::OpenFailed { code: 404, .. }))
            ));
            // A frame that is not MessagePack: brm, and a close with 1002.
            let (mut raw, _) =
                tokio_tungstenite::connect_async(format!("ws://{addr}/v1/websocket"))
                    .await
                    .unwrap();
            raw.send(WsMessage::Binary(vec![0xc1])).await.unwrap();
            while raw.next().await.is_some() {}

            let call = r#"endpoint="metrics",method="echo""#;
            let text = wait_for(
                addr,
                &format!("streampod_calls_ended_total{{{call},reason=\"cancelled\"}}"),
                1.0,
            )
            .await;
            let value = |series: &str| sample(&text, series);
            assert_eq!(
                value(&format!(
                    "streampod_calls_ended_total{{{call},reason=\"done\"}}"
                )),
                Some(2.0)
            );
            assert_eq!(value(&format!("streampod_calls_open{{{call}}}")), Some(0.0));
            assert_eq!(
                value(&format!("streampod_values_sent_total{{{call}}}")),
                Some(7.0)
            );
            assert_eq!(
                value(&format!("streampod_values_received_total{{{call}}}")),
                Some(7.0)
            );
            assert_eq!(
                value(&format!("streampod_call_duration_seconds_count{{{call}}}")),
                Some(3.0)
            );
            assert_eq!(
                value(&format!("streampod_open_duration_seconds_count{{{call}}}")),
                Some(3.0)
            );
            assert_eq!(
                value("streampod_protocol_errors_total{kind=\"not_msgpack\"}"),
                Some(1.0)
            );
            assert_eq!(value("streampod_closes_total{code=\"1002\"}"), Some(1.0));
            // Bytes both ways: at least the seven values' frames.
            let path = "{path=\"/v1/websocket\"}";
            for bytes in [
                "streampod_sent_bytes_total",
                "streampod_received_bytes_total",
            ] {
                let n = value(&format!("{bytes}{path}")).unwrap_or(0.0);
                assert!(n > 7.0 * 60.0, "{bytes}: {n}");
            }
            // A legacy session with its user object, and then without.
            let legacy =
                streampod::client::LegacyClient::new(&format!("http://{addr}"), None).unwrap();
            legacy.open_streaming_connection().await.unwrap();
            let counting = legacy.endpoint("counting");
            let mut answers = counting.stream();
            counting.send(&1i64).unwrap();
            assert_eq!(
                answers.next().await.unwrap().unwrap().decode::<i64>(),
                Ok(1)
            );
            let sessions = "streampod_legacy_sessions{endpoint=\"counting\"}";
            let objects = "streampod_legacy_user_objects{endpoint=\"counting\"}";
            let text = wait_for(addr, objects, 1.0).await;
            assert_eq!(sample(&text, sessions), Some(1.0));
            legacy.close_streaming_connection().await;
            let text = wait_for(addr, sessions, 0.0).await;
            assert_eq!(sample(&text, objects), Some(0.0));
            // No series for the method that does not exist: labels come from the server.
            assert!(!text.contains("method=\"nope\""), "{text}");
            // Both sockets gone: the gauge is back to zero.
            drop(client);
            wait_for(
                addr,
                "streampod_connections_open{path=\"/v1/websocket\"}",
                0.0,
            )
            .await;
        });
    futures::executor::block_on(running.stop(false));
}
