//! The server's ping loop, as state: a ping every interval; a peer that has not answered the
//! previous one by the next tick is gone, and is closed with 1001 (dart:io's rule, which
//! Serverpod relies on). The socket actor runs the timer.

/// Whether the last ping is still unanswered.
#[derive(Default)]
pub(crate) struct Keepalive {
    awaiting_pong: bool,
}

impl Keepalive {
    /// The interval passed: true if the peer is gone; otherwise a ping is due now.
    pub(crate) fn tick(&mut self) -> bool {
        std::mem::replace(&mut self.awaiting_pong, true)
    }

    /// The peer answered.
    pub(crate) fn pong(&mut self) {
        self.awaiting_pong = false;
    }
}
