//! [`Resumable`]: the client's side of a resumable connection (docs/PROTOCOL.md §11): the
//! session's token and window from the server's `rst`, the call frames sent and kept until
//! the server acknowledges them, and the acknowledgements the client owes.

use crate::protocol::Frame;
use crate::replay::{Impossible, Replay, ACK_DELAY};
use std::pin::Pin;
use std::time::Duration;
use tokio::time::Sleep;

/// A session the server made resumable.
pub(super) struct Resumable {
    /// The server's token for it: a secret, never logged.
    pub(super) token: String,
    /// How long the server keeps the session after the socket drops.
    pub(super) window: Duration,
    replay: Replay,
    /// The most bytes kept before the client stops producing (`ClientConfig::resume_buffer`).
    buffer: usize,
    /// Runs while an acknowledgement is owed and not yet due by count.
    ack_timer: Option<Pin<Box<Sleep>>>,
}

impl Resumable {
    pub(super) fn new(token: String, window: Duration, buffer: usize) -> Self {
        Resumable {
            token,
            window,
            replay: Replay::default(),
            buffer,
            ack_timer: None,
        }
    }

    /// A call frame was written (or queued while the socket is away): kept until the server
    /// acknowledges it.
    pub(super) fn sent(&mut self, frame: Frame) {
        self.replay.sent(frame);
    }

    /// Fewer bytes are kept than the bound: the client may produce more.
    pub(super) fn has_room(&self) -> bool {
        self.replay.kept_bytes() < self.buffer
    }

    /// The server acknowledged `n` call frames.
    pub(super) fn acknowledged(&mut self, n: u64) -> Result<(), Impossible> {
        self.replay.acknowledged(n).map(drop)
    }

    /// A call frame of `size` bytes arrived: the acknowledgement to send now, if one is due
    /// by count; otherwise one is due within [`ACK_DELAY`].
    pub(super) fn received_one(&mut self, size: usize) -> Option<u64> {
        if self.replay.received_one(size) {
            self.ack_timer = None;
            return self.replay.take_acknowledgement();
        }
        if self.ack_timer.is_none() {
            self.ack_timer = Some(Box::pin(tokio::time::sleep(ACK_DELAY)));
        }
        None
    }

    /// Call frames received in the session, as `rsr` reports them.
    pub(super) fn received(&self) -> u64 {
        self.replay.received()
    }

    /// Completes with the acknowledgement to send when the timer of one owed fires; never
    /// while none is owed.
    pub(super) async fn ack_due(&mut self) -> Option<u64> {
        match &mut self.ack_timer {
            Some(timer) => timer.await,
            None => futures::future::pending().await,
        }
        self.ack_timer = None;
        self.replay.take_acknowledgement()
    }

    /// The session resumed on a new socket whose server has received `n` of the client's
    /// call frames: the frames it lacks, in order, to write first. What the client had
    /// received went with `rsr`, so no acknowledgement is owed.
    pub(super) fn resumed(&mut self, n: u64) -> Result<Vec<Frame>, Impossible> {
        self.ack_timer = None;
        let _ = self.replay.take_acknowledgement();
        self.replay.lacking(n).map(|(_, lacking)| lacking)
    }
}
