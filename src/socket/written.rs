//! The socket's frames on their way out: written straight into one buffer of the socket's
//! own, which the response body (`Drain`) takes ahead of the WebSocket context's output.
//! Data frames and pongs are written here, in order; the close goes through the context,
//! which ends the body after it, and so does the keepalive's ping (ordered with nothing, and
//! an idle connection then holds no buffer for it).
//!
//! Through the context, each frame was a message in its queue, then copied by its codec
//! into a buffer that started empty at every turn and grew by reallocation (with the
//! allocator's merging that set off, about 4 % of the server at 100 connections, `perf`).
//! Here a turn's frames are appended to a buffer that the body hands over without a copy;
//! once the HTTP layer has copied them out, the next turn writes over the same block. The
//! block stays until the connection's next ping (a block per turn instead cost more CPU at
//! one stream: a turn's few KiB is a "large" request for glibc, which merges first).

use crate::protocol::Frame;
use crate::websocket::{write_frame, Opcode};
use bytes::{Bytes, BytesMut};
use std::cell::RefCell;
use std::rc::Rc;

/// A block larger than this after a burst is not kept for the next turn.
const KEPT: usize = 64 * 1024;

/// The buffer: one handle with the socket actor, one with the response body. Both live on
/// the connection's worker thread (the actor runs inside the body's poll).
#[derive(Clone, Default)]
pub(crate) struct Written(Rc<RefCell<BytesMut>>);

impl Written {
    /// Appends `frame`, after every frame written before it.
    pub(crate) fn frame(&self, frame: &Frame) {
        let (opcode, payload) = match frame {
            Frame::Binary(bytes) => (Opcode::Binary, &bytes[..]),
            Frame::Text(text) => (Opcode::Text, text.as_bytes()),
        };
        write_frame(&mut *self.0.borrow_mut(), opcode, payload, None);
    }

    /// Appends a pong carrying `payload` (a ping's, at most 125 bytes).
    pub(crate) fn pong(&self, payload: &[u8]) {
        debug_assert!(payload.len() <= crate::websocket::CONTROL_MAX);
        write_frame(&mut *self.0.borrow_mut(), Opcode::Pong, payload, None);
    }

    /// Everything written since the last take, if anything.
    pub(crate) fn take(&self) -> Option<Bytes> {
        let mut buf = self.0.borrow_mut();
        if buf.is_empty() {
            return None;
        }
        let taken = buf.split().freeze();
        if taken.len() > KEPT {
            // The next turn starts a block of its own; this one goes with what was taken.
            *buf = BytesMut::new();
        }
        Some(taken)
    }

    /// Lets the block go while nothing is written: an idle connection keeps no buffer.
    pub(crate) fn release(&self) {
        let mut buf = self.0.borrow_mut();
        if buf.is_empty() {
            *buf = BytesMut::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_in_order_and_the_next_turn_reuses_the_block() {
        let written = Written::default();
        assert!(written.take().is_none());
        written.frame(&Frame::Binary(Bytes::from_static(b"ab")));
        written.pong(b"p");
        written.frame(&Frame::Text("c".to_string()));
        let taken = written.take().unwrap();
        // FIN + binary, 2 bytes; FIN + pong, 1 byte; FIN + text, 1 byte; unmasked.
        let expected = [0x82, 2, b'a', b'b', 0x8a, 1, b'p', 0x81, 1, b'c'];
        assert_eq!(&taken[..], &expected[..]);
        let block = taken.as_ptr();
        drop(taken);
        written.frame(&Frame::Binary(Bytes::from_static(b"d")));
        let again = written.take().unwrap();
        assert_eq!(&again[..], &[0x82, 1, b'd'][..]);
        // In the same block: after what was taken, or over it once that is gone.
        let offset = (again.as_ptr() as usize).wrapping_sub(block as usize);
        assert!(offset <= expected.len(), "the block was not reused");
    }

    #[test]
    fn a_burst_and_an_idle_connection_keep_no_block() {
        let written = Written::default();
        written.frame(&Frame::Binary(Bytes::from(vec![1; KEPT + 1])));
        let burst = written.take().unwrap();
        assert_eq!(written.0.borrow().capacity(), 0);
        drop(burst);
        written.frame(&Frame::Binary(Bytes::from_static(b"x")));
        drop(written.take());
        written.release();
        assert_eq!(written.0.borrow().capacity(), 0);
    }
}
