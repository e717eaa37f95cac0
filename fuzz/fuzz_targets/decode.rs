//! Feeds arbitrary bytes to every decoder a peer can reach.
#![no_main]

use libfuzzer_sys::fuzz_target;
use streampod::protocol::internals::MessageRef;
use streampod::protocol::{LegacyMessage, Message, MAX_CREDIT};
use streampod::Dynamic;

fuzz_target!(|data: &[u8]| {
    if let Ok(Message::Value { value, .. }) = Message::decode(data) {
        let _ = Dynamic::checked(value.class_name(), value.data());
        let _ = format!("{value:?} {value}");
        // Any value the MessagePack side accepts has a JSON form, or says why not.
        let _ = value.to_json();
    }
    // Flow control: any credit a frame carries is in 1..=MAX_CREDIT, and reads back the same.
    if let Ok(message) = Message::decode(data) {
        credit_is_valid(&message);
        assert_eq!(Message::decode(&message.encode()).ok(), Some(message));
    }
    // Frames of the JSON wire, and what they carry written back.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(message) = Message::decode_json(text) {
            credit_is_valid(&message);
            let _ = message.encode_json();
        }
        if let Ok(message) = LegacyMessage::decode_json(text) {
            let _ = message.encode_json();
        }
    }
    // Serverpod's JSON forms of values, read back.
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = Dynamic::from_json(&json);
    }
    // The borrowed decoder, which the server's connections use.
    let _ = MessageRef::decode(data);
    let _ = LegacyMessage::decode(data);
    let _ = Dynamic::checked("List<Map<String,List<int?>>>", data);
    let _ = Dynamic::checked("Map", data);
});

fn credit_is_valid(message: &Message) {
    let credit = match message {
        Message::Credit { n, .. } => Some(*n),
        Message::OpenCall(open) => open.flow,
        Message::OpenResponse(response) => response.flow,
        _ => None,
    };
    if let Some(n) = credit {
        assert!((1..=MAX_CREDIT).contains(&n), "credit {n}");
    }
}
