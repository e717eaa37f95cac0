//! Random sessions: sequences of well-formed frames, pipelined on one connection without
//! waiting for answers, checked against the protocol's rules for what the server sends
//! back (docs/PROTOCOL.md §4.2–§4.4):
//!
//! - the connection stays open and every `omsc` gets exactly one `omsr`, first for its cid;
//! - an opened call ends with exactly one `cmsc` without `p`; after it comes at most the
//!   close of an input still open at a cancel, and no value;
//! - an echo returns a prefix of what was sent, in order, and all of it when the call ended
//!   by itself; a counting stream sends 0, 1, 2, … and all ten when it ended by itself;
//! - a value for a call that never opened is answered `cmsc(p, error)`, and nothing else is;
//! - after the connection closes, the server holds no call, input or byte for it, also
//!   when the client drops it in the middle of a session without reading anything.

use crate::support::*;
use proptest::prelude::*;
use rmpv::Value;
use std::collections::HashMap;

/// The methods the sessions call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    /// `intEchoStream`: echoes its `stream` input.
    Echo,
    /// `simpleStream`: 0 to 9, then ends.
    Count,
    /// `outStreamThrowsException`: fails at once.
    Throws,
    /// No such method: `endpointNotFound`.
    Unknown,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Echo => "intEchoStream",
            Method::Count => "simpleStream",
            Method::Throws => "outStreamThrowsException",
            Method::Unknown => "noSuchMethod",
        }
    }
}

/// One frame the client sends. `call` picks one of the calls opened so far (modulo their
/// number); with none opened yet, the frame goes to a cid that was never opened.
#[derive(Debug, Clone)]
enum Op {
    Open(Method),
    Value { call: usize, value: i64 },
    WrongType { call: usize },
    CloseInput { call: usize, error: bool },
    InputException { call: usize },
    Cancel { call: usize },
    Ping,
}

fn op() -> impl Strategy<Value = Op> {
    let method = prop_oneof![
        4 => Just(Method::Echo),
        2 => Just(Method::Count),
        1 => Just(Method::Throws),
        1 => Just(Method::Unknown),
    ];
    let call = 0usize..8;
    prop_oneof![
        3 => method.prop_map(Op::Open),
        6 => (call.clone(), any::<i64>()).prop_map(|(call, value)| Op::Value { call, value }),
        1 => call.clone().prop_map(|call| Op::WrongType { call }),
        1 => (call.clone(), any::<bool>()).prop_map(|(call, error)| Op::CloseInput { call, error }),
        1 => call.clone().prop_map(|call| Op::InputException { call }),
        1 => call.prop_map(|call| Op::Cancel { call }),
        1 => Just(Op::Ping),
    ]
}

/// What the client did to one call.
#[derive(Debug)]
struct Sent {
    method: Method,
    /// Every `msm` sent to it (a call that never opened answers each with `cmsc(p, error)`).
    msm_count: usize,
    /// The values sent while its input was open, as the client saw it.
    open_values: Vec<i64>,
    /// How the client first ended the input, if it did: `done`, `error`, `exception`, or
    /// `wrongType` (a value the server must refuse, which fails the input).
    first_close: Option<&'static str>,
}

impl Sent {
    fn close_input(&mut self, how: &'static str) {
        self.first_close.get_or_insert(how);
    }
}

/// What the server sent for one call, in order.
#[derive(Debug, Default)]
struct Received {
    frames: Vec<Frame>,
}

impl Received {
    fn has_ended(&self) -> bool {
        self.frames
            .iter()
            .any(|f| f.kind == "cmsc" && f.str("p").is_none())
    }

    fn answered(&self) -> bool {
        self.frames.iter().any(|f| f.kind == "omsr")
    }
}

/// The cid of the `n`th call of a session (0-based); cids past the opened ones are never
/// opened.
fn call_cid(n: usize) -> String {
    cid(n as u8 + 1)
}

fn value_frame(method: Method, cid: &str, value: Value) -> Vec<u8> {
    frame(
        "msm",
        Some(map(vec![
            ("en", ENDPOINT.into()),
            ("m", method.name().into()),
            ("cid", cid.into()),
            ("p", "stream".into()),
            ("o", value),
        ])),
    )
}

/// The frames a session sends, and what it did to each call.
struct Plan {
    frames: Vec<Vec<u8>>,
    sent: Vec<Sent>,
    pings: usize,
    strays_to_unopened: usize,
}

/// Turns `ops` into frames, decided up front.
fn plan(ops: &[Op]) -> Plan {
    let mut sent: Vec<Sent> = Vec::new();
    let mut pings = 0usize;
    let mut strays_to_unopened = 0usize;
    let mut frames = Vec::new();
    for op in ops {
        // Which call an op names; with no call opened yet, the first cid, never opened.
        let pick = |call: usize, sent: &Vec<Sent>| {
            if sent.is_empty() {
                None
            } else {
                Some(call % sent.len())
            }
        };
        match *op {
            Op::Open(method) => {
                let cid = call_cid(sent.len());
                let inputs: &[&str] = if method == Method::Echo {
                    &["stream"]
                } else {
                    &[]
                };
                frames.push(omsc(method.name(), &cid, no_args(), inputs));
                sent.push(Sent {
                    method,
                    msm_count: 0,
                    open_values: Vec::new(),
                    first_close: None,
                });
            }
            Op::Value { call, value } => match pick(call, &sent) {
                Some(n) => {
                    let s = &mut sent[n];
                    frames.push(value_frame(s.method, &call_cid(n), int(value)));
                    s.msm_count += 1;
                    if s.first_close.is_none() {
                        s.open_values.push(value);
                    }
                }
                None => {
                    frames.push(value_frame(Method::Echo, &cid(200), int(value)));
                    strays_to_unopened += 1;
                }
            },
            Op::WrongType { call } => {
                if let Some(n) = pick(call, &sent) {
                    let bad = wrapped("String", "not an int".into());
                    frames.push(value_frame(sent[n].method, &call_cid(n), bad));
                    sent[n].msm_count += 1;
                    sent[n].close_input("wrongType");
                }
            }
            Op::CloseInput { call, error } => {
                if let Some(n) = pick(call, &sent) {
                    let reason = if error { "error" } else { "done" };
                    frames.push(cmsc(
                        sent[n].method.name(),
                        &call_cid(n),
                        Some("stream"),
                        reason,
                    ));
                    sent[n].close_input(reason);
                }
            }
            Op::InputException { call } => {
                if let Some(n) = pick(call, &sent) {
                    let ex = wrapped("String", "client failed".into());
                    frames.push(msse(
                        sent[n].method.name(),
                        &call_cid(n),
                        Some("stream"),
                        ex,
                    ));
                    sent[n].close_input("exception");
                }
            }
            Op::Cancel { call } => {
                if let Some(n) = pick(call, &sent) {
                    frames.push(cmsc(sent[n].method.name(), &call_cid(n), None, "error"));
                }
            }
            Op::Ping => {
                frames.push(ping());
                pings += 1;
            }
        }
    }
    // In the end the client cancels every call, and asks for a pong to know the connection
    // went through all of it.
    for (n, s) in sent.iter().enumerate() {
        frames.push(cmsc(s.method.name(), &call_cid(n), None, "error"));
    }
    frames.push(ping());
    pings += 1;
    Plan {
        frames,
        sent,
        pings,
        strays_to_unopened,
    }
}

async fn run_session(ops: Vec<Op>) {
    let server = TestServer::start();
    let (mut sink, mut raw) = RawClient::connect(&server).await.split();
    let Plan {
        frames,
        sent,
        pings,
        strays_to_unopened,
    } = plan(&ops);
    // The server's answers are read while the frames go out.
    let writer = tokio::spawn(async move {
        for f in frames {
            sink.send(f).await.expect("send");
        }
        sink
    });

    let mut received: HashMap<String, Received> = HashMap::new();
    let mut pongs = 0usize;
    let all_seen = |received: &HashMap<String, Received>, pongs: usize| {
        pongs == pings
            && sent.iter().enumerate().all(|(n, _)| {
                received.get(&call_cid(n)).is_some_and(|r| {
                    let opened = r.frames.first().and_then(|f| f.str("res")) == Some("success");
                    r.answered() && (!opened || r.has_ended())
                })
            })
            && received.get(&cid(200)).map_or(0, |r| r.frames.len()) == strays_to_unopened
    };
    while !all_seen(&received, pongs) {
        match raw.next().await {
            Ok(f) if f.kind == "pong" => pongs += 1,
            Ok(f) => {
                let cid = f.str("cid").expect("a call frame has a cid").to_string();
                received.entry(cid).or_default().frames.push(f);
            }
            Err(end) => panic!("the server ended the connection: {end:?}\nops: {ops:?}"),
        }
    }
    let sink = writer.await.unwrap();

    for (n, s) in sent.iter().enumerate() {
        let cid = call_cid(n);
        let r = &received[&cid];
        check_call(s, &r.frames).unwrap_or_else(|e| {
            panic!(
                "call {n} ({:?}): {e}\nframes: {:#?}\nops: {ops:?}",
                s.method, r.frames
            )
        });
    }
    if let Some(r) = received.get(&cid(200)) {
        for f in &r.frames {
            f.assert_close(&cid(200), Some("stream"), "error");
        }
    }

    // The client goes without a close handshake (a TCP drop): the server still lets go of
    // everything.
    drop((sink, raw));
    holds_nothing(&server).await;
}

/// Waits until the server holds no connection, call, queued input or unsent byte.
async fn holds_nothing(server: &TestServer) {
    server
        .wait_for_stats("nothing held after the drop", |s| {
            s.open_connections == 0
                && s.open_calls == 0
                && s.queued_inputs == 0
                && s.outbound_queued_bytes == 0
        })
        .await;
}

/// The rules for one call's frames.
fn check_call(sent: &Sent, frames: &[Frame]) -> Result<(), String> {
    let (first, rest) = frames.split_first().ok_or("no frame at all")?;
    if first.kind != "omsr" {
        return Err(format!("the first frame is not the omsr: {first:?}"));
    }
    let res = first.str("res").unwrap_or_default();
    if sent.method == Method::Unknown {
        if res != "endpointNotFound" {
            return Err(format!("unknown method answered {res}"));
        }
        // Never opened: each value is answered `cmsc(p, error)`, nothing else is.
        let refusals = rest
            .iter()
            .filter(|f| {
                f.kind == "cmsc" && f.str("p") == Some("stream") && f.str("cr") == Some("error")
            })
            .count();
        if refusals != rest.len() || refusals != sent.msm_count {
            return Err(format!(
                "{} values to a call that never opened got {} frames, {refusals} of them \
                 cmsc(p, error)",
                sent.msm_count,
                rest.len()
            ));
        }
        return Ok(());
    }
    if res != "success" {
        return Err(format!("open answered {res}"));
    }
    let mut echoed = Vec::new();
    let mut end: Option<&str> = None;
    let mut closes_after_end = 0;
    for f in rest {
        match (f.kind.as_str(), f.str("p"), end) {
            ("msm", None, None) => echoed.push(f.int()),
            ("msse", None, None) => {}
            ("cmsc", None, None) => end = f.str("cr"),
            // Before the end: refusals of values to a closed or undeclared input, and
            // closes of inputs the method dropped.
            ("cmsc", Some("stream"), None) => {}
            // After the end: only the closes of inputs still open at a cancel (4.4).
            ("cmsc", Some("stream"), Some(_)) => closes_after_end += 1,
            _ => return Err(format!("unexpected frame {f:?} (call ended: {end:?})")),
        }
    }
    let end = end.ok_or("the call never ended")?;
    if closes_after_end > usize::from(sent.method == Method::Echo) {
        return Err(format!("{closes_after_end} input closes after the end"));
    }
    match sent.method {
        Method::Echo => {
            if !sent.open_values.starts_with(&echoed) {
                return Err(format!(
                    "echoed {echoed:?}, not a prefix of {:?}",
                    sent.open_values
                ));
            }
            // An echo ends by itself ("done"; the client cancels with "error") only when
            // its input ended cleanly, and then everything sent before has come back.
            if end == "done" && (sent.first_close != Some("done") || echoed != sent.open_values) {
                return Err(format!(
                    "ended done with input closed by {:?}, echoing {} of {} values",
                    sent.first_close,
                    echoed.len(),
                    sent.open_values.len()
                ));
            }
        }
        Method::Count => {
            let expected: Vec<i64> = (0..echoed.len() as i64).collect();
            if echoed != expected {
                return Err(format!("counted {echoed:?}"));
            }
            if end == "done" && echoed.len() != 10 {
                return Err(format!("ended done after {} of 10 values", echoed.len()));
            }
        }
        Method::Throws => {
            if !echoed.is_empty() || end != "error" {
                return Err(format!("a throwing stream sent {echoed:?} and ended {end}"));
            }
        }
        Method::Unknown => unreachable!(),
    }
    Ok(())
}

proptest! {
    // Each case runs a server and a session of up to 40 frames: 64 cases take about a
    // second (1,000 passed once, in 14 s).
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, max_shrink_time: SHRINK_MS, ..ProptestConfig::default() })]

    #[test]
    fn random_sessions_follow_the_protocol(ops in proptest::collection::vec(op(), 1..40)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run_session(ops));
    }

    #[test]
    fn sessions_cut_short_leave_nothing_behind(
        ops in proptest::collection::vec(op(), 1..40),
        keep in 0usize..45,
    ) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(cut_short(ops, keep));
    }
}

/// Sends the first `keep` frames of a session and drops the TCP connection without reading
/// a thing: whatever was in flight (opens, inputs, cancels), the server lets go of it all.
async fn cut_short(ops: Vec<Op>, keep: usize) {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    for frame in plan(&ops).frames.into_iter().take(keep) {
        raw.send(frame).await;
    }
    raw.drop_tcp();
    holds_nothing(&server).await;
}
