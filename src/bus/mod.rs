//! The message bus: channels that connect calls to each other, in-process by default and
//! across server nodes through Redis (docs/MESSAGE_BUS.md).
//!
//! - **Local delivery** is in-process and in posting order per channel. Callback listeners
//!   run synchronously when a message is delivered; streams read from a bounded buffer per
//!   subscriber ([`Config::bus_buffer`](crate::Config::bus_buffer)). A stream that falls
//!   more than a buffer behind loses the oldest messages and is told so with
//!   [`BusError::Lagged`]; nobody else is slowed.
//! - **Global delivery** publishes on the Redis channel of the same name. Every node that
//!   has local subscribers on a channel is subscribed to it in Redis and delivers what
//!   arrives locally, the posting node included, so each local subscriber sees a global
//!   message exactly once and nothing is echoed back.
//! - **Revocation** of authentication travels on the bus too (see `auth::revocation`).
//!
//! The Redis link is the `redis` feature; without it the bus is in-process only, and a
//! server configured with a Redis URL does not build.

mod history;
#[cfg(feature = "redis")]
mod redis_link;

pub use history::{HistoryRule, HistoryStream, Positioned, Recovery};

use crate::instruments::BusMetrics;
#[cfg(feature = "redis")]
use redis_link::RedisLink;

/// Without the `redis` feature there is no link: `Option<RedisLink>` is always `None`, and
/// the code that would use one stays the same.
#[cfg(not(feature = "redis"))]
enum RedisLink {}

#[cfg(not(feature = "redis"))]
impl RedisLink {
    fn state(&self) -> RedisState {
        match *self {}
    }
    fn subscribe(&self, _: &str) {
        match *self {}
    }
    fn unsubscribe(&self, _: &str) {
        match *self {}
    }
    async fn publish(&self, _: &str, _: &Dynamic, _: Option<usize>) -> Result<(), BusError> {
        match *self {}
    }
}

/// The state of a node's link to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RedisState {
    /// Connecting for the first time.
    Connecting,
    /// Connected and subscribed.
    Connected,
    /// Lost; reconnecting with backoff.
    Disconnected,
}

#[cfg(feature = "redis")]
use crate::error::shared;
use crate::error::Source;
use crate::protocol::registry::Registry;
use crate::protocol::{DecodeError, Dynamic, EncodeError, Wire};
use dashmap::DashMap;
use futures::future::BoxFuture;
use futures::Stream;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use tokio::sync::broadcast;

/// Where a posted message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Scope {
    /// Only this process.
    Local,
    /// Every node, through Redis. An error without Redis.
    Global,
    /// Global when Redis is configured, else local.
    #[default]
    Auto,
}

/// A bus error ends a method's stream as a failure (logged on the server; the client sees
/// the call closed with an error): `session.messages().post_message(..).await?` in a method.
impl From<BusError> for crate::StreamError {
    fn from(e: BusError) -> Self {
        crate::StreamError::failed(e)
    }
}

/// What can go wrong on the bus. Where another layer's error caused it,
/// [`std::error::Error::source`] gives it (the message does not repeat it).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// A global post on a server without Redis.
    #[error("global messages need Redis, and none is configured")]
    NoRedis,
    /// Redis could not take the message (it was not posted), or cannot be used at all.
    #[error("redis is unavailable: {reason}")]
    Redis {
        /// What happened.
        reason: String,
        /// Redis's own error, if it gave one.
        #[source]
        source: Option<Source>,
    },
    /// The message could not be encoded.
    #[error("cannot encode the message")]
    Encode(#[source] EncodeError),
    /// A message on a typed stream was of another type (the stream goes on).
    #[error("a message of another type on the channel")]
    WrongType(#[source] DecodeError),
    /// The stream fell behind and lost this many of the oldest messages (it goes on).
    #[error("stream fell behind and missed {0} messages")]
    Lagged(u64),
}

impl BusError {
    pub(crate) fn redis(reason: impl Into<String>) -> Self {
        BusError::Redis {
            reason: reason.into(),
            source: None,
        }
    }

    #[cfg(feature = "redis")]
    pub(crate) fn redis_from(
        reason: impl fmt::Display,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BusError::Redis {
            reason: reason.to_string(),
            source: shared(error),
        }
    }
}

/// Equal when they say the same; sources are not compared.
impl PartialEq for BusError {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.to_string() == other.to_string()
    }
}

impl Eq for BusError {}

/// A listener callback.
pub type Listener = Arc<dyn Fn(&Dynamic) + Send + Sync>;

/// The id of a listener, to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// A message as its channel's subscribers get it: with its offset in the channel's history
/// (0 for a channel without history, and for global messages).
#[derive(Clone)]
pub(crate) struct Posted {
    message: Dynamic,
    offset: u64,
}

struct Channel {
    tx: broadcast::Sender<Posted>,
    listeners: Vec<(u64, Listener)>,
    /// Listeners plus live streams: the channel (and its Redis subscription) lives while
    /// this is above zero.
    subscribers: usize,
}

/// The bus of one server. Clone it freely.
#[derive(Clone)]
pub struct MessageBus {
    inner: Arc<BusInner>,
}

pub(crate) struct BusInner {
    channels: DashMap<String, Channel>,
    next_id: AtomicU64,
    buffer: usize,
    redis: Option<RedisLink>,
    /// The server's classes: listeners and streams decode messages against them.
    registry: Arc<Registry>,
    metrics: BusMetrics,
    histories: history::Histories,
}

impl MessageBus {
    /// A bus; with `redis_url`, connected to Redis (the link connects, and reconnects, in
    /// the background); channels keep history by `history`.
    pub(crate) fn new(
        buffer: usize,
        redis_url: Option<&str>,
        registry: Arc<Registry>,
        history: Vec<HistoryRule>,
    ) -> Result<Self, BusError> {
        #[cfg(not(feature = "redis"))]
        if redis_url.is_some() {
            return Err(BusError::redis(
                "a Redis URL needs streampod's `redis` feature",
            ));
        }
        let metrics = BusMetrics::new();
        let history_size = metrics.history.clone();
        let inner = Arc::new_cyclic(|_weak: &Weak<BusInner>| {
            #[cfg(feature = "redis")]
            let redis = redis_url.map(|url| RedisLink::start(url, _weak.clone()));
            #[cfg(not(feature = "redis"))]
            let redis = None;
            BusInner {
                channels: DashMap::new(),
                next_id: AtomicU64::new(1),
                buffer: buffer.max(1),
                redis,
                registry,
                metrics,
                histories: history::Histories::new(history, history_size),
            }
        });
        #[cfg(feature = "redis")]
        if let Some(Err(e)) = inner.redis.as_ref().map(RedisLink::check) {
            return Err(e);
        }
        Ok(MessageBus { inner })
    }

    /// Whether global messages go through Redis.
    pub fn has_redis(&self) -> bool {
        self.inner.redis.is_some()
    }

    /// The state of the Redis link, if one is configured.
    pub fn redis_state(&self) -> Option<RedisState> {
        self.inner.redis.as_ref().map(RedisLink::state)
    }

    /// Posts `message` on `channel`. With [`Scope::Global`] (or `Auto` with Redis) the
    /// message goes to Redis, and the result says whether Redis took it: a message is
    /// never dropped silently.
    pub async fn post_message<T: Wire>(
        &self,
        channel: &str,
        message: &T,
        scope: Scope,
    ) -> Result<(), BusError> {
        let message = Dynamic::new(message).map_err(BusError::Encode)?;
        self.post_dynamic(channel, message, scope).await
    }

    /// [`MessageBus::post_message`] for a value already wrapped.
    pub async fn post_dynamic(
        &self,
        channel: &str,
        message: Dynamic,
        scope: Scope,
    ) -> Result<(), BusError> {
        let global = matches!(
            (scope, &self.inner.redis),
            (Scope::Global, _) | (Scope::Auto, Some(_))
        );
        self.inner.metrics.posted(global);
        match (scope, &self.inner.redis) {
            (Scope::Local | Scope::Auto, None) => {
                self.inner.post_local(channel, &message);
                Ok(())
            }
            // With Redis, history is Redis's: a local post is delivered without an offset.
            (Scope::Local, Some(_)) => {
                self.inner.deliver(channel, &message, 0);
                Ok(())
            }
            (Scope::Global, None) => Err(BusError::NoRedis),
            (Scope::Global | Scope::Auto, Some(link)) => {
                let kept = self.inner.histories.rule(channel).map(|r| r.messages);
                link.publish(channel, &message, kept).await
            }
        }
    }

    /// Calls `listener` with every message delivered on `channel`, until removed.
    pub fn add_listener(
        &self,
        channel: &str,
        listener: impl Fn(&Dynamic) + Send + Sync + 'static,
    ) -> ListenerId {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner
            .subscribe(channel, |c| c.listeners.push((id, Arc::new(listener))));
        ListenerId(id)
    }

    /// Removes a listener.
    pub fn remove_listener(&self, channel: &str, id: ListenerId) {
        self.inner.unsubscribe(channel, |c| {
            let before = c.listeners.len();
            c.listeners.retain(|(i, _)| *i != id.0);
            before != c.listeners.len()
        });
    }

    /// A stream of the messages on `channel` from now on, as `T`. A message of another
    /// type is an error item; so is falling behind. Dropping the stream unsubscribes.
    pub fn create_stream<T: Wire>(&self, channel: &str) -> BusStream<T> {
        self.stream_until(channel, None)
    }

    pub(crate) fn stream_until<T: Wire>(
        &self,
        channel: &str,
        until: Option<BoxFuture<'static, ()>>,
    ) -> BusStream<T> {
        let mut rx = None;
        self.inner
            .subscribe(channel, |c| rx = Some(c.tx.subscribe()));
        let rx = rx.unwrap_or_else(|| broadcast::channel(1).1);
        BusStream {
            next: Some(Box::pin(receive(rx))),
            subscribed: true,
            until,
            bus: Arc::downgrade(&self.inner),
            channel: channel.to_string(),
            _type: PhantomData,
        }
    }

    /// The messages of `channel` from a position (`since`: an epoch and an offset, as a
    /// [`Positioned`] message and its stream's [`Recovery`] gave them), each with its offset:
    /// every kept message after it, then the live ones, with no gap and no duplicate
    /// between the two. [`HistoryStream::recovery`] says whether the position could be
    /// recovered (same epoch, nothing after it pruned); if not, the stream has the live
    /// messages only. Without a position, the live ones and where they start. The channel
    /// keeps history if [`Config::bus_history`](crate::Config::bus_history) says so; a
    /// channel that keeps none recovers nothing. History is kept for local posts only.
    ///
    /// With Redis, the history is Redis's, shared by every node: a subscriber recovers on
    /// any node, and the error says if Redis could not be asked.
    pub async fn create_stream_since<T: Wire>(
        &self,
        channel: &str,
        since: Option<(&str, u64)>,
    ) -> Result<HistoryStream<T>, BusError> {
        self.history_stream_until(channel, since, None).await
    }

    pub(crate) async fn history_stream_until<T: Wire>(
        &self,
        channel: &str,
        since: Option<(&str, u64)>,
        until: Option<BoxFuture<'static, ()>>,
    ) -> Result<HistoryStream<T>, BusError> {
        #[cfg(feature = "redis")]
        if let (Some(link), Some(_)) = (&self.inner.redis, self.inner.histories.rule(channel)) {
            // Subscribed first (the link subscribes in Redis before it reads the history):
            // a message posted meanwhile arrives live, and its offset tells it from the kept.
            let live = self.stream_until::<T>(channel, until);
            let after = since.map_or(u64::MAX - 1, |(_, offset)| offset);
            let kept = link.history(channel, after).await?;
            let recovered =
                since.is_some_and(|s| history::covers(s, &kept.epoch, kept.last, kept.oldest));
            if since.is_some() {
                self.inner.metrics.recovery(recovered);
            }
            let (offset, backlog) = match (recovered, since) {
                (true, Some((_, offset))) => (offset, kept.entries.into_iter().collect()),
                _ => (kept.last, Default::default()),
            };
            return Ok(HistoryStream {
                last: offset,
                recovery: Recovery {
                    recovered,
                    epoch: kept.epoch,
                    offset,
                },
                backlog,
                live,
                registry: Arc::downgrade(&self.inner.registry),
            });
        }
        let mut live = None;
        let (recovery, backlog) = self.inner.histories.since(channel, since, || {
            live = Some(self.stream_until::<T>(channel, until));
        });
        let live = live.unwrap_or_else(|| self.stream_until::<T>(channel, None));
        if since.is_some() {
            self.inner.metrics.recovery(recovery.recovered);
        }
        Ok(HistoryStream {
            last: recovery.offset,
            recovery,
            backlog,
            live,
            registry: Arc::downgrade(&self.inner.registry),
        })
    }

    /// Local subscribers (listeners and streams) of `channel`.
    pub fn subscribers(&self, channel: &str) -> usize {
        self.inner
            .channels
            .get(channel)
            .map_or(0, |c| c.subscribers)
    }

    /// Channels with local subscribers.
    pub fn channel_count(&self) -> usize {
        self.inner.channels.len()
    }
}

impl BusInner {
    /// Delivers a message to this process's subscribers of `channel`, in order, with its
    /// offset (0 for none): a global one from Redis, or a local post on a server with Redis.
    pub(crate) fn deliver(&self, channel: &str, message: &Dynamic, offset: u64) {
        let listeners = self.send(channel, message, offset);
        self.call(channel, message, listeners);
    }

    /// Delivers a local post, first giving it its offset if the channel keeps history.
    fn post_local(&self, channel: &str, message: &Dynamic) {
        let mut listeners = Vec::new();
        self.histories.record(channel, message, |offset| {
            listeners = self.send(channel, message, offset);
        });
        self.call(channel, message, listeners);
    }

    /// Sends `message` to the channel's streams; the listeners to call (outside any lock:
    /// a listener may use the bus itself).
    fn send(&self, channel: &str, message: &Dynamic, offset: u64) -> Vec<Listener> {
        match self.channels.get(channel) {
            Some(c) => {
                let posted = Posted {
                    message: message.clone(),
                    offset,
                };
                let streams = c.tx.send(posted).unwrap_or(0);
                let heard = streams + c.listeners.len();
                self.metrics.delivered.increment(heard as u64);
                c.listeners.iter().map(|(_, l)| l.clone()).collect()
            }
            None => Vec::new(),
        }
    }

    fn call(&self, channel: &str, message: &Dynamic, listeners: Vec<Listener>) {
        for listener in listeners {
            // A listener that panics must not take the poster (or the Redis link) with it.
            let heard = || self.registry.within(|| listener(message));
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(heard)).is_err() {
                log::error!("a bus listener on {channel} panicked");
            }
        }
    }

    fn subscribe(&self, channel: &str, add: impl FnOnce(&mut Channel)) {
        let mut first = false;
        let mut entry = self.channels.entry(channel.to_string()).or_insert_with(|| {
            first = true;
            Channel {
                tx: broadcast::channel(self.buffer).0,
                listeners: Vec::new(),
                subscribers: 0,
            }
        });
        entry.subscribers += 1;
        add(&mut entry);
        drop(entry);
        if first {
            if let Some(link) = &self.redis {
                link.subscribe(channel);
            }
        }
    }

    /// Drops one subscriber if `remove` says it was one; the last one closes the channel.
    fn unsubscribe(&self, channel: &str, remove: impl FnOnce(&mut Channel) -> bool) {
        let emptied = match self.channels.get_mut(channel) {
            Some(mut c) => {
                if remove(&mut c) {
                    c.subscribers = c.subscribers.saturating_sub(1);
                }
                c.subscribers == 0
            }
            None => false,
        };
        if emptied
            && self
                .channels
                .remove_if(channel, |_, c| c.subscribers == 0)
                .is_some()
        {
            if let Some(link) = &self.redis {
                link.unsubscribe(channel);
            }
        }
    }
}

impl fmt::Debug for MessageBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageBus")
            .field("channels", &self.channel_count())
            .field("redis", &self.redis_state())
            .finish_non_exhaustive()
    }
}

type Received = (
    Result<Posted, broadcast::error::RecvError>,
    broadcast::Receiver<Posted>,
);

async fn receive(mut rx: broadcast::Receiver<Posted>) -> Received {
    let result = rx.recv().await;
    (result, rx)
}

/// The messages of one channel, as `T`. Ends when its session closes (for streams made
/// from a session); dropping it unsubscribes.
pub struct BusStream<T> {
    next: Option<BoxFuture<'static, Received>>,
    subscribed: bool,
    until: Option<BoxFuture<'static, ()>>,
    bus: Weak<BusInner>,
    channel: String,
    _type: PhantomData<fn() -> T>,
}

impl<T: Wire> Stream for BusStream<T> {
    type Item = Result<T, BusError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let posted = match self.poll_posted(cx) {
            Poll::Ready(Some(Ok(posted))) => posted,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        let message = posted.message;
        let registry = self.bus.upgrade().map(|bus| bus.registry.clone());
        Poll::Ready(Some(
            match &registry {
                Some(registry) => registry.decode::<T>(message.class_name(), message.data()),
                // The bus is gone with its server: against the process's classes.
                None => message.decode::<T>(),
            }
            .map_err(BusError::WrongType),
        ))
    }
}

impl<T> BusStream<T> {
    /// The next message as it was posted, with its offset.
    pub(crate) fn poll_posted(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Posted, BusError>>> {
        if let Some(until) = self.until.as_mut() {
            if until.as_mut().poll(cx).is_ready() {
                self.next = None;
                self.until = None;
                self.release();
            }
        }
        let Some(next) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        let (result, rx) = match next.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r,
        };
        self.next = Some(Box::pin(receive(rx)));
        Poll::Ready(Some(match result {
            Ok(posted) => Ok(posted),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                if let Some(bus) = self.bus.upgrade() {
                    bus.metrics.lagged.increment(1);
                }
                Err(BusError::Lagged(n))
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.next = None;
                return Poll::Ready(None);
            }
        }))
    }
}

impl<T> BusStream<T> {
    /// Gives up the subscription, once.
    fn release(&mut self) {
        if std::mem::take(&mut self.subscribed) {
            if let Some(bus) = self.bus.upgrade() {
                bus.unsubscribe(&self.channel, |_| true);
            }
        }
    }
}

impl<T> Drop for BusStream<T> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<T> std::fmt::Debug for BusStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusStream")
            .field("channel", &self.channel)
            .finish()
    }
}
