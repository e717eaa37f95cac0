//! [`ClientConfig`]: every setting of the Rust clients, with its default and why.

use crate::protocol::Encoding;
#[cfg(doc)]
use crate::protocol::MAX_CREDIT;
use std::time::Duration;

/// Client settings. Build with [`ClientConfig::default`] and change what you need, with the
/// setters of the same names: `ClientConfig::default().idle_timeout(Duration::from_secs(60))`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Time allowed to open the socket, and then for the first frame after it. Default 5 s.
    pub connect_timeout: Duration,
    /// Interval of the client's `ping`. Default 20 s.
    pub ping_interval: Duration,
    /// Time without any frame after which every call fails. Default 40 s.
    pub idle_timeout: Duration,
    /// Largest message the client accepts from the server; a larger one fails every call on
    /// the socket with [`Error::Protocol`](super::Error::Protocol) and closes it. Default 16 MiB: far above any sane
    /// stream value (the server's own default for what clients send is 1 MiB), small enough
    /// that a broken or hostile server cannot make the client hold much per value.
    pub max_message_size: usize,
    /// Roots to trust for `wss://` besides Mozilla's, as DER certificates: a private CA,
    /// or a self-signed server. Default none. (`wss://` needs the `tls` feature; without
    /// it there is nothing to trust them for.)
    pub root_certificates: Vec<Vec<u8>>,
    /// The wire: MessagePack in binary frames (default), or Serverpod's JSON in text
    /// frames, as Serverpod's own Dart client speaks it.
    pub encoding: Encoding,
    /// Per-call flow control (`docs/PROTOCOL.md` §10): the values the client
    /// grants the server on a call's return stream before the consumer takes any (`fc`),
    /// granted back in batches of half of it as the consumer takes them. A consumer that
    /// stops polling one call then stops that call alone, while the socket and every other
    /// call go on; a server that grants input credit in turn gets each input stream pulled
    /// only as far as it allows. `None` turns it off: every call then shares one bound,
    /// and a stalled consumer stops the socket. Default `Some(1024)`, from
    /// `benches/echo.rs` (`flow_control`): on loopback the echo with 1,024 runs as fast as
    /// without flow control (0.97–1.29 of it), with 256 at 0.89–1.21 and with 64 at about
    /// 0.6, because half a window must cover a grant's round trip at full speed. A stalled
    /// call then holds at most 1,024 of its values in the client. Taken within
    /// 1..=[`MAX_CREDIT`].
    pub window: Option<u32>,
    /// How long the socket stays open after its last call ends, for the next call to use.
    /// Default 1 s: request-style calls made one after another (a click, then another)
    /// share one socket instead of paying a WebSocket handshake each (200 sequential calls
    /// took 4× as long with a new socket each), and an idle socket costs the server one
    /// connection for a second. Zero closes it at once, as Serverpod's client does.
    pub linger: Duration,
    /// Whether calls survive a dropped socket (`docs/PROTOCOL.md` §11): the client asks
    /// the server for a resumable connection, and when the socket drops with calls open it
    /// reconnects within the server's window and resumes them, with nothing lost or
    /// repeated. A server that does not resume (Serverpod) ignores the request, and the
    /// client behaves as without it. Default on.
    pub resume: bool,
    /// The bytes of sent call frames the client keeps until the server acknowledges them,
    /// to replay after a reconnect. When they reach it, the client stops taking new input
    /// values and commands until acknowledgements free some (it never drops one). Default
    /// 1 MiB, as the server's own `resume_buffer`.
    pub resume_buffer: usize,
    /// The longest wait between two reconnect attempts. The first attempt comes within
    /// 250 ms of the drop, each next one after twice the wait before, with jitter, up to
    /// this. Default 5 s.
    pub reconnect_max_delay: Duration,
    /// Whether calls ask for keyed value frames (`docs/PROTOCOL.md` §12): on the
    /// MessagePack wire, each open carries a key, and once the server takes it the call's
    /// values travel as `[key, input, className, data]` instead of full `msm` messages
    /// naming the endpoint, method and call id (a 64-byte value's frame shrinks from ~180
    /// to ~80 bytes). A server that does not know them answers without the key, and the
    /// call uses `msm`. Default on.
    pub keyed_frames: bool,
}

crate::setters::setters!(ClientConfig {
    connect_timeout: Duration,
    ping_interval: Duration,
    idle_timeout: Duration,
    max_message_size: usize,
    root_certificates: Vec<Vec<u8>>,
    encoding: Encoding,
    window: Option<u32>,
    linger: Duration,
    resume: bool,
    resume_buffer: usize,
    reconnect_max_delay: Duration,
    keyed_frames: bool,
});

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(40),
            max_message_size: 16 << 20,
            root_certificates: Vec::new(),
            encoding: Encoding::MessagePack,
            window: Some(1024),
            linger: Duration::from_secs(1),
            resume: true,
            resume_buffer: 1 << 20,
            reconnect_max_delay: Duration::from_secs(5),
            keyed_frames: true,
        }
    }
}
