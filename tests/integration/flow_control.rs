//! Per-call flow control (docs/PROTOCOL.md "Flow control"): a call opened with `fc` gets
//! no more return values than its client granted, grants its client credit on each input
//! stream and gives it back as the method takes values, and a stalled call never stops the
//! other calls on its connection. On both wires, with raw frames and with the Rust client.
//! A call opened without `fc` behaves as before: `limits_and_flow.rs` shows its method
//! stopping the connection's reads and the close with 1013.

use crate::support::conformance::server_builder;
use crate::support::*;
use futures::{stream, StreamExt};
use serde_json::{json, Value as Json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streampod::client::{ClientConfig, Inputs};
use streampod::protocol::MAX_CREDIT;
use streampod::{Config, Encoding, Endpoint, InputStream, NoArgs, StreamError};
use tokio::sync::Notify;

/// The input window of the servers here: small, so that tests fill it quickly.
const WINDOW: u64 = 8;

/// The arguments of `flow.count`.
#[derive(serde::Deserialize)]
struct CountArgs {
    n: i64,
    #[serde(default)]
    fail: bool,
}

/// A test's own methods, and what they let the test see.
#[derive(Clone, Default)]
struct Probe {
    /// Values `produce` has yielded: how often the server pulled it.
    produced: Arc<AtomicU64>,
    /// Lets `gated` start reading its input.
    open_gate: Arc<Notify>,
}

impl Probe {
    fn endpoint(&self) -> Endpoint {
        let produced = self.produced.clone();
        let gate = self.open_gate.clone();
        Endpoint::new("flow")
            // 0, 1, 2, … for ever, as fast as it is pulled.
            .stream("produce", [], move |_, _: NoArgs, ()| {
                let produced = produced.clone();
                stream::iter(0i64..).map(move |i| {
                    produced.fetch_add(1, Ordering::SeqCst);
                    Ok(i)
                })
            })
            // 0, 1, …, n − 1, then the end; or, with `fail`, an error after them.
            .stream("count", [], |_, args: CountArgs, ()| {
                stream::iter(0..args.n).map(Ok).chain(stream::iter(
                    args.fail
                        .then(|| Err(StreamError::failed("failed after its values"))),
                ))
            })
            // Reads nothing until the gate opens, then yields every value of its input and
            // -1 for an error item (and ends there).
            .stream(
                "gated",
                ["stream"],
                move |_, _: NoArgs, (input,): (InputStream<i64>,)| {
                    let gate = gate.clone();
                    stream::once(async move {
                        gate.notified().await;
                        input
                    })
                    .flatten()
                    .scan(false, |failed, item| {
                        let out = (!*failed).then(|| match item {
                            Ok(v) => Ok(v),
                            Err(_) => {
                                *failed = true;
                                Ok(-1)
                            }
                        });
                        futures::future::ready(out)
                    })
                },
            )
    }

    fn server(&self) -> TestServer {
        TestServer::from_builder(
            server_builder()
                .endpoint(self.endpoint())
                .config(Config::default().input_window(WINDOW as u32))
                .websocket_ping_interval(Duration::from_millis(400)),
        )
    }
}

wire_test!(async fn return_values_stop_at_the_credit_and_a_grant_releases_exactly_that_many(wire) {
    let probe = Probe::default();
    let server = probe.server();
    let mut c = EitherWire::connect(&server, wire).await;
    c.open("flow", "produce", &cid(1), &[], Some(4)).await;
    let (kind, omsr) = c.recv().await;
    assert_eq!((kind.as_str(), omsr["res"].as_str()), ("omsr", Some("success")));
    assert_eq!(omsr["fc"], Json::from(WINDOW), "the server grants its input window");
    let mut values = Vec::new();
    while values.len() < 4 {
        let (kind, data) = c.recv().await;
        assert_eq!(kind, "msm");
        values.push(value_of(&data));
    }
    assert_eq!(values, [0, 1, 2, 3]);
    // Nothing more comes, and the never-ending method is pulled one value ahead, no more.
    assert!(c.until_pong().await.is_empty());
    assert_eq!(probe.produced.load(Ordering::SeqCst), 5);
    c.credit("flow", "produce", &cid(1), 10.into()).await;
    for expected in 4..14 {
        let (kind, data) = c.recv().await;
        assert_eq!((kind.as_str(), value_of(&data)), ("msm", expected));
    }
    assert!(c.until_pong().await.is_empty());
    assert_eq!(probe.produced.load(Ordering::SeqCst), 15);
    // A cancel needs no credit.
    c.send("cmsc", json!({"en": "flow", "m": "produce", "cid": cid(1), "cr": "done"}))
        .await;
    let (kind, data) = c.recv().await;
    assert_eq!((kind.as_str(), data["cr"].as_str()), ("cmsc", Some("done")));
    server
        .wait_for_stats("the call ended", |s| s.open_calls == 0)
        .await;
});

/// Frames of call `cid` up to and with its final `cmsc` (one without `p`), each within
/// PATIENCE: a call whose end waits for credit fails here.
async fn until_the_end(c: &mut EitherWire, cid: &str) -> Vec<(String, Json)> {
    let mut frames = Vec::new();
    loop {
        let (kind, data) = c.recv().await;
        assert_eq!(data["cid"].as_str(), Some(cid), "{kind} {data}");
        let last = kind == "cmsc" && data.get("p").is_none_or(Json::is_null);
        frames.push((kind, data));
        if last {
            return frames;
        }
    }
}

wire_test!(async fn a_calls_end_needs_no_credit(wire) {
    let probe = Probe::default();
    let server = probe.server();
    let mut c = EitherWire::connect(&server, wire).await;
    for window in [1u64, 2] {
        // A Future: its result takes the last credit, and its end follows at once.
        let call = cid(window as u8);
        c.open(ENDPOINT, "intReturnFromStream", &call, &["stream"], Some(window)).await;
        let (kind, omsr) = c.recv().await;
        assert_eq!((kind.as_str(), omsr["res"].as_str()), ("omsr", Some("success")));
        c.value(ENDPOINT, "intReturnFromStream", &call, "stream", 7).await;
        let frames = until_the_end(&mut c, &call).await;
        let values: Vec<i64> = frames.iter().filter(|f| f.0 == "msm").map(|f| value_of(&f.1)).collect();
        assert_eq!(values, [7]);
        assert_eq!(frames.last().unwrap().1["cr"].as_str(), Some("done"));

        // A stream of exactly `window` values, then its end; then one that fails after them.
        for (n, fail) in [(window, false), (window, true)] {
            let call = cid(10 * window as u8 + fail as u8);
            let args = json!({"n": n, "fail": fail});
            c.open_with("flow", "count", &call, args, &[], Some(window)).await;
            let (kind, omsr) = c.recv().await;
            assert_eq!((kind.as_str(), omsr["res"].as_str()), ("omsr", Some("success")));
            let frames = until_the_end(&mut c, &call).await;
            let values: Vec<i64> = frames.iter().filter(|f| f.0 == "msm").map(|f| value_of(&f.1)).collect();
            assert_eq!(values, (0..n as i64).collect::<Vec<_>>());
            let reason = if fail { "error" } else { "done" };
            assert_eq!(frames.last().unwrap().1["cr"].as_str(), Some(reason));
        }
    }
    server.wait_for_stats("every call ended", |s| s.open_calls == 0).await;
});

wire_test!(async fn the_rust_client_delivers_an_end_that_arrived_at_zero_credit(wire) {
    let probe = Probe::default();
    let server = probe.server();
    for window in [1u32, 2] {
        let client = streampod::client::Client::builder(&server.http_url())
            .config(ClientConfig::default().encoding(wire).window(Some(window)))
            .build()
            .unwrap();
        for fail in [false, true] {
            #[derive(serde::Serialize)]
            struct Count {
                n: i64,
                fail: bool,
            }
            let n = i64::from(window) + 1;
            let mut values = client.stream::<i64>("flow", "count", Count { n, fail }, Inputs::new());
            // The first value opens the call; the rest, and the end, arrive while the
            // consumer takes nothing (the client's window full).
            assert_eq!(values.next().await, Some(Ok(0)));
            server.wait_for_stats("the server's call ended", |s| s.open_calls == 0).await;
            let rest: Vec<_> = values.collect().await;
            let mut expected: Vec<_> = (1..n).map(Ok).collect();
            if fail {
                expected.push(Err(streampod::client::Error::ClosedWithError));
            }
            assert_eq!(rest, expected, "window {window}");
        }
    }
});

wire_test!(async fn a_stalled_input_leaves_the_other_calls_and_the_connection_alone(wire) {
    let probe = Probe::default();
    let server = probe.server();
    let mut c = EitherWire::connect(&server, wire).await;
    // A: its method takes nothing until the gate opens. B: an echo.
    c.open("flow", "gated", &cid(1), &["stream"], Some(100)).await;
    let (_, omsr) = c.recv().await;
    assert_eq!(omsr["fc"], Json::from(WINDOW));
    for v in 0..WINDOW as i64 {
        c.value("flow", "gated", &cid(1), "stream", v).await;
    }
    let echo = "intEchoStream";
    c.open(ENDPOINT, echo, &cid(2), &["stream"], Some(MAX_CREDIT.into()))
        .await;
    assert_eq!(c.recv().await.1["res"], "success");
    // Echoes go on for three ping intervals: were the connection still waiting for A, it
    // would neither echo nor answer pings, and would be closed with 1013 after one.
    let started = Instant::now();
    let mut v = 0;
    while started.elapsed() < Duration::from_millis(1_200) {
        c.value(ENDPOINT, echo, &cid(2), "stream", v).await;
        loop {
            let (kind, data) = c.recv().await;
            if kind == "msm" {
                assert_eq!(value_of(&data), v);
                break;
            }
            // The echo's input credit comes back as it takes values.
            assert_eq!(kind, "crd", "{data}");
        }
        v += 1;
        assert!(server.stats().queued_inputs <= WINDOW as usize);
    }
    assert_eq!(server.stats().queued_inputs, WINDOW as usize);
    c.until_pong().await;
    // One value past A's credit fails A's input alone.
    c.value("flow", "gated", &cid(1), "stream", 99).await;
    let (kind, data) = c.recv().await;
    assert_eq!(kind, "cmsc");
    assert_eq!(
        (data["cid"].as_str(), data["p"].as_str(), data["cr"].as_str()),
        (Some(cid(1).as_str()), Some("stream"), Some("error"))
    );
    // A's method gets what was within the credit, then the error, and ends normally.
    probe.open_gate.notify_one();
    let mut got = Vec::new();
    loop {
        let (kind, data) = c.recv().await;
        match kind.as_str() {
            "msm" => got.push(value_of(&data)),
            "cmsc" => {
                assert_eq!((data["p"].as_str(), data["cr"].as_str()), (None, Some("done")));
                break;
            }
            other => assert_eq!(other, "crd"),
        }
    }
    let mut expected: Vec<i64> = (0..WINDOW as i64).collect();
    expected.push(-1);
    assert_eq!(got, expected);
    // B is still open and still echoes.
    c.value(ENDPOINT, echo, &cid(2), "stream", 7).await;
    loop {
        let (kind, data) = c.recv().await;
        if kind == "msm" {
            assert_eq!(value_of(&data), 7);
            break;
        }
    }
    assert_eq!(server.stats().open_connections, 1);
});

wire_test!(async fn input_credit_comes_back_in_batches_as_the_method_takes_values(wire) {
    let server = Probe::default().server();
    let mut c = EitherWire::connect(&server, wire).await;
    let echo = "intEchoStream";
    c.open(ENDPOINT, echo, &cid(1), &["stream"], Some(1_000)).await;
    assert_eq!(c.recv().await.1["fc"], Json::from(WINDOW));
    // Four windows' worth, each sent only once credit for it has come back.
    let mut credit = WINDOW;
    let (mut sent, mut echoed, mut crd_frames) = (0i64, 0i64, 0);
    while echoed < 4 * WINDOW as i64 {
        while credit > 0 && sent < 4 * WINDOW as i64 {
            c.value(ENDPOINT, echo, &cid(1), "stream", sent).await;
            sent += 1;
            credit -= 1;
        }
        let (kind, data) = c.recv().await;
        match kind.as_str() {
            "msm" => {
                assert_eq!(value_of(&data), echoed);
                echoed += 1;
            }
            "crd" => {
                assert_eq!(data["p"], "stream");
                assert_eq!(data["n"], Json::from(WINDOW / 2), "half a window at a time");
                credit += WINDOW / 2;
                crd_frames += 1;
            }
            other => panic!("unexpected {other}: {data}"),
        }
    }
    // Every value taken is granted back: the last grant may follow the last echo.
    while crd_frames < 4 * 2 {
        let (kind, data) = c.recv().await;
        assert_eq!((kind.as_str(), &data["n"]), ("crd", &Json::from(WINDOW / 2)));
        crd_frames += 1;
    }
    assert!(c.until_pong().await.is_empty(), "one crd per half window, no more");
});

wire_test!(async fn credit_that_means_nothing_is_ignored_and_a_malformed_credit_is_a_bad_request(wire) {
    let server = Probe::default().server();
    let mut c = EitherWire::connect(&server, wire).await;
    // A call that never opened, a call that is not flow-controlled, and input credit from
    // a client: all ignored.
    c.credit("flow", "produce", &cid(9), 5.into()).await;
    c.open(ENDPOINT, "intEchoStream", &cid(1), &["stream"], None).await;
    let (_, omsr) = c.recv().await;
    assert_eq!(omsr["res"], "success");
    assert!(omsr.get("fc").is_none(), "no fc for a call opened without it");
    c.credit(ENDPOINT, "intEchoStream", &cid(1), 5.into()).await;
    c.send(
        "crd",
        json!({"en": ENDPOINT, "m": "intEchoStream", "cid": cid(1), "p": "stream", "n": 3}),
    )
    .await;
    assert!(c.until_pong().await.is_empty());
    // Grants past the maximum stay at the maximum, and nothing fails.
    let count = "intStreamFromValue";
    let args = json!({"value": 50});
    c.open_with(ENDPOINT, count, &cid(2), args, &[], Some(u64::from(MAX_CREDIT)))
        .await;
    c.credit(ENDPOINT, count, &cid(2), MAX_CREDIT.into()).await;
    c.credit(ENDPOINT, count, &cid(2), MAX_CREDIT.into()).await;
    assert_eq!(c.recv().await.1["res"], "success");
    for expected in 0..50 {
        assert_eq!(value_of(&c.recv().await.1), expected);
    }
    assert_eq!(c.recv().await.1["cr"], "done");
    // A credit of zero is malformed.
    c.credit(ENDPOINT, "intEchoStream", &cid(1), 0.into()).await;
    let (kind, _) = c.recv().await;
    assert_eq!(kind, "brm");
    assert_eq!(c.raw.expect_closed().await, Some(1002));
});

wire_test!(async fn a_consumer_that_stops_polling_stops_its_own_call_only(wire) {
    let probe = Probe::default();
    let server = probe.server();
    let client = client_on(&server, wire);
    let window = ClientConfig::default().window.expect("flow control is on by default");
    let mut stalled = client.stream::<i64>("flow", "produce", NoArgs {}, Inputs::new());
    assert_eq!(stalled.next().await, Some(Ok(0)));
    // The server sends up to the window and then stops pulling the method (one ahead).
    let paused_at = u64::from(window) + 1;
    wait_until("the window is sent", || {
        probe.produced.load(Ordering::SeqCst) == paused_at
    })
    .await;
    // Meanwhile another call on the same client and socket runs to its end.
    const N: i64 = 5_000;
    let inputs = Inputs::new().values("stream", stream::iter(0..N));
    let echoed: Vec<_> = tokio::time::timeout(
        PATIENCE,
        client
            .stream::<i64>(ENDPOINT, "intEchoStream", NoArgs {}, inputs)
            .collect(),
    )
    .await
    .expect("the other call is not held up");
    assert_eq!(echoed, (0..N).map(Ok).collect::<Vec<_>>());
    assert_eq!(probe.produced.load(Ordering::SeqCst), paused_at);
    // The stalled call resumes where it stopped, losing nothing.
    let next: Vec<_> = stalled.by_ref().take(200).collect().await;
    assert_eq!(next, (1..201).map(Ok).collect::<Vec<_>>());
});

wire_test!(async fn a_client_pulls_an_input_only_as_far_as_the_server_grants(wire) {
    let probe = Probe::default();
    let server = probe.server();
    let client = client_on(&server, wire);
    let pulled = Arc::new(AtomicU64::new(0));
    let counter = pulled.clone();
    let endless = stream::iter(0i64..).map(move |v| {
        counter.fetch_add(1, Ordering::SeqCst);
        v
    });
    let mut gated = client.stream::<i64>(
        "flow",
        "gated",
        NoArgs {},
        Inputs::new().values("stream", endless),
    );
    let opened = tokio::spawn(async move {
        let first = gated.next().await;
        (first, gated)
    });
    server
        .wait_for_stats("the window is queued", |s| {
            s.queued_inputs == WINDOW as usize
        })
        .await;
    // Another call goes on, and the input is pulled no further than the window (and one
    // value ahead, held until credit comes, so that the input's end would need none).
    let inputs = Inputs::new().values("stream", stream::iter([5i64]));
    let got = client
        .call::<i64>(ENDPOINT, "intReturnFromStream", NoArgs {}, inputs)
        .await;
    assert_eq!(got, Ok(5));
    assert_eq!(pulled.load(Ordering::SeqCst), WINDOW + 1);
    // Once the method takes values, credit comes back and the input flows again.
    probe.open_gate.notify_one();
    let (first, gated) = opened.await.unwrap();
    assert_eq!(first, Some(Ok(0)));
    let next: Vec<_> = gated.take(100).collect().await;
    assert_eq!(next, (1..101).map(Ok).collect::<Vec<_>>());
    assert!(pulled.load(Ordering::SeqCst) > 100);
});

/// One step of a random flow-controlled session.
#[derive(Debug, Clone)]
enum Step {
    /// Opens a call counting to [`COUNT`], granting it `fc`.
    Open {
        fc: u32,
    },
    /// Grants `n` more to one of the calls opened so far (or to one never opened).
    Grant {
        call: usize,
        n: u32,
    },
    Ping,
}

/// What each call of a random session counts to.
const COUNT: u32 = 20;

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        2 => (1u32..8).prop_map(|fc| Step::Open { fc }),
        4 => (0usize..6, 1u32..8).prop_map(|(call, n)| Step::Grant { call, n }),
        1 => Just(Step::Ping),
    ]
}

/// Sends every step at once, then reads: no call ever gets more values than it was
/// granted, and in the end each got exactly `min(COUNT, credit)`, and its end as soon as it
/// had every value (an end needs no credit).
async fn random_session(wire: Encoding, steps: Vec<Step>) {
    let server = TestServer::start();
    let mut c = EitherWire::connect(&server, wire).await;
    let method = "intStreamFromValue";
    let mut credit: Vec<u32> = Vec::new();
    for step in &steps {
        match *step {
            Step::Open { fc } => {
                let args = json!({"value": COUNT});
                let cid = cid(credit.len() as u8);
                c.open_with(ENDPOINT, method, &cid, args, &[], Some(fc.into()))
                    .await;
                credit.push(fc);
            }
            Step::Grant { call, n } if call < credit.len() => {
                c.credit(ENDPOINT, method, &cid(call as u8), n.into()).await;
                credit[call] += n;
            }
            // Credit for a call that never opened is ignored.
            Step::Grant { n, .. } => c.credit(ENDPOINT, method, &cid(200), n.into()).await,
            Step::Ping => c.ping().await,
        }
    }
    let expected: Vec<(u32, bool)> = credit.iter().map(|&c| (c.min(COUNT), c >= COUNT)).collect();
    let mut got = vec![(0u32, false); credit.len()];
    while got != expected {
        let (kind, data) = c.recv().await;
        let call = || {
            let cid = data["cid"].as_str().expect("a cid");
            (0..credit.len())
                .find(|&n| cid == super::support::cid(n as u8))
                .expect("a call")
        };
        match kind.as_str() {
            "omsr" => assert_eq!(data["res"], "success"),
            "pong" => {}
            "msm" => {
                let n = call();
                assert!(!got[n].1, "a value after the end");
                assert_eq!(value_of(&data), i64::from(got[n].0), "in order");
                got[n].0 += 1;
                assert!(
                    got[n].0 <= credit[n],
                    "call {n}: beyond its credit of {}",
                    credit[n]
                );
            }
            "cmsc" => {
                let n = call();
                assert_eq!((got[n].0, data["cr"].as_str()), (COUNT, Some("done")));
                got[n].1 = true;
            }
            other => panic!("unexpected {other}: {data}"),
        }
    }
    // Nothing else was on its way.
    let rest = c.until_pong().await;
    assert!(
        rest.iter().all(|(kind, _)| kind == "pong"),
        "after every expected frame: {rest:?}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 48, failure_persistence: None, ..Default::default()
    })]

    #[test]
    fn random_credit_sessions_never_send_beyond_the_credit(
        steps in proptest::collection::vec(step(), 1..30),
        json_wire: bool,
    ) {
        let wire = if json_wire { Encoding::Json } else { Encoding::MessagePack };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(random_session(wire, steps));
    }
}
