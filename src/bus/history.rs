//! Channel history (docs/MESSAGE_BUS.md): a channel whose name starts with a configured
//! prefix keeps its last messages, each with an offset, so that a subscriber that was away
//! can ask for what it missed.
//!
//! - **Offsets** count a channel's messages from 1, strictly increasing, in delivery order
//!   (offset and delivery happen under the channel's history lock, so two posts can neither
//!   swap nor interleave). Offset 0 is "before the first message".
//! - **Epoch**: this process's, drawn when the bus starts. History lives in the process, so
//!   a restart loses it: a position from another epoch cannot be recovered.
//! - **Recovery**: [`MessageBus::create_stream_since`](super::MessageBus::create_stream_since)
//!   subscribes and reads the history under the same lock, so the messages after the
//!   position split exactly into the backlog and the live ones: no gap, no duplicate.
//!
//! On a server with Redis, a channel's history is Redis's instead (its stream, epoch and
//! offset counter, see `redis_link`), written by global posts; local posts there are
//! delivered without an offset and not kept.

use super::{BusError, Posted};
use crate::protocol::registry::Registry;
use crate::protocol::{Dynamic, Wire};
use crate::sync::{lock, Mutex};
use futures::Stream;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How much history the channels whose names start with `prefix` keep: the last `messages`,
/// none older than `max_age` (if set). Set with [`Config::bus_history`](crate::Config::bus_history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRule {
    /// The channels it applies to: every name that starts with this.
    pub prefix: String,
    /// The most messages kept per channel.
    pub messages: usize,
    /// The oldest a kept message may be.
    pub max_age: Option<Duration>,
}

impl HistoryRule {
    /// The last `messages` of every channel whose name starts with `prefix`.
    pub fn new(prefix: impl Into<String>, messages: usize) -> Self {
        HistoryRule {
            prefix: prefix.into(),
            messages,
            max_age: None,
        }
    }

    /// None older than `age`.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }
}

/// Where a subscription from a position starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Every message after the asked position was still kept, and comes first.
    pub recovered: bool,
    /// The channel's epoch.
    pub epoch: String,
    /// The offset the stream starts after: the asked one if recovered, else the channel's
    /// last (live messages only).
    pub offset: u64,
}

/// A message of a channel with history, with its offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positioned<T> {
    /// The message's offset in its channel (in the epoch of the stream's [`Recovery`]).
    pub offset: u64,
    /// The message.
    pub value: T,
}

/// One channel's kept messages.
struct Kept {
    rule: HistoryRule,
    /// The offset of the last message posted.
    last: u64,
    entries: VecDeque<(u64, Instant, Dynamic)>,
}

impl Kept {
    /// Drops what the rule no longer keeps; how many.
    fn prune(&mut self, now: Instant) -> usize {
        let before = self.entries.len();
        while self.entries.len() > self.rule.messages {
            self.entries.pop_front();
        }
        if let Some(age) = self.rule.max_age {
            while self
                .entries
                .front()
                .is_some_and(|(_, at, _)| now.duration_since(*at) > age)
            {
                self.entries.pop_front();
            }
        }
        before - self.entries.len()
    }
}

/// A fresh epoch: 64 random bits (a process's, or a channel's in Redis).
pub(crate) fn new_epoch() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// Whether a history of epoch `epoch`, whose last offset is `last` and whose oldest kept
/// is `oldest` (`last + 1` when it keeps none), still holds every message after `since`:
/// the one rule for recovering, in process and in Redis.
pub(crate) fn covers(since: (&str, u64), epoch: &str, last: u64, oldest: u64) -> bool {
    let (since_epoch, offset) = since;
    since_epoch == epoch && offset <= last && offset.saturating_add(1) >= oldest
}

/// Every channel's history, and the rules that say which channels keep one.
pub(crate) struct Histories {
    epoch: String,
    rules: Vec<HistoryRule>,
    channels: dashmap::DashMap<String, Arc<Mutex<Kept>>>,
    /// Messages kept, in every channel (`streampod_bus_history_messages`).
    size: metrics::Gauge,
}

impl Histories {
    pub(crate) fn new(rules: Vec<HistoryRule>, size: metrics::Gauge) -> Self {
        Histories {
            // A restarted process has another.
            epoch: new_epoch(),
            rules,
            channels: dashmap::DashMap::new(),
            size,
        }
    }

    /// The rule that gives `channel` a history, if one does (the longest prefix wins).
    pub(crate) fn rule(&self, channel: &str) -> Option<&HistoryRule> {
        self.rules
            .iter()
            .filter(|r| channel.starts_with(&r.prefix))
            .max_by_key(|r| r.prefix.len())
    }

    /// The in-process history of `channel`, if a rule gives it one.
    fn of(&self, channel: &str) -> Option<Arc<Mutex<Kept>>> {
        if let Some(kept) = self.channels.get(channel) {
            return Some(kept.clone());
        }
        let rule = self.rule(channel)?.clone();
        let kept = Arc::new(Mutex::new(Kept {
            rule,
            last: 0,
            entries: VecDeque::new(),
        }));
        Some(
            self.channels
                .entry(channel.to_string())
                .or_insert(kept)
                .clone(),
        )
    }

    /// Gives `message` its offset on `channel` and runs `deliver` with it under the
    /// channel's lock; without history, runs `deliver` with offset 0.
    pub(crate) fn record(&self, channel: &str, message: &Dynamic, deliver: impl FnOnce(u64)) {
        let Some(kept) = self.of(channel) else {
            return deliver(0);
        };
        let mut kept = lock(&kept);
        kept.last += 1;
        let offset = kept.last;
        let now = Instant::now();
        kept.entries.push_back((offset, now, message.clone()));
        let pruned = kept.prune(now);
        self.size.increment(1.0);
        self.size.decrement(pruned as f64);
        deliver(offset);
    }

    /// Runs `subscribe` under `channel`'s lock and returns where a subscription from
    /// `since` starts, with the kept messages after it.
    pub(crate) fn since(
        &self,
        channel: &str,
        since: Option<(&str, u64)>,
        subscribe: impl FnOnce(),
    ) -> (Recovery, VecDeque<(u64, Dynamic)>) {
        let Some(kept) = self.of(channel) else {
            subscribe();
            let recovery = Recovery {
                recovered: false,
                epoch: String::new(),
                offset: 0,
            };
            return (recovery, VecDeque::new());
        };
        let mut kept = lock(&kept);
        let pruned = kept.prune(Instant::now());
        self.size.decrement(pruned as f64);
        subscribe();
        let oldest = kept.entries.front().map_or(kept.last + 1, |(o, _, _)| *o);
        let recovered = since.filter(|s| covers(*s, &self.epoch, kept.last, oldest));
        match recovered {
            Some((_, offset)) => {
                let backlog = kept
                    .entries
                    .iter()
                    .filter(|(o, _, _)| *o > offset)
                    .map(|(o, _, m)| (*o, m.clone()))
                    .collect();
                let recovery = Recovery {
                    recovered: true,
                    epoch: self.epoch.clone(),
                    offset,
                };
                (recovery, backlog)
            }
            None => {
                let recovery = Recovery {
                    recovered: false,
                    epoch: self.epoch.clone(),
                    offset: kept.last,
                };
                (recovery, VecDeque::new())
            }
        }
    }
}

/// The messages of a channel with history from a position: the kept ones after it, then
/// the live ones, each with its offset. Made by
/// [`MessageBus::create_stream_since`](super::MessageBus::create_stream_since).
pub struct HistoryStream<T> {
    pub(super) recovery: Recovery,
    pub(super) backlog: VecDeque<(u64, Dynamic)>,
    pub(super) live: super::BusStream<T>,
    /// The last offset yielded: a live message at or below it came in the backlog.
    pub(super) last: u64,
    pub(super) registry: Weak<Registry>,
}

impl<T> HistoryStream<T> {
    /// Where the stream starts, and whether it recovered what was asked.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }
}

impl<T: Wire> HistoryStream<T> {
    fn decode(&self, message: &Dynamic) -> Result<T, BusError> {
        match self.registry.upgrade() {
            Some(registry) => registry.decode::<T>(message.class_name(), message.data()),
            None => message.decode::<T>(),
        }
        .map_err(BusError::WrongType)
    }
}

impl<T: Wire> Stream for HistoryStream<T> {
    type Item = Result<Positioned<T>, BusError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some((offset, message)) = self.backlog.pop_front() {
            self.last = offset;
            let value = self.decode(&message);
            return Poll::Ready(Some(value.map(|value| Positioned { offset, value })));
        }
        loop {
            let posted: Posted = match self.live.poll_posted(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(posted))) => posted,
            };
            // Global messages carry no offset; kept ones came in the backlog already.
            if posted.offset != 0 && posted.offset <= self.last {
                continue;
            }
            if posted.offset != 0 {
                self.last = posted.offset;
            }
            let offset = posted.offset;
            let value = self.decode(&posted.message);
            return Poll::Ready(Some(value.map(|value| Positioned { offset, value })));
        }
    }
}

impl<T> std::fmt::Debug for HistoryStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryStream")
            .field("recovery", &self.recovery)
            .field("backlog", &self.backlog.len())
            .finish_non_exhaustive()
    }
}
