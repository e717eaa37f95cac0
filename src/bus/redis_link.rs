//! The link between one node's bus and Redis: one thread with its own small runtime, so the
//! bus works the same whatever runtime (or none) its users run on.
//!
//! The link keeps the set of channels that have local subscribers, subscribes them in
//! Redis, delivers what Redis sends to the local bus, and publishes global posts. When Redis
//! goes away, posts fail at once (never silently dropped), the link reconnects with backoff
//! and subscribes every channel again.

use super::history::new_epoch;
use super::{BusError, BusInner, RedisState};
use crate::protocol::Dynamic;
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

enum Command {
    Subscribe(String),
    Unsubscribe(String),
    Publish {
        channel: String,
        payload: Vec<u8>,
        /// For a channel with history: the messages Redis keeps.
        kept: Option<usize>,
        reply: oneshot::Sender<Result<(), BusError>>,
    },
    /// A channel's history after an offset. Commands run in order, so a `Subscribe` sent
    /// before it is in effect when it runs: nothing falls between history and live.
    History {
        channel: String,
        after: u64,
        reply: oneshot::Sender<Result<RedisHistory, BusError>>,
    },
}

/// A channel's history as Redis holds it (docs/MESSAGE_BUS.md, history across nodes): its
/// epoch, the last offset given, and the kept messages after the asked offset.
pub(crate) struct RedisHistory {
    pub(crate) epoch: String,
    pub(crate) last: u64,
    /// The oldest offset kept (`last + 1` when none is).
    pub(crate) oldest: u64,
    pub(crate) entries: Vec<(u64, Dynamic)>,
}

/// The first byte of a published message that carries its offset: `0xC1`, which no
/// MessagePack value starts with; then the offset in decimal and `:`; then the wrapped value.
const KEPT: u8 = 0xC1;

/// What both scripts start with: the channel's epoch (`ARGV[1]`), drawn now if Redis has
/// none (a new channel, or a Redis that lost its data, whose old offsets go with it).
macro_rules! epoch_or_new {
    () => {
        r#"
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1], KEYS[3])
end
"#
    };
}

/// A post on a channel with history, atomically: the channel's epoch, the next offset, the
/// message (`ARGV[2]`) added to the channel's stream (trimmed to `ARGV[3]` entries), and
/// published on `ARGV[4]` with its offset.
const POST_KEPT: &str = concat!(
    epoch_or_new!(),
    r#"
local offset = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '0-' .. offset, 'm', ARGV[2])
redis.call('PUBLISH', ARGV[4], string.char(193) .. offset .. ':' .. ARGV[2])
return offset
"#
);

/// A channel's history after an offset (`ARGV[2]` is that offset + 1), with its epoch and
/// last offset, and the oldest entry kept.
const HISTORY: &str = concat!(
    epoch_or_new!(),
    r#"
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
local entries = redis.call('XRANGE', KEYS[1], '0-' .. ARGV[2], '+')
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
return {epoch, last, entries, oldest}
"#
);

/// The keys of a channel's history: its stream, its epoch, its offset counter.
fn history_keys(channel: &str) -> [String; 3] {
    [
        format!("streampod:history:{channel}"),
        format!("streampod:epoch:{channel}"),
        format!("streampod:offset:{channel}"),
    ]
}

pub(crate) struct RedisLink {
    commands: mpsc::UnboundedSender<Command>,
    state: Arc<AtomicU8>,
    invalid: Option<BusError>,
}

impl RedisLink {
    /// Starts the link's thread. A URL that cannot be parsed is reported by
    /// [`RedisLink::check`].
    pub(crate) fn start(url: &str, bus: Weak<BusInner>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(AtomicU8::new(RedisState::Connecting as u8));
        let client = match redis::Client::open(url) {
            Ok(client) => client,
            Err(e) => {
                return RedisLink {
                    commands: tx,
                    state,
                    invalid: Some(BusError::redis_from("invalid Redis URL", e)),
                }
            }
        };
        let thread_state = state.clone();
        let spawned = std::thread::Builder::new()
            .name("streampod-redis".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(run(client, rx, bus, thread_state)),
                    Err(e) => log::error!("cannot start the Redis link's runtime: {e}"),
                }
            });
        let invalid = spawned
            .err()
            .map(|e| BusError::redis_from("cannot start the Redis link", e));
        RedisLink {
            commands: tx,
            state,
            invalid,
        }
    }

    pub(crate) fn check(&self) -> Result<(), BusError> {
        self.invalid.clone().map_or(Ok(()), Err)
    }

    pub(crate) fn state(&self) -> RedisState {
        match self.state.load(Ordering::Relaxed) {
            0 => RedisState::Connecting,
            1 => RedisState::Connected,
            _ => RedisState::Disconnected,
        }
    }

    pub(crate) fn subscribe(&self, channel: &str) {
        let _ = self.commands.send(Command::Subscribe(channel.to_string()));
    }

    pub(crate) fn unsubscribe(&self, channel: &str) {
        let _ = self
            .commands
            .send(Command::Unsubscribe(channel.to_string()));
    }

    /// Publishes `message` on `channel`; with `kept`, also keeps it in the channel's
    /// history in Redis, at most `kept` messages.
    pub(crate) async fn publish(
        &self,
        channel: &str,
        message: &Dynamic,
        kept: Option<usize>,
    ) -> Result<(), BusError> {
        let mut payload = Vec::with_capacity(message.data().len() + 32);
        message.write_wrapped(&mut payload);
        self.ask(|reply| Command::Publish {
            channel: channel.to_string(),
            payload,
            kept,
            reply,
        })
        .await
    }

    /// `channel`'s history in Redis after offset `after`.
    pub(crate) async fn history(
        &self,
        channel: &str,
        after: u64,
    ) -> Result<RedisHistory, BusError> {
        self.ask(|reply| Command::History {
            channel: channel.to_string(),
            after,
            reply,
        })
        .await
    }

    /// Sends the link's task the command `command` makes with a reply channel, and waits
    /// for its answer.
    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, BusError>>) -> Command,
    ) -> Result<T, BusError> {
        let stopped = || BusError::redis("the Redis link has stopped");
        let (reply, answer) = oneshot::channel();
        self.commands.send(command(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn set(state: &AtomicU8, to: RedisState) {
    state.store(to as u8, Ordering::Relaxed);
    crate::instruments::redis_up(to == RedisState::Connected);
}

/// Why the connected phase ended.
enum Ended {
    /// The bus is gone: stop the thread.
    BusGone,
    /// Redis went away: reconnect.
    Lost,
}

async fn run(
    client: redis::Client,
    mut commands: mpsc::UnboundedReceiver<Command>,
    bus: Weak<BusInner>,
    state: Arc<AtomicU8>,
) {
    let mut channels: HashSet<String> = HashSet::new();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let pubsub = client.get_async_pubsub().await?;
            let publisher = client.get_multiplexed_async_connection().await?;
            redis::RedisResult::Ok((pubsub, publisher))
        })
        .await;
        let ended = match connected {
            Ok(Ok((pubsub, publisher))) => {
                backoff = FIRST_BACKOFF;
                serve(
                    pubsub,
                    publisher,
                    &mut commands,
                    &mut channels,
                    &bus,
                    &state,
                )
                .await
            }
            Ok(Err(e)) => {
                log::debug!("redis: cannot connect: {e}");
                Ended::Lost
            }
            Err(_) => Ended::Lost,
        };
        if let Ended::BusGone = ended {
            return;
        }
        if state.load(Ordering::Relaxed) == RedisState::Connected as u8 {
            log::warn!("redis: connection lost; reconnecting");
        }
        set(&state, RedisState::Disconnected);
        // Wait out the backoff, answering commands meanwhile: posts fail at once.
        let wait = tokio::time::sleep(backoff);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                command = commands.recv() => match command {
                    None => return,
                    Some(command) => refuse_or_record(command, &mut channels),
                },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn refuse_or_record(command: Command, channels: &mut HashSet<String>) {
    match command {
        Command::Subscribe(c) => {
            channels.insert(c);
        }
        Command::Unsubscribe(c) => {
            channels.remove(&c);
        }
        Command::Publish { reply, .. } => {
            let _ = reply.send(Err(BusError::redis("not connected to Redis")));
        }
        Command::History { reply, .. } => {
            let _ = reply.send(Err(BusError::redis("not connected to Redis")));
        }
    }
}

/// A published message: its offset, if it carries one, and its wrapped value.
fn unframe(payload: &[u8]) -> Result<(u64, Dynamic), String> {
    let (offset, wrapped) = match payload.split_first() {
        Some((&KEPT, rest)) => {
            let colon = rest
                .iter()
                .position(|b| *b == b':')
                .ok_or("a kept message without its offset")?;
            let offset = std::str::from_utf8(&rest[..colon])
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or("a kept message with an invalid offset")?;
            (offset, &rest[colon + 1..])
        }
        _ => (0, payload),
    };
    Dynamic::read_wrapped(wrapped)
        .map(|value| (offset, value))
        .map_err(|e| e.to_string())
}

/// The reply of [`HISTORY`].
fn read_history(value: redis::Value) -> Option<RedisHistory> {
    use redis::Value;
    let text = |v: &Value| match v {
        Value::BulkString(b) => std::str::from_utf8(b).ok().map(str::to_string),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    // `0-<offset>` and the message's payload.
    let entry = |v: &Value| -> Option<(u64, Dynamic)> {
        let Value::Array(parts) = v else { return None };
        let offset = text(parts.first()?)?.strip_prefix("0-")?.parse().ok()?;
        let Value::Array(fields) = parts.get(1)? else {
            return None;
        };
        let Value::BulkString(payload) = fields.get(1)? else {
            return None;
        };
        Dynamic::read_wrapped(payload).ok().map(|m| (offset, m))
    };
    let Value::Array(parts) = value else {
        return None;
    };
    let [epoch, last, entries, oldest] = parts.as_slice() else {
        return None;
    };
    let last = match last {
        Value::Int(n) => u64::try_from(*n).ok()?,
        _ => return None,
    };
    let list = |v: &Value| match v {
        Value::Array(items) => items.iter().map(entry).collect::<Option<Vec<_>>>(),
        _ => None,
    };
    let oldest = list(oldest)?.first().map_or(last + 1, |(o, _)| *o);
    Some(RedisHistory {
        epoch: text(epoch)?,
        last,
        oldest,
        entries: list(entries)?,
    })
}

async fn serve(
    pubsub: redis::aio::PubSub,
    mut publisher: redis::aio::MultiplexedConnection,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    channels: &mut HashSet<String>,
    bus: &Weak<BusInner>,
    state: &AtomicU8,
) -> Ended {
    let (mut sink, mut messages) = pubsub.split();
    for channel in channels.iter() {
        if sink.subscribe(channel).await.is_err() {
            return Ended::Lost;
        }
    }
    set(state, RedisState::Connected);
    log::debug!("redis: connected, {} channels subscribed", channels.len());
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return Ended::Lost };
                let Some(bus) = bus.upgrade() else { return Ended::BusGone };
                match unframe(message.get_payload_bytes()) {
                    Ok((offset, value)) => bus.deliver(message.get_channel_name(), &value, offset),
                    Err(e) => log::warn!("redis: dropping a malformed message on {}: {e}", message.get_channel_name()),
                }
            }
            command = commands.recv() => match command {
                None => return Ended::BusGone,
                Some(Command::Subscribe(channel)) => {
                    let ok = sink.subscribe(&channel).await.is_ok();
                    channels.insert(channel);
                    if !ok {
                        return Ended::Lost;
                    }
                }
                Some(Command::Unsubscribe(channel)) => {
                    let ok = sink.unsubscribe(&channel).await.is_ok();
                    channels.remove(&channel);
                    if !ok {
                        return Ended::Lost;
                    }
                }
                Some(Command::History { channel, after, reply }) => {
                    let keys = history_keys(&channel);
                    let read: redis::RedisResult<redis::Value> = redis::cmd("EVAL")
                        .arg(HISTORY)
                        .arg(3)
                        .arg(&keys[..])
                        .arg(new_epoch())
                        .arg(after.saturating_add(1))
                        .query_async(&mut publisher)
                        .await;
                    match read {
                        Ok(value) => {
                            let history = read_history(value)
                                .ok_or_else(|| BusError::redis("an unreadable history reply"));
                            let _ = reply.send(history);
                        }
                        Err(e) => {
                            let _ = reply.send(Err(BusError::redis_from("reading history failed", e)));
                            return Ended::Lost;
                        }
                    }
                }
                Some(Command::Publish { channel, payload, kept, reply }) => {
                    let sent: redis::RedisResult<i64> = match kept {
                        None => redis::cmd("PUBLISH").arg(&channel).arg(payload).query_async(&mut publisher).await,
                        Some(kept) => {
                            redis::cmd("EVAL")
                                .arg(POST_KEPT)
                                .arg(3)
                                .arg(&history_keys(&channel)[..])
                                .arg(new_epoch())
                                .arg(payload)
                                .arg(kept)
                                .arg(&channel)
                                .query_async(&mut publisher)
                                .await
                        }
                    };
                    match sent {
                        Ok(_) => {
                            let _ = reply.send(Ok(()));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(BusError::redis_from("PUBLISH failed", e)));
                            return Ended::Lost;
                        }
                    }
                }
            },
        }
    }
}
