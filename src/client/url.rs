//! What the clients make of the addresses and cookies they are given.

use super::Error;
use crate::protocol::WEBSOCKET_PATH;

/// `name=value`, if a `Cookie` header can carry it (RFC 6265 §4.1.1, loosely: no separators
/// in the name, none of `;`, `,`, `"`, `\`, spaces or controls in the value).
pub(super) fn cookie_pair(name: &str, value: &str) -> Result<String, Error> {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    let value_ok = value
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b";,\"\\".contains(&b));
    if name_ok && value_ok {
        Ok(format!("{name}={value}"))
    } else {
        Err(Error::invalid_setting(format!(
            "not a cookie that can be sent: {name:?}={value:?}"
        )))
    }
}

/// Maps `http(s)://host/any/path` to `ws(s)://host/v1/websocket`.
pub(super) fn websocket_url(url: &str) -> Result<String, Error> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Error::invalid_setting(format!("not a URL: {url}")))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => {
            return Err(Error::invalid_setting(format!(
                "unsupported scheme `{other}`"
            )))
        }
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(Error::invalid_setting(format!("no host in {url}")));
    }
    Ok(format!("{scheme}://{host}{WEBSOCKET_PATH}"))
}

#[cfg(test)]
mod tests {
    use super::{cookie_pair, websocket_url};

    #[test]
    fn url_path_is_replaced() {
        assert_eq!(
            websocket_url("https://x/api/").unwrap(),
            "wss://x/v1/websocket"
        );
        assert_eq!(
            websocket_url("http://127.0.0.1:8080").unwrap(),
            "ws://127.0.0.1:8080/v1/websocket"
        );
        assert_eq!(
            websocket_url("ws://h:1/v1/websocket").unwrap(),
            "ws://h:1/v1/websocket"
        );
        assert!(websocket_url("localhost:8080").is_err());
    }

    #[test]
    fn only_cookies_a_header_can_carry_are_accepted() {
        assert_eq!(cookie_pair("sp_auth", "a:b.c=").unwrap(), "sp_auth=a:b.c=");
        assert_eq!(cookie_pair("sp", "").unwrap(), "sp=");
        for (name, value) in [
            ("", "v"),
            ("a=b", "v"),
            ("a b", "v"),
            ("a;b", "v"),
            ("a", "v;w"),
            ("a", "v w"),
            ("a", "v,w"),
            ("a", "v\r\n"),
            ("a", "é"),
        ] {
            assert!(cookie_pair(name, value).is_err(), "{name:?}={value:?}");
        }
    }
}
