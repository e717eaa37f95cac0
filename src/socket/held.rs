//! [`Held`]: the data messages a resumable connection reads while it holds its input (a
//! call's input queue is full), kept in order for when it goes on.
//!
//! A connection that is not resumable stops reading instead, and TCP holds the rest. A
//! resumable one cannot: its peer's acknowledgements come on the same socket, and while its
//! output waits for them (the gate counts what the peer has not acknowledged) a method that
//! waits to write would never take the input that would let the connection read again. So
//! the socket is read on; acknowledgements are handled at once, and every other message
//! waits here. The peer keeps what the server has not acknowledged, and the server
//! acknowledges only what it handled, so a peer that keeps to its own bound cannot send more
//! than that bound while held; past twice the server's bound (a peer that ignores it), the
//! connection is closed as one whose method takes no input.

use super::assembler::{Data, OwnedData};
use std::collections::VecDeque;

/// Data messages read while the connection holds its input, oldest first.
#[derive(Default)]
pub(super) struct Held {
    messages: VecDeque<OwnedData>,
    bytes: usize,
}

/// More was sent while held than a peer that keeps to its bound can send.
#[derive(Debug)]
pub(super) struct Overflow;

impl Held {
    /// Keeps a copy of `data` for later; fails past `limit` bytes.
    pub(super) fn push(&mut self, data: Data<'_>, limit: usize) -> Result<(), Overflow> {
        self.bytes += data.len();
        self.messages.push_back(data.into_owned());
        if self.bytes > limit {
            return Err(Overflow);
        }
        Ok(())
    }

    /// The oldest message kept.
    pub(super) fn pop(&mut self) -> Option<OwnedData> {
        let data = self.messages.pop_front()?;
        self.bytes -= data.as_data().len();
        if self.messages.is_empty() {
            // Its buffer goes too: most connections never hold.
            self.messages = VecDeque::new();
        }
        Some(data)
    }
}
