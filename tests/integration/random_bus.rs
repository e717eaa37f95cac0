//! Random subscriptions on the in-process bus: streams and listeners come and go on two
//! channels between posts. Each receives exactly the messages posted on its channel while
//! it was subscribed, in posting order; a message of another type is an error item on a
//! typed stream, which goes on; when everyone has left, no channel is left.

use futures::{FutureExt, StreamExt};
use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use streampod::bus::{BusError, BusStream, ListenerId, Scope};
use streampod::Server;

const CHANNELS: [&str; 2] = ["red", "blue"];

#[derive(Debug, Clone)]
enum Op {
    Subscribe {
        channel: usize,
        listener: bool,
    },
    Leave {
        which: usize,
    },
    Post {
        channel: usize,
        value: i64,
    },
    /// A string on a channel of `i64` subscribers.
    PostWrongType {
        channel: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0usize..2, any::<bool>()).prop_map(|(channel, listener)| Op::Subscribe { channel, listener }),
        1 => (0usize..8).prop_map(|which| Op::Leave { which }),
        5 => (0usize..2, any::<i64>()).prop_map(|(channel, value)| Op::Post { channel, value }),
        1 => (0usize..2).prop_map(|channel| Op::PostWrongType { channel }),
    ]
}

/// What a subscriber must see: a value, or a message of the wrong type.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Value(i64),
    WrongType,
}

enum Subscription {
    Stream(BusStream<i64>),
    Listener(ListenerId, Arc<Mutex<Vec<Seen>>>),
}

struct Subscriber {
    channel: usize,
    subscription: Option<Subscription>,
    expected: Vec<Seen>,
    /// What a stream yielded before it was dropped.
    got: Vec<Seen>,
}

impl Subscriber {
    /// Unsubscribes (once), keeping what it received.
    fn leave(&mut self, bus: &streampod::bus::MessageBus) {
        match self.subscription.take() {
            Some(Subscription::Stream(mut stream)) => drain(&mut stream, &mut self.got),
            Some(Subscription::Listener(id, seen)) => {
                bus.remove_listener(CHANNELS[self.channel], id);
                self.got = seen.lock().unwrap().clone();
            }
            None => {}
        }
    }
}

/// Takes everything a stream holds now, without waiting.
fn drain(stream: &mut BusStream<i64>, into: &mut Vec<Seen>) {
    while let Some(Some(item)) = stream.next().now_or_never() {
        into.push(match item {
            Ok(v) => Seen::Value(v),
            Err(BusError::WrongType(_)) => Seen::WrongType,
            Err(e) => panic!("unexpected {e}"),
        });
    }
}

fn run(ops: Vec<Op>) {
    let server = Server::builder().build().unwrap();
    let bus = server.messages();
    let mut subscribers: Vec<Subscriber> = Vec::new();
    let post = |channel: usize, seen: Seen, subscribers: &mut Vec<Subscriber>| {
        let posted = match &seen {
            Seen::Value(v) => {
                futures::executor::block_on(bus.post_message(CHANNELS[channel], v, Scope::Local))
            }
            Seen::WrongType => futures::executor::block_on(bus.post_message(
                CHANNELS[channel],
                &"not an int".to_string(),
                Scope::Local,
            )),
        };
        posted.unwrap();
        for s in subscribers.iter_mut() {
            if s.channel == channel && s.subscription.is_some() {
                s.expected.push(seen.clone());
            }
        }
    };
    for op in &ops {
        match *op {
            Op::Subscribe { channel, listener } => {
                let subscription = if listener {
                    let seen = Arc::new(Mutex::new(Vec::new()));
                    let into = seen.clone();
                    let id = bus.add_listener(CHANNELS[channel], move |m| {
                        into.lock().unwrap().push(match m.decode::<i64>() {
                            Ok(v) => Seen::Value(v),
                            Err(_) => Seen::WrongType,
                        })
                    });
                    Subscription::Listener(id, seen)
                } else {
                    Subscription::Stream(bus.create_stream(CHANNELS[channel]))
                };
                subscribers.push(Subscriber {
                    channel,
                    subscription: Some(subscription),
                    expected: Vec::new(),
                    got: Vec::new(),
                });
            }
            Op::Leave { which } => {
                let n = subscribers.len();
                if n > 0 {
                    subscribers[which % n].leave(bus);
                }
            }
            Op::Post { channel, value } => post(channel, Seen::Value(value), &mut subscribers),
            Op::PostWrongType { channel } => post(channel, Seen::WrongType, &mut subscribers),
        }
    }
    for (n, s) in subscribers.iter_mut().enumerate() {
        s.leave(bus);
        assert_eq!(s.got, s.expected, "subscriber {n}\nops: {ops:?}");
    }
    assert_eq!(server.stats().bus_channels, 0, "ops: {ops:?}");
}

proptest! {
    // 256 cases of up to 60 ops, in-process: a fraction of a second.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn subscribers_get_exactly_what_was_posted_while_they_listened(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        run(ops);
    }
}
