//! Every limit and interval of the server, with its default and the reason for it.

use std::time::Duration;
use thiserror::Error;

/// The environment variable that sets [`Config::websocket_ping_interval`], in whole seconds.
pub const PING_INTERVAL_ENV: &str = "STREAMPOD_WEBSOCKET_PING_INTERVAL";

/// The environment variable that sets [`Config::redis_url`].
pub const REDIS_URL_ENV: &str = "STREAMPOD_REDIS_URL";

/// Server settings. Build with [`Config::default`] and change what you need, with the
/// setters of the same names: `Config::default().max_outbound_bytes(1 << 18)`.
///
/// Where a setting comes from, last wins: its default here; the value set in code (on
/// this struct, or with the [`ServerBuilder`](crate::ServerBuilder)'s shortcuts); the
/// environment ([`PING_INTERVAL_ENV`], [`REDIS_URL_ENV`]). The server checks them all
/// when it is built ([`Config::resolved`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Largest WebSocket message accepted, in bytes; a larger one closes the connection with
    /// code 1009. Default 1 MiB: far above any sane stream value, small enough that one
    /// client cannot make the server buffer much.
    pub max_frame_size: usize,
    /// Calls one connection may have open at once; past it an `omsc` is refused with
    /// `invalidArguments` and the connection goes on. Default 1,024: far more than any app
    /// needs on one socket, few enough that one client cannot hold the server's memory.
    pub max_calls_per_connection: usize,
    /// Names an `omsc` may list in `is`. Default 16: methods declare a handful at most.
    pub max_inputs_per_call: usize,
    /// WebSocket connections the server accepts at once (both paths); past it a handshake
    /// gets HTTP 503. Default 10,000: about 150 MiB of idle connections.
    pub max_connections: usize,
    /// Bytes a connection may have written but not yet handed to its socket; past it the
    /// connection's methods are not polled until the socket drains. Default 1 MiB: a slow
    /// reader costs the server at most this much, and the limit is one maximum message.
    pub max_outbound_bytes: usize,
    /// Values the client may have sent on one call's input streams that its method has not
    /// yet taken; past it the connection stops reading its socket until the method catches
    /// up (TCP backpressure; other calls on that connection wait too). Default 256.
    pub max_queued_inputs: usize,
    /// Values the server grants the client of a flow-controlled call (one opened with
    /// `fc`) on each of its input streams (`fc` of `omsr`), and so the most that stream's
    /// queue holds. The server grants values back (`crd`) in batches of half of it as the
    /// method takes them; the connection never stops reading for such a call. Default 256,
    /// as [`Config::max_queued_inputs`]: a burst of a fast producer fits, and the memory
    /// bound of a stalled input stays what it was. At most [`MAX_CREDIT`](crate::protocol::MAX_CREDIT).
    pub input_window: u32,
    /// How many ended call ids a connection remembers, so that frames the client sent
    /// before it saw the end are dropped quietly instead of answered. Default 256: a client
    /// rarely has more calls ending at once, and the memory is a few KiB.
    pub remembered_ended_calls: usize,
    /// Interval of the server's WebSocket ping frames; a peer that answers none within one
    /// interval is closed with code 1001. Default 30 s, Serverpod's: well inside the idle
    /// timeouts of common load balancers (60 s). [`PING_INTERVAL_ENV`] overrides it.
    pub websocket_ping_interval: Duration,
    /// How long a connection's peer may take none of the bytes the server has for it before
    /// the connection is dropped (its slot, calls and user objects freed). A peer that
    /// stops reading freezes its connection's ping and pong timeout, so this is the only
    /// bound on it; set as `TCP_USER_TIMEOUT` on each accepted socket (Linux), by
    /// [`Server::spawn`](crate::Server::spawn) or by the hook an app passes to its own
    /// `HttpServer` ([`Server::on_connect_hook`](crate::Server::on_connect_hook)). Also
    /// bounds how long sent data may stay unacknowledged (a peer whose network vanished).
    /// Default `None`: two ping intervals, so a client on a congested link has a whole ping
    /// interval more than the pong timeout gives it.
    pub send_timeout: Option<Duration>,
    /// How long the server keeps a resumable connection's session when its socket goes
    /// without a close (docs/PROTOCOL.md §11): its calls go on, their output waits within
    /// [`Config::resume_buffer`], and a client that reconnects with the session's token in
    /// time finds them as they were. Past it the session ends as a closed connection does.
    /// Only for clients that ask (`?resume` on the WebSocket URL); zero turns resume off.
    /// Default 30 s: a phone changing networks, a proxy's restart, a load balancer's cut.
    pub resume_window: Duration,
    /// Bytes of call frames a resumable connection keeps until its client acknowledges
    /// them; when full, its calls are not polled until the client acknowledges (as
    /// [`Config::max_outbound_bytes`] does for a socket). Default 1 MiB, the outbound
    /// bound's: what a detached session may hold.
    pub resume_buffer: usize,
    /// If set, a handshake whose `Origin` header (lower-cased, trailing `/` removed) is not
    /// in this list gets HTTP 403. Requests without `Origin` (non-browser clients) are
    /// always allowed. Default: no check.
    pub allowed_origins: Option<Vec<String>>,
    /// The name of an auth cookie (Serverpod 4.0's cookie mode). If set, a call opened with
    /// `am: "cookie"` and no `auth` value is authenticated with this cookie's value from the
    /// WebSocket handshake. Requires [`Config::allowed_origins`]: a browser sends its cookies
    /// with a WebSocket handshake made by any page, so only listed origins may use them.
    /// Default: none (`am` is ignored).
    pub auth_cookie: Option<String>,
    /// Messages a bus stream may fall behind before it loses the oldest (and is told so).
    /// Default 1,024: a burst of a second or two of a busy chat room, a few hundred KiB.
    pub bus_buffer: usize,
    /// Channels that keep history, by name prefix (the longest matching prefix wins), for
    /// subscribers that come back from a position
    /// ([`MessageBus::create_stream_since`](crate::bus::MessageBus::create_stream_since)).
    /// Default none: a channel keeps nothing.
    pub bus_history: Vec<crate::bus::HistoryRule>,
    /// Redis, for global messages between server nodes (`redis://host:port`). Default none:
    /// the bus is in-process. [`REDIS_URL_ENV`] overrides it.
    pub redis_url: Option<String>,
    /// Worker threads for [`Server::spawn`](crate::Server::spawn). Default 1: enough for
    /// tests and demos; an application that builds its own `HttpServer` sets its own.
    pub workers: usize,
}

crate::setters::setters!(Config {
    max_frame_size: usize,
    max_calls_per_connection: usize,
    max_inputs_per_call: usize,
    max_connections: usize,
    max_outbound_bytes: usize,
    max_queued_inputs: usize,
    input_window: u32,
    remembered_ended_calls: usize,
    websocket_ping_interval: Duration,
    send_timeout: Option<Duration>,
    resume_window: Duration,
    resume_buffer: usize,
    allowed_origins: Option<Vec<String>>,
    auth_cookie: Option<String>,
    bus_buffer: usize,
    bus_history: Vec<crate::bus::HistoryRule>,
    redis_url: Option<String>,
    workers: usize,
});

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 1 << 20,
            max_calls_per_connection: 1024,
            max_inputs_per_call: 16,
            max_connections: 10_000,
            max_outbound_bytes: 1 << 20,
            max_queued_inputs: 256,
            input_window: 256,
            remembered_ended_calls: 256,
            websocket_ping_interval: Duration::from_secs(30),
            send_timeout: None,
            resume_window: Duration::from_secs(30),
            resume_buffer: 1 << 20,
            allowed_origins: None,
            auth_cookie: None,
            bus_buffer: 1024,
            bus_history: Vec::new(),
            redis_url: None,
            workers: 1,
        }
    }
}

/// A setting that cannot be used; the server does not start.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable holds something other than what it must.
    #[error("{var}={value:?} is not valid: {reason}")]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// The message bus could not be set up (an invalid Redis URL, or one without the
    /// `redis` feature).
    #[error("message bus: {0}")]
    Bus(#[source] crate::bus::BusError),
    /// A setting in code is out of range.
    #[error("invalid setting `{setting}`: {reason}")]
    Invalid {
        /// The setting.
        setting: &'static str,
        /// What it must be.
        reason: &'static str,
    },
}

impl Config {
    /// The settings a server runs with: these, then the environment over them
    /// ([`PING_INTERVAL_ENV`], [`REDIS_URL_ENV`]: an operator changes them without a
    /// rebuild), then the defaults that derive from others ([`Config::send_timeout`]), all
    /// checked. [`ServerBuilder::build`](crate::ServerBuilder::build) runs it.
    pub fn resolved(mut self) -> Result<Config, ConfigError> {
        if let Some(interval) = ping_interval_from_env()? {
            self.websocket_ping_interval = interval;
        }
        if let Some(url) = redis_url_from_env() {
            self.redis_url = Some(url);
        }
        let ping = self.websocket_ping_interval;
        self.send_timeout.get_or_insert(ping * 2);
        self.validate()?;
        Ok(self)
    }

    /// Every setting in its range, and the pairs that need each other present.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting, reason| Err(ConfigError::Invalid { setting, reason });
        if self.websocket_ping_interval.is_zero() {
            return invalid("websocket_ping_interval", "must be longer than zero");
        }
        let send_timeout = self
            .send_timeout
            .unwrap_or(self.websocket_ping_interval * 2);
        if send_timeout.is_zero() || send_timeout.as_millis() > u128::from(u32::MAX) {
            // TCP_USER_TIMEOUT takes milliseconds in 32 bits; zero would mean "the system's".
            return invalid(
                "send_timeout",
                "must be longer than zero and at most 49 days",
            );
        }
        if !(1..=crate::protocol::MAX_CREDIT).contains(&self.input_window) {
            return invalid("input_window", "must be in 1..=2147483647");
        }
        if self.auth_cookie.is_some() && self.allowed_origins.is_none() {
            // As Serverpod's config does: without an origin check, any web page could open
            // calls as the user whose browser visits it.
            return invalid(
                "auth_cookie",
                "needs allowed_origins, or any web page could use the cookie",
            );
        }
        Ok(())
    }
}

/// Reads [`PING_INTERVAL_ENV`]: `None` when unset, an error when it is not a positive
/// integer number of seconds.
fn ping_interval_from_env() -> Result<Option<Duration>, ConfigError> {
    let Ok(value) = std::env::var(PING_INTERVAL_ENV) else {
        return Ok(None);
    };
    match value.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Some(Duration::from_secs(secs))),
        _ => Err(ConfigError::InvalidEnv {
            var: PING_INTERVAL_ENV,
            value,
            reason: "must be a positive whole number of seconds",
        }),
    }
}

/// Reads [`REDIS_URL_ENV`], if set and not empty.
fn redis_url_from_env() -> Option<String> {
    std::env::var(REDIS_URL_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Lower-cases an origin and removes a trailing `/`, so that list and header compare alike.
pub(crate) fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}
