//! [`ConnectionState`]: where the method client's socket stands, for an app that shows it
//! ("reconnecting…") or reacts to it.

/// The state of a [`Client`](super::Client)'s socket, as [`Client::state`](super::Client::state)
/// reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// No socket: none was needed yet, the last call ended and the socket closed, or
    /// every call failed with it.
    Disconnected,
    /// A socket is being opened for the first call.
    Connecting,
    /// The socket is open.
    Connected,
    /// The socket dropped with calls open; this is the `attempt`-th try (from 1) at a new
    /// one that resumes them (`docs/PROTOCOL.md` §11). The calls stay open meanwhile.
    Reconnecting {
        /// Which try this is, from 1.
        attempt: u32,
    },
}
