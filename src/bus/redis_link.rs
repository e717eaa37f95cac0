//! The link between one node's bus and Redis: one thread with its own small runtime, so the
//! bus works the same whatever runtime (or none) its users run on.
//!
//! The link keeps the set of channels that have local subscribers, subscribes them in
//! Redis, delivers what Redis sends to the local bus, and publishes global posts. When Redis
//! goes away, posts fail at once (never silently dropped), the link reconnects with backoff
//! and subscribes every channel again.

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
        reply: oneshot::Sender<Result<(), BusError>>,
    },
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

    pub(crate) async fn publish(&self, channel: &str, message: &Dynamic) -> Result<(), BusError> {
        let mut payload = Vec::with_capacity(message.data().len() + 32);
        message.write_wrapped(&mut payload);
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Publish {
                channel: channel.to_string(),
                payload,
                reply,
            })
            .map_err(|_| BusError::redis("the Redis link has stopped"))?;
        answer
            .await
            .map_err(|_| BusError::redis("the Redis link has stopped"))?
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
    }
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
                match Dynamic::read_wrapped(message.get_payload_bytes()) {
                    Ok(value) => bus.deliver(message.get_channel_name(), &value),
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
                Some(Command::Publish { channel, payload, reply }) => {
                    let sent: redis::RedisResult<i64> =
                        redis::cmd("PUBLISH").arg(&channel).arg(payload).query_async(&mut publisher).await;
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
