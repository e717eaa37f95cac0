//! [`Dialer`]: how the method client opens its sockets. A fresh socket is greeted with
//! `ping` (and asks for a resumable connection when the config says so); after a drop, a
//! socket that resumes the session is greeted with `rsr`, tried again with backoff and
//! jitter until the server's window runs out (docs/PROTOCOL.md §11).

use super::backoff::{random_unit, ReconnectPolicy};
use super::error::Error;
use super::handshake::{Handshake, Socket};
use super::state::ConnectionState;
use super::transport::Incoming;
use super::{AuthKeyProvider, ClientConfig};
use crate::protocol::{Encoding, Frame, Message, ResumeRefusal};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{sleep, timeout_at, Instant};

/// The query that asks the server for a resumable connection.
const RESUME_QUERY: &str = "?resume";

/// The first reconnect attempt comes within this of the drop; each later wait doubles.
const FIRST_RETRY: Duration = Duration::from_millis(250);

/// Everything a socket of one client is opened with, shared by the client and its
/// socket task (which reconnects by itself).
pub(crate) struct Dialer {
    /// The server's WebSocket URL.
    pub(crate) url: String,
    pub(crate) config: ClientConfig,
    pub(crate) auth: Option<Arc<dyn AuthKeyProvider>>,
    /// The auth cookie and TLS settings of every handshake.
    pub(crate) handshake: Handshake,
    /// Where the socket stands, for the app.
    pub(crate) state: watch::Sender<ConnectionState>,
    /// The latest connection's number: only it reports its state.
    pub(crate) generation: AtomicU64,
}

/// A socket that resumed the session: the server's first frame said it had received
/// `received` of the client's call frames.
pub(crate) struct Resumed {
    pub(crate) socket: Socket,
    pub(crate) received: u64,
}

impl Dialer {
    /// A new connection is being opened: it reports `Connecting`, and from now on it is the
    /// one whose state the app sees. Returns its number.
    pub(crate) fn began_connecting(&self) -> u64 {
        let mut generation = 0;
        self.state.send_modify(|state| {
            generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
            *state = ConnectionState::Connecting;
        });
        generation
    }

    /// Connection `generation` is now in `state`; ignored when a later connection began
    /// (a closed client's old socket task shutting down after the next call connected).
    pub(crate) fn publish(&self, generation: u64, state: ConnectionState) {
        self.state.send_if_modified(|current| {
            let changed = self.generation.load(Ordering::SeqCst) == generation && *current != state;
            if changed {
                *current = state;
            }
            changed
        });
    }

    /// A fresh socket, and the server's first frame (`rst` first when it made the
    /// connection resumable).
    pub(crate) async fn open(&self) -> Result<(Socket, Incoming), Error> {
        let ping = self.frame(&Message::Ping)?;
        self.handshake
            .connect(&self.socket_url(), &self.config, ping)
            .await
    }

    /// A socket that resumes the session `token`, whose frames the client has received
    /// `received` of, tried until `deadline`: the first attempt within 250 ms, each next
    /// one after a doubled wait (up to `reconnect_max_delay`), each wait jittered so that
    /// the clients of a failed node do not all come back at once. Fails with
    /// [`Error::ResumeFailed`] when the server refuses or the deadline passes.
    /// Connection `generation` reports each attempt.
    pub(crate) async fn resume(
        &self,
        generation: u64,
        token: &str,
        received: u64,
        deadline: Instant,
    ) -> Result<Resumed, Error> {
        let mut last_error = None;
        for attempt in 1u32.. {
            self.publish(generation, ConnectionState::Reconnecting { attempt });
            let wait = backoff(attempt, self.config.reconnect_max_delay);
            if Instant::now() + wait >= deadline {
                break;
            }
            sleep(wait).await;
            match timeout_at(deadline, self.resume_once(token, received)).await {
                Err(_) => break,
                Ok(Ok(resumed)) => return Ok(resumed),
                Ok(Err(Attempt::Refused(e))) => return Err(e),
                Ok(Err(Attempt::Failed(e))) => {
                    log::debug!("a reconnect attempt failed: {e}");
                    last_error = Some(e);
                }
            }
        }
        Err(Error::resume_failed(ResumeRefusal::Expired, last_error))
    }

    /// One attempt at resuming: the handshake, `rsr`, and the server's answer.
    async fn resume_once(&self, token: &str, received: u64) -> Result<Resumed, Attempt> {
        let auth = match &self.auth {
            Some(provider) => provider.auth_header_value().await,
            None => None,
        };
        let rsr = self
            .frame(&Message::resume(token, received, auth))
            .map_err(Attempt::Refused)?;
        let (socket, first) = self
            .handshake
            .connect(&self.socket_url(), &self.config, rsr)
            .await
            .map_err(Attempt::Failed)?;
        match self.decode(first) {
            Some(Message::ResumeState { received, .. }) => Ok(Resumed { socket, received }),
            Some(Message::ResumeRefused { reason, .. }) => {
                Err(Attempt::Refused(Error::resume_failed(reason, None)))
            }
            // A server that forgot resuming (or never knew it) answers otherwise.
            _ => Err(Attempt::Refused(Error::resume_failed(
                ResumeRefusal::Off,
                None,
            ))),
        }
    }

    /// The URL of a socket: with `?resume` when the client resumes.
    fn socket_url(&self) -> String {
        match self.config.resume {
            true => format!("{}{RESUME_QUERY}", self.url),
            false => self.url.clone(),
        }
    }

    fn frame(&self, message: &Message) -> Result<Frame, Error> {
        message
            .to_frame(self.config.encoding)
            .map_err(|e| Error::protocol_from("cannot write a frame", e))
    }

    /// The server's first frame, if it is a message of the client's wire.
    fn decode(&self, frame: Incoming) -> Option<Message> {
        match (frame, self.config.encoding) {
            (Incoming::Binary(bytes), Encoding::MessagePack) => Message::decode(&bytes).ok(),
            (Incoming::Text(text), Encoding::Json) => Message::decode_json(&text).ok(),
            _ => None,
        }
    }
}

/// How one attempt at resuming ended, when it did not resume.
enum Attempt {
    /// The server answered, and not with the session: no point trying again.
    Refused(Error),
    /// The server was not reached, or the socket failed: try again.
    Failed(Error),
}

/// The wait before the `attempt`-th try (from 1): up to 250 ms for the first, then between
/// half and all of 250 ms × 2^(attempt − 1), at most `cap`.
fn backoff(attempt: u32, cap: Duration) -> Duration {
    let policy = ReconnectPolicy {
        initial_delay: FIRST_RETRY,
        max_delay: cap,
        // The first try comes anywhere within 250 ms; later ones keep at least half.
        jitter: if attempt <= 1 { 1.0 } else { 0.5 },
    };
    policy.delay(attempt.saturating_sub(1), random_unit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_within_250_ms_doubles_with_jitter_and_stops_at_the_cap() {
        let cap = Duration::from_secs(5);
        for _ in 0..100 {
            assert!(backoff(1, cap) <= FIRST_RETRY);
            let second = backoff(2, cap);
            assert!(
                second >= FIRST_RETRY && second <= 2 * FIRST_RETRY,
                "{second:?}"
            );
            let fifth = backoff(5, cap);
            assert!(
                fifth >= 8 * FIRST_RETRY && fifth <= 16 * FIRST_RETRY,
                "{fifth:?}"
            );
            let late = backoff(40, cap);
            assert!(late >= cap / 2 && late <= cap, "{late:?}");
        }
        // Jitter: a hundred waits are not all the same.
        let waits: std::collections::HashSet<Duration> =
            (0..100).map(|_| backoff(3, cap)).collect();
        assert!(waits.len() > 50);
    }
}
