//! The live connections of one server: admission at the handshake, and graceful shutdown.
//!
//! A handshake takes a [`Permit`] before the connection exists, so concurrent handshakes
//! can never admit more than the limit; the permit goes with the connection's actor and is
//! given back when it is dropped. Every running connection registers its address here, so
//! that shutdown can reach it: first the helpers a connection attached (its call supervisor,
//! which stops its calls and so frees a connection that waits for a method to take its
//! input), then every connection, told to close with 1001.

use crate::shutdown::GoingAway;
use actix::prelude::*;
use dashmap::DashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One live connection, as shutdown reaches it.
struct LiveConnection {
    close: Recipient<GoingAway>,
    helpers: Vec<Recipient<GoingAway>>,
}

/// The live connections of one server, and the count of admitted ones.
pub(crate) struct Connections {
    live: DashMap<u64, LiveConnection>,
    admitted: Arc<AtomicUsize>,
    limit: usize,
    /// Completed once no connection is live: shutdown waits on this, without polling.
    idle: tokio::sync::Notify,
}

/// A place among the admitted connections, held for the connection's life.
pub(crate) struct Permit {
    admitted: Arc<AtomicUsize>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Connections {
    pub(crate) fn new(limit: usize) -> Self {
        Connections {
            live: DashMap::new(),
            admitted: Arc::new(AtomicUsize::new(0)),
            limit,
            idle: tokio::sync::Notify::new(),
        }
    }

    /// A place for one more connection, or `None` when the server is full.
    pub(crate) fn admit(&self) -> Option<Permit> {
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Permit {
                admitted: self.admitted.clone(),
            })
    }

    pub(crate) fn joined(&self, id: u64, close: Recipient<GoingAway>) {
        self.live.insert(
            id,
            LiveConnection {
                close,
                helpers: Vec::new(),
            },
        );
    }

    /// `helper` hears [`GoingAway`] before its connection does.
    pub(crate) fn attach(&self, id: u64, helper: Recipient<GoingAway>) {
        if let Some(mut entry) = self.live.get_mut(&id) {
            // Usually the only one: no room for four.
            entry.helpers.reserve_exact(1);
            entry.helpers.push(helper);
        }
    }

    pub(crate) fn left(&self, id: u64) {
        self.live.remove(&id);
        if self.live.is_empty() {
            self.idle.notify_waiters();
        }
    }

    /// Tells every helper, then every connection, that the server is going away.
    pub(crate) fn close_all(&self) {
        for entry in self.live.iter() {
            entry.helpers.iter().for_each(|h| h.do_send(GoingAway));
        }
        for entry in self.live.iter() {
            entry.close.do_send(GoingAway);
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.live.len()
    }

    /// Completes once no connection is live.
    pub(crate) async fn all_gone(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Registered before the check, so a last `left` in between is not missed.
            notified.as_mut().enable();
            if self.live.is_empty() {
                return;
            }
            notified.await;
        }
    }
}
