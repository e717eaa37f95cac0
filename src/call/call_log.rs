//! The call log: one line per ended call, like an HTTP server's access log, at `info` level
//! under the log target [`CALL_LOG_TARGET`] (turn it on with
//! `RUST_LOG=streampod::calls=info`).
//!
//! ```text
//! methodStreaming.intEchoStream cid=0d3ee6a3-… connection=3 user=42 cancelled after 12.3 ms, 5 values sent
//! ```

use crate::instruments::EndReason;
use crate::method::Session;
use crate::protocol::{CloseReason, Target};
use std::time::Instant;

/// The `log` target of the call log.
pub const CALL_LOG_TARGET: &str = "streampod::calls";

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The method's stream ended.
    Done,
    /// The method failed (an error item, or a panic).
    Failed,
    /// The client closed the call.
    Cancelled(CloseReason),
    /// The caller's authentication was revoked.
    Revoked,
    /// The connection went away, or the server shut down.
    Dropped,
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Done => f.write_str("done"),
            Ending::Failed => f.write_str("failed"),
            Ending::Cancelled(CloseReason::Done) => f.write_str("cancelled"),
            Ending::Cancelled(CloseReason::Error) => f.write_str("cancelled with error"),
            Ending::Revoked => f.write_str("revoked"),
            Ending::Dropped => f.write_str("dropped with its connection"),
        }
    }
}

/// What the log line says of one call, gathered while it runs.
pub(crate) struct CallRecord {
    opened: Instant,
    pub(crate) ending: Ending,
    pub(crate) values_sent: u64,
}

impl CallRecord {
    pub(crate) fn new() -> Self {
        CallRecord {
            opened: Instant::now(),
            ending: Ending::Dropped,
            values_sent: 0,
        }
    }

    /// Writes the call's line.
    /// How long the call has lasted.
    pub(crate) fn lasted(&self) -> std::time::Duration {
        self.opened.elapsed()
    }

    /// Why the call ended, for its metrics.
    pub(crate) fn end_reason(&self) -> EndReason {
        match self.ending {
            Ending::Done => EndReason::Done,
            Ending::Failed => EndReason::Error,
            Ending::Cancelled(_) => EndReason::Cancelled,
            Ending::Revoked => EndReason::Revoked,
            Ending::Dropped => EndReason::ConnectionGone,
        }
    }

    pub(crate) fn log(&self, target: &Target, session: &Session) {
        if !log::log_enabled!(target: CALL_LOG_TARGET, log::Level::Info) {
            return;
        }
        let user = session.auth().map_or("-", |a| a.user_id.as_str());
        log::info!(
            target: CALL_LOG_TARGET,
            "{}.{} cid={} connection={} user={user} {} after {:.1} ms, {} values sent",
            target.endpoint,
            target.method,
            target.cid,
            session.connection_id(),
            self.ending,
            self.opened.elapsed().as_secs_f64() * 1e3,
            self.values_sent,
        );
    }
}
