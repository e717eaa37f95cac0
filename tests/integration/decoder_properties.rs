//! Property tests for the frame decoders: whatever bytes arrive, decoding returns a value or
//! an error, never panics, and never trusts a declared length.

use proptest::prelude::*;
use rmpv::Value;
use streampod::protocol::{CloseReason, LegacyMessage, Message, OpenCall, Target};
use streampod::Dynamic;

fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, v).unwrap();
    out
}

/// Any MessagePack value, a few levels deep.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Binary),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((inner.clone(), inner), 0..6).prop_map(Value::Map),
        ]
    })
}

/// A frame shaped like a message: a known or unknown `type`, and fields of any type.
fn message_like() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just("ping"),
        Just("pong"),
        Just("omsc"),
        Just("omsr"),
        Just("msm"),
        Just("msse"),
        Just("cmsc"),
        Just("crd"),
        Just("brm"),
        Just("x")
    ];
    let key = prop_oneof![
        Just("en"),
        Just("m"),
        Just("cid"),
        Just("p"),
        Just("o"),
        Just("ex"),
        Just("cr"),
        Just("res"),
        Just("args"),
        Just("is"),
        Just("req"),
        Just("auth"),
        Just("fc"),
        Just("n"),
        Just("k")
    ];
    let map =
        (kind, proptest::collection::vec((key, any_value()), 0..8)).prop_map(|(kind, fields)| {
            let data = Value::Map(
                fields
                    .into_iter()
                    .map(|(k, v)| (Value::from(k), v))
                    .collect(),
            );
            Value::Map(vec![
                (Value::from("type"), Value::from(kind)),
                (Value::from("data"), data),
            ])
        });
    // Keyed value frames (docs/PROTOCOL.md §12): arrays of any values, often four.
    let keyed = prop_oneof![
        proptest::collection::vec(any_value(), 4..=4),
        proptest::collection::vec(any_value(), 0..6)
    ]
    .prop_map(Value::Array);
    prop_oneof![3 => map, 1 => keyed]
}

fn valid_message() -> impl Strategy<Value = Message> {
    let cid = any::<u128>().prop_map(uuid::Uuid::from_u128);
    let name = "[a-zA-Z]{1,10}";
    (
        cid,
        name,
        name,
        proptest::option::of(name),
        any::<i64>(),
        0u8..6,
    )
        .prop_map(|(cid, en, m, p, v, which)| {
            let target = Target::new(en.as_str(), m.as_str(), cid);
            let input = p.as_ref().map(|p| p.len() as u32);
            let target = match p {
                Some(p) => target.with_param(p.as_str()),
                None => target,
            };
            match which {
                0 => Message::value(target, Dynamic::new(&v).unwrap()),
                1 => Message::close(target, CloseReason::Error),
                2 => {
                    let open = OpenCall::new(en.as_str(), m.as_str(), cid, vec![0x80], ["stream"])
                        .with_auth(format!("Bearer {v}"));
                    let open = match v % 2 == 0 {
                        true => open.with_auth_mode("cookie"),
                        false => open,
                    };
                    Message::OpenCall(match v % 3 == 0 {
                        true => open.with_flow(v as u32 % 1000 + 1),
                        false => open,
                    })
                }
                3 => Message::credit(target, (v as u32 % streampod::protocol::MAX_CREDIT).max(1)),
                4 => Message::keyed_value(
                    (v as u32 % streampod::protocol::MAX_KEY).max(1),
                    input,
                    Dynamic::new(&v).unwrap(),
                ),
                _ => Message::exception(target, Dynamic::new(&v.to_string()).unwrap()),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Message::decode(&bytes);
        let _ = LegacyMessage::decode(&bytes);
    }

    #[test]
    fn message_shaped_frames_never_panic(frame in message_like()) {
        let bytes = encode(&frame);
        if let Ok(Message::Value { value, .. }) = Message::decode(&bytes) {
            let _ = Dynamic::checked(value.class_name(), value.data());
        }
    }

    #[test]
    fn any_wrapped_value_checks_without_panic(class in ".{0,24}", data in any_value()) {
        let _ = Dynamic::checked(&class, &encode(&data));
        let _ = Dynamic::checked("List<List<int?>>", &encode(&data));
        let _ = Dynamic::checked("Map", &encode(&data));
    }

    #[test]
    fn valid_messages_round_trip_and_every_truncation_is_an_error(message in valid_message()) {
        let bytes = message.encode();
        prop_assert_eq!(Message::decode(&bytes).unwrap(), message);
        for cut in 0..bytes.len() {
            prop_assert!(Message::decode(&bytes[..cut]).is_err());
        }
    }
}

#[test]
fn huge_declared_lengths_are_refused_at_once() {
    // map32 declaring 2^32-1 entries, array32 and str32/bin32 likewise, with no content.
    for frame in [
        vec![0xdf, 0xff, 0xff, 0xff, 0xff],
        vec![
            0x81, 0xa4, b't', b'y', b'p', b'e', 0xdd, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![
            0x81, 0xa4, b't', b'y', b'p', b'e', 0xdb, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![
            0x81, 0xa4, b'd', b'a', b't', b'a', 0xc6, 0xff, 0xff, 0xff, 0xff,
        ],
    ] {
        assert!(Message::decode(&frame).is_err());
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let mut frame = vec![
        0x82, 0xa4, b't', b'y', b'p', b'e', 0xa3, b'm', b's', b'm', 0xa4, b'd', b'a', b't', b'a',
    ];
    frame.extend(std::iter::repeat_n(0x91, 1_000_000));
    frame.push(0xc0);
    assert!(Message::decode(&frame).is_err());
    // As a value on a dynamic stream too.
    let mut deep = vec![0x91; 100_000];
    deep.push(0xc0);
    assert!(Dynamic::checked("List", &deep).is_err());
}
