//! What a method's output stream yields: each value ready for its connection's wire.
//!
//! On the MessagePack wire a method's value is encoded straight into its `msm` frame, in
//! the method's own type: no `Dynamic` on the way (an encode, a copy and two reference
//! counts per value, `docs/PERFORMANCE.md`). Serverpod's JSON writes the value from its
//! `Dynamic` form.

use crate::error::StreamError;
use crate::protocol::{Dynamic, Encoding, Target, ValueFrames, Wire};
use bytes::Bytes;

/// One value of a method's output, on its way to the client.
pub(crate) enum OutputValue {
    /// The value's `msm` frame (MessagePack).
    Frame(Bytes),
    /// The value, for a wire that writes it from this form (JSON).
    Value(Dynamic),
}

/// How a call's values become [`OutputValue`]s: owned by the method's output stream.
pub(crate) enum Framer {
    /// Frames for the call's return stream; made with the first value (many calls wait
    /// long before one, and some never send any).
    Frames {
        target: Target,
        key: Option<u32>,
        frames: Option<ValueFrames>,
    },
    /// `Dynamic`s.
    Values,
}

impl Framer {
    /// The framer of the call on `target` (keyed with `key`, if its open took one), on a
    /// connection that speaks `encoding`.
    pub(crate) fn new(encoding: Encoding, target: &Target, key: Option<u32>) -> Self {
        match encoding {
            Encoding::MessagePack => Framer::Frames {
                target: target.clone(),
                key,
                frames: None,
            },
            Encoding::Json => Framer::Values,
        }
    }

    /// `value`, ready for the wire; an error if it has no MessagePack form.
    pub(crate) fn output<T: Wire>(&mut self, value: &T) -> Result<OutputValue, StreamError> {
        let output = match self {
            Framer::Frames {
                target,
                key,
                frames,
            } => frames
                .get_or_insert_with(|| ValueFrames::for_stream(target, *key, None))
                .encode_value(value)
                .map(OutputValue::Frame),
            Framer::Values => Dynamic::in_flight(value).map(OutputValue::Value),
        };
        output.map_err(|e| StreamError::Failed(e.to_string()))
    }
}
