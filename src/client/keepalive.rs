//! The client's keepalive, for both clients: a protocol `ping` every `ping_interval`, and
//! the socket given up after `idle_timeout` without any frame from the server.

use super::ClientConfig;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::{sleep_until, Instant, Sleep};

/// What the keepalive asks of its socket task.
pub(super) enum Tick {
    /// Send a ping now.
    Ping,
    /// Nothing came for the idle timeout: the socket is dead.
    Idle,
}

/// One timer each for pings and idleness, created once: the idle deadline moves with every
/// frame, but its timer is only re-armed when it fires early.
pub(super) struct Keepalive {
    ping: Pin<Box<Sleep>>,
    idle: Pin<Box<Sleep>>,
    last_frame: Instant,
    /// A frame arrived since `last_frame` was last set: the clock is read once per turn of
    /// the socket task (in [`Keepalive::tick`]), not once per frame.
    fresh: bool,
    ping_interval: Duration,
    idle_timeout: Duration,
}

impl Keepalive {
    pub(super) fn new(config: &ClientConfig) -> Self {
        let now = Instant::now();
        Keepalive {
            ping: Box::pin(sleep_until(now + config.ping_interval)),
            idle: Box::pin(sleep_until(now + config.idle_timeout)),
            last_frame: now,
            fresh: false,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
        }
    }

    /// A frame arrived from the server.
    pub(super) fn frame_seen(&mut self) {
        self.fresh = true;
    }

    /// The next thing to do. Cancel-safe: every branch returns without waiting again after
    /// it changes a timer.
    pub(super) async fn tick(&mut self) -> Tick {
        if std::mem::take(&mut self.fresh) {
            self.last_frame = Instant::now();
        }
        loop {
            tokio::select! {
                () = &mut self.ping => {
                    self.ping.as_mut().reset(Instant::now() + self.ping_interval);
                    return Tick::Ping;
                }
                () = &mut self.idle => {
                    let deadline = self.last_frame + self.idle_timeout;
                    if deadline <= Instant::now() {
                        return Tick::Idle;
                    }
                    self.idle.as_mut().reset(deadline);
                }
            }
        }
    }
}
