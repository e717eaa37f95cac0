//! [`Handshake`]: what the server knows of the HTTP request that opened a connection, for
//! the authentication handler and for every call's [`Session`](crate::Session) on it.

use std::net::SocketAddr;
use std::sync::Arc;

/// The peer's address and the headers of the WebSocket handshake that opened a connection
/// (an app that rate-limits or audits by address, or reads a header set by its proxy, needs
/// them). Cheap to clone: every call of a connection shares one.
///
/// It holds every header as sent, `Cookie` and `Authorization` included: the server never
/// logs it.
#[derive(Clone, Default)]
pub struct Handshake(Arc<Parts>);

#[derive(Default)]
struct Parts {
    peer: Option<SocketAddr>,
    /// Names lower-cased, in the order sent.
    headers: Vec<(Box<str>, Box<[u8]>)>,
}

impl Handshake {
    /// The handshake of a connection from `peer` with `headers` (names in any case).
    pub fn new<'a>(
        peer: Option<SocketAddr>,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Self {
        let headers = headers
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase().into(), value.into()))
            .collect();
        Handshake(Arc::new(Parts { peer, headers }))
    }

    /// The peer's address, as the TCP connection has it (behind a proxy: the proxy's; its
    /// `X-Forwarded-For` is among the [headers](Handshake::header)).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.0.peer
    }

    /// The first value of header `name` (any case), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.0
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// Every value of header `name` (any case), as sent.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| &**value)
    }

    /// Every header, names lower-cased, in the order sent.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.0.headers.iter().map(|(n, v)| (&**n, &**v))
    }
}

impl std::fmt::Debug for Handshake {
    /// The address and the header names: values can be credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.headers.iter().map(|(n, _)| &**n).collect();
        f.debug_struct("Handshake")
            .field("peer", &self.0.peer)
            .field("headers", &names)
            .finish()
    }
}
