//! One data frame of a connection's wire: the one place where a message becomes the frame
//! its connection's encoding asks for (MessagePack in a binary frame, Serverpod's JSON in a
//! text frame), for the server's connections and calls, its legacy endpoints and the
//! clients alike.

use crate::protocol::{EncodeError, Encoding, LegacyMessage, Message};
use bytes::Bytes;

/// One WebSocket data frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A MessagePack message, in a binary frame.
    Binary(Bytes),
    /// A JSON message, in a text frame.
    Text(String),
}

impl Frame {
    /// Its payload's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Frame::Binary(bytes) => bytes.len(),
            Frame::Text(text) => text.len(),
        }
    }

    /// Whether its payload is empty (no message is).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame `encoding` asks for: `binary` or `text` of the same message.
    fn of(
        encoding: Encoding,
        binary: impl FnOnce() -> Vec<u8>,
        text: impl FnOnce() -> Result<String, EncodeError>,
    ) -> Result<Frame, EncodeError> {
        match encoding {
            Encoding::MessagePack => Ok(Frame::Binary(binary().into())),
            Encoding::Json => text().map(Frame::Text),
        }
    }
}

impl Message {
    /// The message as one frame of `encoding`'s wire. Fails only on the JSON wire, for a
    /// value that has no JSON form (a non-finite double).
    pub fn to_frame(&self, encoding: Encoding) -> Result<Frame, EncodeError> {
        Frame::of(encoding, || self.encode(), || self.encode_json())
    }
}

impl LegacyMessage {
    /// The message as one frame of `encoding`'s wire. Fails only on the JSON wire, for a
    /// value that has no JSON form.
    pub fn to_frame(&self, encoding: Encoding) -> Result<Frame, EncodeError> {
        Frame::of(encoding, || self.encode(), || self.encode_json())
    }
}
