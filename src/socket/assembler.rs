//! Whole messages out of WebSocket frames: continuation frames are joined, within the size
//! limit, and every event is turned into what it means to a connection.

use actix_http::ws;
use bytes::Bytes;

/// One whole data message.
pub(crate) enum Data {
    /// A binary message.
    Binary(Bytes),
    /// A text message: its bytes, UTF-8 (checked here for single frames; a message joined
    /// from continuation frames is checked by whoever reads it).
    Text(Bytes),
}

impl Data {
    /// Its length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Data::Binary(bytes) | Data::Text(bytes) => bytes.len(),
        }
    }
}

/// What one WebSocket event means to a connection.
pub(crate) enum Incoming {
    /// A whole data message.
    Data(Data),
    /// The peer pinged: answer with this payload.
    Ping(Bytes),
    /// The peer answered a ping.
    Pong,
    /// The peer closed.
    Closed(Option<ws::CloseReason>),
    /// Nothing to act on (a fragment was stored).
    Nothing,
    /// The connection must close with this code and reason.
    Fail(ws::CloseCode, &'static str),
}

/// Turns WebSocket events into whole messages, refusing to grow past `max` bytes.
pub(crate) struct FrameAssembler {
    /// The message being joined: whether it is text, and its bytes so far.
    fragment: Option<(bool, Vec<u8>)>,
    max: usize,
}

impl FrameAssembler {
    pub(crate) fn new(max: usize) -> Self {
        FrameAssembler {
            fragment: None,
            max,
        }
    }

    /// Takes one frame.
    pub(crate) fn push(&mut self, event: Result<ws::Frame, ws::ProtocolError>) -> Incoming {
        match event {
            Ok(ws::Frame::Binary(bytes)) => Incoming::Data(Data::Binary(bytes)),
            Ok(ws::Frame::Text(text)) if std::str::from_utf8(&text).is_ok() => {
                Incoming::Data(Data::Text(text))
            }
            Ok(ws::Frame::Text(_)) => {
                log::debug!("websocket protocol error: a text frame that is not UTF-8");
                Incoming::Fail(ws::CloseCode::Protocol, "websocket protocol error")
            }
            Ok(ws::Frame::Continuation(item)) => self.fragment(item),
            Ok(ws::Frame::Ping(p)) => Incoming::Ping(p),
            Ok(ws::Frame::Pong(_)) => Incoming::Pong,
            Ok(ws::Frame::Close(reason)) => Incoming::Closed(reason),
            Err(ws::ProtocolError::Overflow) => {
                Incoming::Fail(ws::CloseCode::Size, "message too large")
            }
            Err(e) => {
                log::debug!("websocket protocol error: {e}");
                Incoming::Fail(ws::CloseCode::Protocol, "websocket protocol error")
            }
        }
    }

    fn fragment(&mut self, item: actix_http::ws::Item) -> Incoming {
        use actix_http::ws::Item;
        let (last, bytes) = match item {
            Item::FirstText(b) => {
                self.fragment = Some((true, Vec::new()));
                (false, b)
            }
            Item::FirstBinary(b) => {
                self.fragment = Some((false, Vec::new()));
                (false, b)
            }
            Item::Continue(b) => (false, b),
            Item::Last(b) => (true, b),
        };
        let Some((is_text, buf)) = self.fragment.as_mut() else {
            return Incoming::Fail(
                ws::CloseCode::Protocol,
                "continuation without a first frame",
            );
        };
        if buf.len() + bytes.len() > self.max {
            return Incoming::Fail(ws::CloseCode::Size, "message too large");
        }
        buf.extend_from_slice(&bytes);
        if !last {
            return Incoming::Nothing;
        }
        let is_text = *is_text;
        let whole = Bytes::from(std::mem::take(buf));
        self.fragment = None;
        Incoming::Data(if is_text {
            Data::Text(whole)
        } else {
            Data::Binary(whole)
        })
    }
}
