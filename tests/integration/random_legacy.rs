//! Random legacy sessions: a connection that signs in, out and up (the `auth` command,
//! malformed and unknown keys included) while it sends messages to endpoints with
//! different access rules. Each endpoint echoes exactly the messages sent while the session
//! could use it, in order; `stream_opened` runs once each time access is gained and
//! `stream_closed` once each time it is lost or the connection goes; nothing is left after a
//! TCP drop.

use crate::support::conformance::bearer;
use crate::support::method_streaming::SimpleData;
use crate::support::*;
use futures::{SinkExt, StreamExt};
use proptest::prelude::*;
use std::collections::HashMap;
use streampod::protocol::LegacyMessage;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Who the session is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Nobody,
    User,
    Admin,
}

impl Who {
    /// The `Authorization`-style value that signs in as this.
    fn key(self) -> Option<String> {
        match self {
            Who::Nobody => None,
            Who::User => Some(bearer("1", "t", &[])),
            Who::Admin => Some(bearer("2", "t", &["admin"])),
        }
    }
}

const ENDPOINTS: [&str; 3] = ["streaming", "signInRequired", "adminScopeRequired"];

fn allowed(endpoint: &str, who: Who) -> bool {
    match endpoint {
        "streaming" => true,
        "signInRequired" => who != Who::Nobody,
        _ => who == Who::Admin,
    }
}

#[derive(Debug, Clone)]
enum Op {
    SignIn(Who),
    /// A value of the wrong shape: ignored.
    MalformedKey,
    /// A well-formed key nobody owns: signed out.
    UnknownKey,
    Send {
        endpoint: usize,
        num: i64,
    },
    Ping,
}

fn op() -> impl Strategy<Value = Op> {
    let who = prop_oneof![Just(Who::Nobody), Just(Who::User), Just(Who::Admin)];
    prop_oneof![
        2 => who.prop_map(Op::SignIn),
        1 => Just(Op::MalformedKey),
        1 => Just(Op::UnknownKey),
        6 => (0usize..3, any::<i64>()).prop_map(|(endpoint, num)| Op::Send { endpoint, num }),
        1 => Just(Op::Ping),
    ]
}

fn auth_frame(key: Option<&str>) -> Vec<u8> {
    LegacyMessage::Auth {
        key: key.map(str::to_string),
    }
    .encode()
}

async fn run(start: Who, ops: Vec<Op>) {
    let server = TestServer::start();
    let mut url = format!("ws://{}/websocket", server.running.addr());
    if let Some(key) = start.key() {
        // The URL carries the unwrapped key.
        let key = key.trim_start_matches("Bearer ").replace(':', "%3A");
        url = format!("{url}?auth={key}");
    }
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (mut sink, mut stream) = ws.split();

    // The model: who the session is after each op, what each endpoint must echo, and how
    // often each endpoint must have been opened.
    let mut who = start;
    let mut echoes: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut opened: HashMap<&str, u64> = HashMap::new();
    for e in ENDPOINTS {
        opened.insert(e, u64::from(allowed(e, who)));
    }
    let mut frames = Vec::new();
    let mut pings = 1; // the last frame
    for op in &ops {
        let before = who;
        match op {
            Op::SignIn(next) => {
                frames.push(auth_frame(next.key().as_deref()));
                who = *next;
            }
            Op::MalformedKey => frames.push(auth_frame(Some("Bearer two tokens"))),
            Op::UnknownKey => {
                frames.push(auth_frame(Some("Bearer nobody")));
                who = Who::Nobody;
            }
            Op::Send { endpoint, num } => {
                let endpoint = ENDPOINTS[*endpoint];
                let message = LegacyMessage::Endpoint {
                    endpoint: endpoint.to_string(),
                    object: streampod::Dynamic::new(&SimpleData { num: *num }).unwrap(),
                };
                frames.push(message.encode());
                if allowed(endpoint, who) {
                    echoes.entry(endpoint).or_default().push(*num);
                }
            }
            Op::Ping => {
                frames.push(LegacyMessage::Ping.encode());
                pings += 1;
            }
        }
        for e in ENDPOINTS {
            if allowed(e, who) && !allowed(e, before) {
                *opened.get_mut(e).unwrap() += 1;
            }
        }
    }
    frames.push(LegacyMessage::Ping.encode());

    let writer = tokio::spawn(async move {
        for f in frames {
            sink.send(WsMessage::Binary(f)).await.unwrap();
        }
        sink
    });
    let expected_echoes: usize = echoes.values().map(Vec::len).sum();
    let mut got: HashMap<String, Vec<i64>> = HashMap::new();
    let (mut pongs, mut got_echoes) = (0, 0);
    while pongs < pings || got_echoes < expected_echoes {
        let frame = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .unwrap_or_else(|_| panic!("waiting: {pongs}/{pings} pongs, {got_echoes}/{expected_echoes} echoes\nops: {ops:?}"));
        let Some(Ok(WsMessage::Binary(bytes))) = frame else {
            panic!("the connection ended: {frame:?}\nops: {ops:?}");
        };
        match LegacyMessage::decode(&bytes).unwrap() {
            LegacyMessage::Pong => pongs += 1,
            LegacyMessage::Endpoint { endpoint, object } => {
                got.entry(endpoint)
                    .or_default()
                    .push(object.decode::<SimpleData>().unwrap().num);
                got_echoes += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    for e in ENDPOINTS {
        let expected = echoes.get(e).cloned().unwrap_or_default();
        let received = got.get(e).cloned().unwrap_or_default();
        assert_eq!(received, expected, "echoes of {e}\nops: {ops:?}");
    }

    let sink = writer.await.unwrap();
    drop((sink, stream));
    let stats = |e: &str| server.server.legacy_stats(e).unwrap();
    wait_until("every session closed", || {
        ENDPOINTS.iter().all(|e| {
            let s = stats(e);
            s.sessions == 0 && s.user_objects == 0 && s.opened == s.closed
        }) && server.stats().open_connections == 0
    })
    .await;
    for e in ENDPOINTS {
        assert_eq!(stats(e).opened, opened[e], "openings of {e}\nops: {ops:?}");
    }
}

proptest! {
    // 32 sessions of up to 40 frames, about 1.5 s (400 passed once, in 18 s).
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, max_shrink_time: SHRINK_MS, ..ProptestConfig::default() })]

    #[test]
    fn legacy_sessions_follow_their_access(
        start in prop_oneof![Just(Who::Nobody), Just(Who::User), Just(Who::Admin)],
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(start, ops));
    }
}
