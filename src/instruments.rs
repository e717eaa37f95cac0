//! Metrics, through the `metrics` crate's facade: the application installs a recorder (a
//! Prometheus exporter, say) and every server in the process reports to it; with none,
//! every handle is a no-op. Names and labels are the Prometheus way (`streampod_` prefix,
//! base units, `_total` counters); `docs/OPERATIONS.md` lists them with their meaning.
//!
//! Label values come only from what the server defines (registered endpoint and method
//! names, fixed reasons, paths, close codes, error kinds), never from what a client sent,
//! so the label sets stay bounded. The handles of a method are resolved once, on its
//! first call (`MethodMetrics`): per value the cost is one atomic add. A recorder must be
//! installed before the server's first call to see its methods.

use crate::protocol::FrameError;
use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};
use std::time::Duration;

/// Open WebSocket connections, by path (`/v1/websocket`, `/websocket`).
pub(crate) const CONNECTIONS_OPEN: &str = "streampod_connections_open";
/// Handshakes refused, by reason (`limit`, `origin`).
pub(crate) const CONNECTIONS_REFUSED: &str = "streampod_connections_refused_total";
/// Bytes written to WebSocket connections (frames, headers included), by path.
pub(crate) const BYTES_SENT: &str = "streampod_sent_bytes_total";
/// Bytes read from WebSocket connections, by path.
pub(crate) const BYTES_RECEIVED: &str = "streampod_received_bytes_total";
/// Connections closed by the server, by close code.
pub(crate) const CLOSES: &str = "streampod_closes_total";
/// Connections dropped without a close handshake, by reason (`send_timeout`: the peer
/// took none of our bytes for `Config::send_timeout`).
pub(crate) const CONNECTIONS_DROPPED: &str = "streampod_connections_dropped_total";
/// Resumable sessions resumed on a new socket.
pub(crate) const RESUMES: &str = "streampod_resumes_total";
/// Resumes refused, by reason (`unknown`, `expired`, `closed`, `elsewhere`, `encoding`,
/// `off`).
pub(crate) const RESUMES_REFUSED: &str = "streampod_resumes_refused_total";
/// Resumable sessions whose socket is gone, kept for their client to come back.
pub(crate) const DETACHED: &str = "streampod_connections_detached";
/// Call frames written again to a resumed session's client.
pub(crate) const FRAMES_REPLAYED: &str = "streampod_frames_replayed_total";
/// Frames that were not valid messages, by kind.
pub(crate) const PROTOCOL_ERRORS: &str = "streampod_protocol_errors_total";
/// Open calls, by endpoint and method.
pub(crate) const CALLS_OPEN: &str = "streampod_calls_open";
/// Calls ended, by endpoint, method and reason (`done`, `error`, `cancelled`, `revoked`,
/// `connection_gone`).
pub(crate) const CALLS_ENDED: &str = "streampod_calls_ended_total";
/// How long calls lasted, by endpoint and method.
pub(crate) const CALL_DURATION: &str = "streampod_call_duration_seconds";
/// From a call's `omsc` to its `omsr(success)` (the authentication handler included).
pub(crate) const OPEN_DURATION: &str = "streampod_open_duration_seconds";
/// Values sent on calls' return streams.
pub(crate) const VALUES_SENT: &str = "streampod_values_sent_total";
/// Values received on calls' input streams.
pub(crate) const VALUES_RECEIVED: &str = "streampod_values_received_total";
/// Times a flow-controlled call ran out of its client's credit (its method then waits).
pub(crate) const FLOW_CONTROL_STALLS: &str = "streampod_flow_control_stalls_total";
/// Bus messages posted, by scope (`local`, `global`).
pub(crate) const BUS_POSTS: &str = "streampod_bus_posts_total";
/// Bus messages delivered to a subscriber (a stream or a listener) of this node.
pub(crate) const BUS_DELIVERIES: &str = "streampod_bus_deliveries_total";
/// Times a bus stream fell behind and lost messages.
pub(crate) const BUS_LAGGED: &str = "streampod_bus_lagged_total";
pub(crate) const BUS_RECOVERIES: &str = "streampod_bus_recoveries_total";
pub(crate) const BUS_HISTORY: &str = "streampod_bus_history_messages";
/// 1 while the link to Redis is up, 0 while it is down (absent without Redis).
#[cfg(feature = "redis")]
pub(crate) const REDIS_UP: &str = "streampod_redis_up";

/// Sessions open on a legacy endpoint, by endpoint.
pub(crate) const LEGACY_SESSIONS: &str = "streampod_legacy_sessions";
/// User objects a legacy endpoint holds, by endpoint.
pub(crate) const LEGACY_USER_OBJECTS: &str = "streampod_legacy_user_objects";

/// Why a call ended, as the label of [`CALLS_ENDED`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum EndReason {
    Done,
    Error,
    Cancelled,
    Revoked,
    ConnectionGone,
}

impl EndReason {
    const ALL: [EndReason; 5] = [
        EndReason::Done,
        EndReason::Error,
        EndReason::Cancelled,
        EndReason::Revoked,
        EndReason::ConnectionGone,
    ];

    fn label(self) -> &'static str {
        match self {
            EndReason::Done => "done",
            EndReason::Error => "error",
            EndReason::Cancelled => "cancelled",
            EndReason::Revoked => "revoked",
            EndReason::ConnectionGone => "connection_gone",
        }
    }
}

/// The handles of one method, resolved on its first call.
pub(crate) struct MethodMetrics {
    open: Gauge,
    ended: [Counter; 5],
    duration: Histogram,
    open_duration: Histogram,
    pub(crate) values_sent: Counter,
    pub(crate) values_received: Counter,
    pub(crate) stalls: Counter,
}

impl MethodMetrics {
    pub(crate) fn new(endpoint: &str, method: &str) -> Self {
        let labels = [
            ("endpoint", endpoint.to_string()),
            ("method", method.to_string()),
        ];
        MethodMetrics {
            open: gauge!(CALLS_OPEN, &labels),
            ended: EndReason::ALL.map(|reason| {
                let [e, m] = labels.clone();
                counter!(CALLS_ENDED, &[e, m, ("reason", reason.label().to_string())])
            }),
            duration: histogram!(CALL_DURATION, &labels),
            open_duration: histogram!(OPEN_DURATION, &labels),
            values_sent: counter!(VALUES_SENT, &labels),
            values_received: counter!(VALUES_RECEIVED, &labels),
            stalls: counter!(FLOW_CONTROL_STALLS, &labels),
        }
    }

    /// A call opened, `took` after its `omsc` arrived.
    pub(crate) fn opened(&self, took: Duration) {
        self.open.increment(1.0);
        self.open_duration.record(took.as_secs_f64());
    }

    /// A call ended after `lasted`.
    pub(crate) fn ended(&self, reason: EndReason, lasted: Duration) {
        self.open.decrement(1.0);
        // `ended` was built from `EndReason::ALL`, which lists the variants in order.
        self.ended[reason as usize].increment(1);
        self.duration.record(lasted.as_secs_f64());
    }
}

/// The gauges of one legacy endpoint.
pub(crate) struct LegacyGauges {
    sessions: Gauge,
    user_objects: Gauge,
}

impl LegacyGauges {
    pub(crate) fn new(endpoint: &str) -> Self {
        let label = [("endpoint", endpoint.to_string())];
        LegacyGauges {
            sessions: gauge!(LEGACY_SESSIONS, &label),
            user_objects: gauge!(LEGACY_USER_OBJECTS, &label),
        }
    }

    pub(crate) fn set(&self, sessions: usize, user_objects: usize) {
        self.sessions.set(sessions as f64);
        self.user_objects.set(user_objects as f64);
    }
}

/// A connection's byte counters, sent and received, resolved once per connection.
pub(crate) fn byte_counters(path: &'static str) -> (Counter, Counter) {
    (
        counter!(BYTES_SENT, "path" => path),
        counter!(BYTES_RECEIVED, "path" => path),
    )
}

pub(crate) fn connection_opened(path: &'static str) {
    gauge!(CONNECTIONS_OPEN, "path" => path).increment(1.0);
}

pub(crate) fn connection_closed(path: &'static str) {
    gauge!(CONNECTIONS_OPEN, "path" => path).decrement(1.0);
}

pub(crate) fn connection_refused(reason: &'static str) {
    counter!(CONNECTIONS_REFUSED, "reason" => reason).increment(1);
}

pub(crate) fn closed_with(code: u16) {
    counter!(CLOSES, "code" => code.to_string()).increment(1);
}

pub(crate) fn connection_dropped(reason: &'static str) {
    counter!(CONNECTIONS_DROPPED, "reason" => reason).increment(1);
}

pub(crate) fn resumed() {
    counter!(RESUMES).increment(1);
}

pub(crate) fn resume_refused(reason: &'static str) {
    counter!(RESUMES_REFUSED, "reason" => reason).increment(1);
}

pub(crate) fn detached(change: f64) {
    gauge!(DETACHED).increment(change);
}

pub(crate) fn frames_replayed(n: usize) {
    counter!(FRAMES_REPLAYED).increment(n as u64);
}

pub(crate) fn protocol_error(error: &FrameError) {
    let kind = match error {
        FrameError::NotMessagePack(_) => "not_msgpack",
        FrameError::TrailingBytes => "trailing_bytes",
        FrameError::NotAMap => "not_a_map",
        FrameError::MissingType => "missing_type",
        FrameError::UnknownType(_) => "unknown_type",
        FrameError::MissingField { .. } => "missing_field",
        FrameError::InvalidField { .. } => "invalid_field",
        FrameError::Json(_) => "json",
        FrameError::TextFrame => "text_frame",
    };
    counter!(PROTOCOL_ERRORS, "kind" => kind).increment(1);
}

/// The bus's handles, resolved when the server is built.
pub(crate) struct BusMetrics {
    posted_local: Counter,
    posted_global: Counter,
    pub(crate) delivered: Counter,
    pub(crate) lagged: Counter,
    recovered: Counter,
    not_recovered: Counter,
    /// Messages kept in this process's channel histories.
    pub(crate) history: metrics::Gauge,
}

impl BusMetrics {
    pub(crate) fn new() -> Self {
        BusMetrics {
            posted_local: counter!(BUS_POSTS, "scope" => "local"),
            posted_global: counter!(BUS_POSTS, "scope" => "global"),
            delivered: counter!(BUS_DELIVERIES),
            lagged: counter!(BUS_LAGGED),
            recovered: counter!(BUS_RECOVERIES, "result" => "recovered"),
            not_recovered: counter!(BUS_RECOVERIES, "result" => "not_recovered"),
            history: gauge!(BUS_HISTORY),
        }
    }

    /// A subscription from a position: whether it recovered.
    pub(crate) fn recovery(&self, recovered: bool) {
        match recovered {
            true => self.recovered.increment(1),
            false => self.not_recovered.increment(1),
        }
    }

    pub(crate) fn posted(&self, global: bool) {
        match global {
            true => self.posted_global.increment(1),
            false => self.posted_local.increment(1),
        }
    }
}

#[cfg(feature = "redis")]
pub(crate) fn redis_up(up: bool) {
    gauge!(REDIS_UP).set(if up { 1.0 } else { 0.0 });
}
