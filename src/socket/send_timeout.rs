//! A peer that stops reading: its connection is dropped once it has taken none of our
//! bytes for the send timeout ([`Config::send_timeout`](crate::Config::send_timeout)).
//!
//! The socket actor cannot notice such a peer itself. actix-web-actors runs it inside the
//! response's body stream, which the HTTP dispatcher polls only while it can write: once
//! the kernel's send buffer is full, the actor's timers (the ping, the pong timeout) never
//! fire again, and the connection would hold its slot for ever. So the kernel does it:
//! `TCP_USER_TIMEOUT` on the accepted socket aborts a connection whose data stays unsent
//! (a zero window) or unacknowledged for that long. The dispatcher's write then fails, it
//! drops the body, and the actor stops as for any lost connection: slot, calls and user
//! objects freed. Measured on Linux 6.18 with a 4 KiB receive buffer that is never read:
//! the write fails 2.29 s after the buffers fill with a 2 s timeout, 5.47 s with 5 s.
//!
//! The option is set in a hook the `HttpServer` runs for every accepted connection
//! ([`Server::on_connect_hook`](crate::Server::on_connect_hook)); [`Server::spawn`]
//! (crate::Server::spawn) installs it itself. The hook marks the connection, so that an
//! upgrade without it (an app that did not install the hook, TLS terminated by actix, a
//! system other than Linux) is logged once.
//!
//! [`Watch`] tells, when the dispatcher drops the body, whether this is what happened: the
//! body was dropped before it ended, after going unpolled for longer than the actor's own
//! ping timer would ever leave it.

use actix_web::dev::Extensions;
use std::any::Any;
use std::time::{Duration, Instant};

/// Marks a connection whose socket has the send timeout set.
#[derive(Clone, Copy)]
pub(crate) struct SendTimeoutSet;

/// The hook for `HttpServer::on_connect`: sets `TCP_USER_TIMEOUT` to `timeout` on each
/// accepted TCP socket (Linux, Android; elsewhere it does nothing).
pub(crate) fn hook(timeout: Duration) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync {
    move |io, extensions| {
        if set(io, timeout) {
            extensions.insert(SendTimeoutSet);
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set(io: &dyn Any, timeout: Duration) -> bool {
    let Some(tcp) = io.downcast_ref::<actix_web::rt::net::TcpStream>() else {
        return false;
    };
    match socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(timeout)) {
        Ok(()) => true,
        Err(e) => {
            log::warn!("could not set TCP_USER_TIMEOUT on an accepted socket: {e}");
            false
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set(_: &dyn Any, _: Duration) -> bool {
    false
}

/// When the dispatcher last polled a connection's body, and whether the body ended.
pub(crate) struct Watch {
    last_polled: Instant,
    ended: bool,
    /// Unpolled for this long, the actor was frozen: its ping timer would have woken it.
    frozen_after: Duration,
}

impl Watch {
    /// For a connection pinging every `ping_interval`, dropped after `send_timeout`.
    pub(crate) fn new(ping_interval: Duration, send_timeout: Duration) -> Self {
        Watch {
            last_polled: Instant::now(),
            ended: false,
            // Half again the ping interval: an idle connection is polled at every ping. A
            // send timeout shorter than that still counts, at three quarters of it.
            frozen_after: (ping_interval * 3 / 2).min(send_timeout * 3 / 4),
        }
    }

    /// The body was polled; `ended` if it has no more to give.
    pub(crate) fn polled(&mut self, ended: bool) {
        self.last_polled = Instant::now();
        self.ended |= ended;
    }

    /// The body is being dropped: was it because the peer took nothing for so long?
    pub(crate) fn peer_stopped_reading(&self) -> Option<Duration> {
        let unpolled = self.last_polled.elapsed();
        (!self.ended && unpolled >= self.frozen_after).then_some(unpolled)
    }
}
