//! A resumable connection's positions (docs/PROTOCOL.md §11), for both sides: the call
//! frames it has sent and keeps until the peer acknowledges them, and how many it has
//! received, which it acknowledges in turn. Positions are counts: the n-th call frame a
//! side sends has position n, on whichever socket it travels.

use crate::protocol::Frame;
use std::collections::VecDeque;

/// Acknowledge at least every this many received call frames... (An acknowledgement is a
/// frame for each side to handle; one per 32 frames cost the client's echo about a tenth
/// of its throughput on the 2-core machine, one per 256 is within the noise:
/// `benches/resume.rs`.)
pub(crate) const ACK_EVERY: u64 = 256;

/// ...and every this many bytes of them: a peer that keeps large frames fills its bound
/// with fewer than [`ACK_EVERY`] of them, and would otherwise wait for [`ACK_DELAY`] each
/// time. A bound of at least twice this (the default is 1 MiB) never waits for the timer.
pub(crate) const ACK_BYTES: usize = 32 * 1024;

/// How long a received call frame may wait for its acknowledgement.
pub(crate) const ACK_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// One side of a resumable session, as its sender sees it.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// Call frames written since the session began.
    sent: u64,
    /// The written frames the peer has not acknowledged, oldest first: positions
    /// `sent - kept.len() + 1 ..= sent`.
    kept: VecDeque<Frame>,
    /// Bytes of `kept`.
    kept_bytes: usize,
    /// Call frames received since the session began.
    received: u64,
    /// `received` as last acknowledged to the peer.
    acknowledged: u64,
    /// Bytes of the call frames received since the last acknowledgement.
    unacknowledged_bytes: usize,
}

/// What the peer claimed does not fit what was sent: the session is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Impossible;

impl Replay {
    /// A call frame was written: it is kept until acknowledged.
    pub(crate) fn sent(&mut self, frame: Frame) {
        self.sent += 1;
        self.kept_bytes += frame.len();
        self.kept.push_back(frame);
    }

    /// The peer has received `n` call frames: forget those; returns the bytes freed.
    pub(crate) fn acknowledged(&mut self, n: u64) -> Result<usize, Impossible> {
        let first_kept = self.sent - self.kept.len() as u64;
        if n > self.sent {
            return Err(Impossible);
        }
        let mut freed = 0;
        for _ in first_kept..n {
            if let Some(frame) = self.kept.pop_front() {
                freed += frame.len();
            }
        }
        self.kept_bytes -= freed;
        Ok(freed)
    }

    /// The frames a peer that has received `n` lacks, in order (those before are forgotten,
    /// and their bytes returned). Fails when `n` is more than was sent, or less than the
    /// peer acknowledged already (the frames are gone).
    pub(crate) fn lacking(&mut self, n: u64) -> Result<(usize, Vec<Frame>), Impossible> {
        let first_kept = self.sent - self.kept.len() as u64;
        if n < first_kept {
            return Err(Impossible);
        }
        let freed = self.acknowledged(n)?;
        Ok((freed, self.kept.iter().cloned().collect()))
    }

    /// A call frame of `size` bytes arrived; true when an acknowledgement is due at once.
    pub(crate) fn received_one(&mut self, size: usize) -> bool {
        self.received += 1;
        self.unacknowledged_bytes += size;
        self.received - self.acknowledged >= ACK_EVERY || self.unacknowledged_bytes >= ACK_BYTES
    }

    /// Call frames received since the session began.
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    /// What to acknowledge now, if anything arrived since the last acknowledgement.
    pub(crate) fn take_acknowledgement(&mut self) -> Option<u64> {
        (self.received > self.acknowledged).then(|| {
            self.acknowledged = self.received;
            self.unacknowledged_bytes = 0;
            self.received
        })
    }

    /// Bytes kept for the peer (the server bounds them with its outbound gate instead).
    #[cfg(any(test, feature = "client"))]
    pub(crate) fn kept_bytes(&self) -> usize {
        self.kept_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8) -> Frame {
        Frame::Binary(vec![n; usize::from(n)].into())
    }

    #[test]
    fn kept_frames_go_on_acknowledgement_and_the_rest_is_replayed() {
        let mut r = Replay::default();
        for n in 1..=5 {
            r.sent(frame(n));
        }
        assert_eq!(r.kept_bytes(), 15);
        assert_eq!(r.acknowledged(2), Ok(3));
        // The peer got 3: it lacks 4 and 5.
        let (freed, lacking) = r.lacking(3).unwrap();
        assert_eq!((freed, lacking), (3, vec![frame(4), frame(5)]));
        // An acknowledgement of what is already gone changes nothing; one of more than was
        // sent, or a resume from before what is kept, is impossible.
        assert_eq!(r.acknowledged(3), Ok(0));
        assert_eq!(r.acknowledged(6), Err(Impossible));
        assert_eq!(r.lacking(2), Err(Impossible));
        assert_eq!(r.lacking(5).unwrap(), (9, vec![]));
    }

    #[test]
    fn acknowledgements_are_due_every_few_frames() {
        let mut r = Replay::default();
        assert_eq!(r.take_acknowledgement(), None);
        let due: Vec<bool> = (0..ACK_EVERY).map(|_| r.received_one(10)).collect();
        assert_eq!(due.iter().filter(|d| **d).count(), 1);
        assert_eq!(r.take_acknowledgement(), Some(ACK_EVERY));
        assert_eq!(r.take_acknowledgement(), None);
        // Large frames: due by bytes, after fewer.
        assert!(!r.received_one(ACK_BYTES / 2));
        assert!(r.received_one(ACK_BYTES / 2));
        assert_eq!(r.take_acknowledgement(), Some(ACK_EVERY + 2));
    }
}
