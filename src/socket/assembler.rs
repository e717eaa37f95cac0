//! Whole messages out of WebSocket frames: continuation frames are joined, within the size
//! limit, and every frame is turned into what it means to a connection.

use super::reader::{FrameFault, FrameRef};
use crate::websocket::{close_payload, Opcode, Violation};
use actix_http::ws;
use bytes::Bytes;

/// One whole data message, borrowed: from the read it arrived in, or for a message joined
/// from fragments, from the assembler.
#[derive(Clone, Copy)]
pub(crate) enum Data<'a> {
    /// A binary message.
    Binary(&'a [u8]),
    /// A text message: its bytes, UTF-8 (checked here).
    Text(&'a [u8]),
}

impl Data<'_> {
    /// Its length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Data::Binary(bytes) | Data::Text(bytes) => bytes.len(),
        }
    }

    /// A copy of its own, to keep past the read it came in.
    pub(crate) fn into_owned(self) -> OwnedData {
        match self {
            Data::Binary(bytes) => OwnedData::Binary(Bytes::copy_from_slice(bytes)),
            Data::Text(bytes) => OwnedData::Text(Bytes::copy_from_slice(bytes)),
        }
    }
}

/// A data message kept past its read ([`Data::into_owned`]).
pub(crate) enum OwnedData {
    Binary(Bytes),
    Text(Bytes),
}

impl OwnedData {
    /// Borrowed again, to hand to a connection.
    pub(crate) fn as_data(&self) -> Data<'_> {
        match self {
            OwnedData::Binary(bytes) => Data::Binary(bytes),
            OwnedData::Text(bytes) => Data::Text(bytes),
        }
    }
}

/// What one WebSocket frame means to a connection.
pub(crate) enum Incoming<'a> {
    /// A whole data message.
    Data(Data<'a>),
    /// The peer pinged: answer with this payload.
    Ping(&'a [u8]),
    /// The peer answered a ping.
    Pong,
    /// The peer closed.
    Closed(Option<ws::CloseReason>),
    /// Nothing to act on (a fragment was stored).
    Nothing,
    /// The connection must close with this code and reason.
    Fail(ws::CloseCode, &'static str),
}

impl Incoming<'_> {
    /// The close a fault of the peer's frames calls for.
    pub(crate) fn fault(fault: FrameFault) -> Self {
        match fault {
            FrameFault::TooLarge => Incoming::Fail(ws::CloseCode::Size, "message too large"),
            FrameFault::Violation(why) => Incoming::violation(why),
        }
    }

    fn violation(why: Violation) -> Self {
        log::debug!("websocket protocol error: {why}");
        Incoming::Fail(ws::CloseCode::Protocol, "websocket protocol error")
    }
}

/// Turns WebSocket frames into whole messages, refusing to grow past `max` bytes.
pub(crate) struct FrameAssembler {
    /// The message being joined: whether it is text, and its bytes so far.
    fragment: Option<(bool, Vec<u8>)>,
    /// The last message joined, which the connection borrows.
    joined: Vec<u8>,
    max: usize,
}

impl FrameAssembler {
    pub(crate) fn new(max: usize) -> Self {
        FrameAssembler {
            fragment: None,
            joined: Vec::new(),
            max,
        }
    }

    /// Takes one frame.
    pub(crate) fn push<'a>(&'a mut self, frame: FrameRef<'a>) -> Incoming<'a> {
        // Its buffer goes once it has been handled: joined messages are rare.
        self.joined = Vec::new();
        match (frame.opcode, self.fragment.is_some()) {
            (Opcode::Ping, _) => Incoming::Ping(frame.payload),
            (Opcode::Pong, _) => Incoming::Pong,
            (Opcode::Close, _) => match close_payload(frame.payload) {
                Ok(status) => Incoming::Closed(status.map(|(code, reason)| ws::CloseReason {
                    code: code.into(),
                    description: (!reason.is_empty()).then(|| reason.to_string()),
                })),
                Err(why) => Incoming::violation(why),
            },
            (Opcode::Continuation, false) => Incoming::violation(Violation::StrayContinuation),
            (Opcode::Text | Opcode::Binary, true) => {
                Incoming::violation(Violation::InterleavedMessage)
            }
            (Opcode::Continuation, true) => self.fragment(frame),
            (opcode, false) if !frame.fin => {
                self.fragment = Some((opcode == Opcode::Text, Vec::new()));
                self.fragment(frame)
            }
            (Opcode::Text, false) => text(frame.payload),
            (_, false) => Incoming::Data(Data::Binary(frame.payload)),
        }
    }

    /// A fragment of the message being joined.
    fn fragment<'a>(&'a mut self, frame: FrameRef<'a>) -> Incoming<'a> {
        let Some((_, buf)) = &mut self.fragment else {
            return Incoming::violation(Violation::StrayContinuation);
        };
        if buf.len() + frame.payload.len() > self.max {
            return Incoming::fault(FrameFault::TooLarge);
        }
        buf.extend_from_slice(frame.payload);
        if !frame.fin {
            return Incoming::Nothing;
        }
        let Some((is_text, whole)) = self.fragment.take() else {
            return Incoming::violation(Violation::StrayContinuation);
        };
        self.joined = whole;
        if is_text {
            text(&self.joined)
        } else {
            Incoming::Data(Data::Binary(&self.joined))
        }
    }
}

/// A text message, if it is UTF-8.
fn text(bytes: &[u8]) -> Incoming<'_> {
    if std::str::from_utf8(bytes).is_ok() {
        Incoming::Data(Data::Text(bytes))
    } else {
        Incoming::violation(Violation::NotUtf8)
    }
}
