//! The counters behind [`Server::stats`](crate::Server::stats), shared by every
//! connection and call of one server.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A snapshot of the server's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// The link to Redis, if the bus uses one.
    pub redis: Option<crate::bus::RedisState>,
    /// Bus channels with local subscribers.
    pub bus_channels: usize,
    /// WebSocket connections open now.
    pub open_connections: usize,
    /// Calls open now, on all connections.
    pub open_calls: usize,
    /// Calls opened successfully since the server started.
    pub calls_opened: u64,
    /// Calls whose method was dropped before it finished, since the server started: those
    /// the client cancelled, those closed by a revocation of their authentication, and
    /// those torn down with their connection or the server's shutdown. (The call log,
    /// `streampod::calls`, says which of these ended each call.)
    pub calls_cancelled: u64,
    /// Connections dropped since the server started because their peer took none of the
    /// bytes the server had for it within `Config::send_timeout`.
    pub peers_not_reading: u64,
    /// Resumable sessions whose socket is gone, kept for their client to resume
    /// (`Config::resume_window`); each still holds its connection slot.
    pub detached_connections: usize,
    /// Bytes written for connections and not yet handed to their sockets (bounded per
    /// connection by `Config::max_outbound_bytes`).
    pub outbound_queued_bytes: usize,
    /// Input values received and not yet taken by their methods (bounded per call by
    /// `Config::max_queued_inputs`).
    pub queued_inputs: usize,
    /// Open calls tracked for revocation (calls on endpoints that require login or
    /// scopes).
    pub authenticated_calls: usize,
}

/// The live counters, shared by every connection and call of one server.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    open_connections: AtomicUsize,
    open_calls: AtomicUsize,
    calls_opened: AtomicU64,
    calls_cancelled: AtomicU64,
    peers_not_reading: AtomicU64,
    detached: AtomicUsize,
    pub(crate) outbound_bytes: AtomicUsize,
    pub(crate) queued_inputs: AtomicUsize,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            redis: None,
            bus_channels: 0,
            open_connections: self.open_connections.load(Ordering::Relaxed),
            open_calls: self.open_calls.load(Ordering::Relaxed),
            calls_opened: self.calls_opened.load(Ordering::Relaxed),
            calls_cancelled: self.calls_cancelled.load(Ordering::Relaxed),
            peers_not_reading: self.peers_not_reading.load(Ordering::Relaxed),
            detached_connections: self.detached.load(Ordering::Relaxed),
            outbound_queued_bytes: self.outbound_bytes.load(Ordering::Relaxed),
            queued_inputs: self.queued_inputs.load(Ordering::Relaxed),
            authenticated_calls: 0,
        }
    }

    pub(crate) fn connection_opened(&self) {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.open_connections.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn session_detached(&self) {
        self.detached.fetch_add(1, Ordering::Relaxed);
    }

    /// A detached session was resumed or ended.
    pub(crate) fn session_resumed(&self) {
        self.detached.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn peer_not_reading(&self) {
        self.peers_not_reading.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn call_opened(&self) {
        self.open_calls.fetch_add(1, Ordering::Relaxed);
        self.calls_opened.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn call_closed(&self, cancelled: bool) {
        self.open_calls.fetch_sub(1, Ordering::Relaxed);
        if cancelled {
            self.calls_cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Counts `n` out of a bounded queue and out of the server-wide gauge that mirrors it
/// (never below zero); true when the queue just fell below `limit`, so waiters should wake.
pub(crate) fn release(
    queued: &crate::sync::AtomicUsize,
    gauge: &AtomicUsize,
    n: usize,
    limit: usize,
) -> bool {
    let before = queued
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
            Some(q.saturating_sub(n))
        })
        .unwrap_or(0);
    let after = before.saturating_sub(n);
    gauge.fetch_sub(before - after, Ordering::Relaxed);
    before >= limit && after < limit
}
