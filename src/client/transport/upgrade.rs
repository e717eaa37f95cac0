//! The WebSocket upgrade (RFC 6455 §4.1) by hand: the address a `ws://` or `wss://` URL
//! names, the `GET` that asks for the upgrade, and the server's answer checked.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// Where a socket goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Address {
    /// `wss://`.
    pub(crate) tls: bool,
    /// The host to resolve and (with TLS) to verify, without an IPv6 literal's brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The `Host` header: the URL's authority.
    authority: String,
    /// The path and query.
    resource: String,
}

/// What is wrong with a URL or with the server's answer to the upgrade.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpgradeError {
    #[error("not a ws:// or wss:// URL")]
    Scheme,
    #[error("a URL with no host, a bad port or user info")]
    Authority,
    #[error("a URL with spaces, control or non-ASCII characters (percent-encode them)")]
    Characters,
    #[error("the server answered `{0}` instead of switching protocols")]
    Refused(String),
    #[error("the server's answer is not HTTP")]
    NotHttp,
    #[error("the server's answer lacks `{0}`")]
    MissingHeader(&'static str),
    #[error("the server's Sec-WebSocket-Accept does not match the key")]
    WrongAccept,
    #[error("the server's answer is longer than {0} bytes")]
    TooLong(usize),
}

/// The longest answer to the upgrade a client reads.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

impl Address {
    /// The address of `url`, a `ws://` or `wss://` URL.
    pub(crate) fn parse(url: &str) -> Result<Address, UpgradeError> {
        // The URL's parts go into the request's lines as they are.
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UpgradeError::Characters);
        }
        let (tls, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "ws://") {
            (false, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "wss://") {
            (true, rest)
        } else {
            return Err(UpgradeError::Scheme);
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let resource = tail.split('#').next().unwrap_or_default();
        let resource = match resource.starts_with('/') {
            true => resource.to_string(),
            false => format!("/{resource}"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(UpgradeError::Authority);
        }
        // `[v6]:port`, `[v6]`, `host:port` or `host`.
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or(UpgradeError::Authority)?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let port = match port {
            Some(port) => port.parse().map_err(|_| UpgradeError::Authority)?,
            None if tls => 443,
            None => 80,
        };
        if host.is_empty() {
            return Err(UpgradeError::Authority);
        }
        Ok(Address {
            tls,
            host: host.to_string(),
            port,
            authority: authority.to_string(),
            resource,
        })
    }

    /// The request that asks for the upgrade, with `key` and any `cookie` (`name=value`).
    pub(crate) fn request(&self, key: &str, cookie: Option<&str>) -> String {
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
            self.resource, self.authority
        );
        if let Some(cookie) = cookie {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        request.push_str("\r\n");
        request
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, in base64.
pub(crate) fn new_key() -> String {
    BASE64.encode(uuid::Uuid::new_v4().as_bytes())
}

/// The `Sec-WebSocket-Accept` that proves a server read `key`.
fn accept_for(key: &str) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    BASE64.encode(sha1.digest().bytes())
}

/// Where the answer's head ends (after its blank line), if it has.
pub(crate) fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Checks the head of the server's answer to an upgrade asked with `key`.
pub(crate) fn check_answer(head: &[u8], key: &str) -> Result<(), UpgradeError> {
    let head = std::str::from_utf8(head).map_err(|_| UpgradeError::NotHttp)?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let mut parts = status.splitn(3, ' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(UpgradeError::NotHttp);
    }
    if parts.next() != Some("101") {
        return Err(UpgradeError::Refused(status.to_string()));
    }
    let (mut upgrade, mut connection, mut accept) = (false, false, None);
    for (name, value) in lines.filter_map(|line| line.split_once(':')) {
        let value = value.trim();
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade = value.eq_ignore_ascii_case("websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection = value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
        } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
            accept = Some(value);
        }
    }
    if !upgrade {
        return Err(UpgradeError::MissingHeader("Upgrade: websocket"));
    }
    if !connection {
        return Err(UpgradeError::MissingHeader("Connection: Upgrade"));
    }
    match accept {
        None => Err(UpgradeError::MissingHeader("Sec-WebSocket-Accept")),
        Some(accept) if accept == accept_for(key) => Ok(()),
        Some(_) => Err(UpgradeError::WrongAccept),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_and_resource() {
        let a = Address::parse("ws://127.0.0.1:8080/v1/websocket?resume").unwrap();
        assert_eq!((a.tls, a.host.as_str(), a.port), (false, "127.0.0.1", 8080));
        assert!(a
            .request("k", None)
            .starts_with("GET /v1/websocket?resume HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        let a = Address::parse("WSS://example.com").unwrap();
        assert_eq!((a.tls, a.host.as_str(), a.port), (true, "example.com", 443));
        assert!(a
            .request("k", None)
            .starts_with("GET / HTTP/1.1\r\nHost: example.com\r\n"));
        let a = Address::parse("ws://[::1]:9/websocket?auth=a%20b#frag").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("::1", 9));
        assert!(a
            .request("k", None)
            .starts_with("GET /websocket?auth=a%20b HTTP/1.1\r\nHost: [::1]:9\r\n"));
        assert_eq!(Address::parse("ws://h?x").unwrap().resource, "/?x");
        for bad in [
            "http://h/",
            "ws://",
            "ws://:80/",
            "ws://h:port/",
            "ws://u:p@h/",
            "ws://[::1/",
            "ws://h/a b",
            "ws://h\r\nX-Injected: 1/",
            "ws://hé/",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_request_asks_for_the_upgrade_with_the_cookie() {
        let a = Address::parse("ws://h:1/p").unwrap();
        let request = a.request("dGhlIHNhbXBsZSBub25jZQ==", Some("auth=x"));
        assert_eq!(
            request,
            "GET /p HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Cookie: auth=x\r\n\r\n"
        );
        assert_eq!(BASE64.decode(new_key()).unwrap().len(), 16);
        assert_ne!(new_key(), new_key());
    }

    #[test]
    fn the_answer_must_switch_protocols_and_prove_the_key() {
        // RFC 6455 §1.3's example key and accept.
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n\
                  connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        check_answer(ok.as_bytes(), key).unwrap();
        assert_eq!(head_end(ok.as_bytes()), Some(ok.len()));
        assert_eq!(head_end(&ok.as_bytes()[..ok.len() - 1]), None);
        let refused = check_answer(b"HTTP/1.1 401 Unauthorized\r\n\r\n", key).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the server answered `HTTP/1.1 401 Unauthorized` instead of switching protocols"
        );
        assert!(matches!(
            check_answer(b"SSH-2.0\r\n\r\n", key),
            Err(UpgradeError::NotHttp)
        ));
        let wrong = ok.replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "AAAA");
        assert!(matches!(
            check_answer(wrong.as_bytes(), key),
            Err(UpgradeError::WrongAccept)
        ));
        let no_upgrade = ok.replace("upgrade: WebSocket\r\n", "");
        assert!(matches!(
            check_answer(no_upgrade.as_bytes(), key),
            Err(UpgradeError::MissingHeader("Upgrade: websocket"))
        ));
        let no_connection = ok.replace("keep-alive, Upgrade", "keep-alive");
        assert!(matches!(
            check_answer(no_connection.as_bytes(), key),
            Err(UpgradeError::MissingHeader("Connection: Upgrade"))
        ));
    }
}
