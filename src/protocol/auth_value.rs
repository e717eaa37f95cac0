//! The `auth` value of a call, as it crosses the wire: `scheme SP value`, with the key
//! unwrapped from `Bearer` and `Basic` values. Both sides need it.

use base64::Engine;

/// Checks the shape of an `Authorization`-style value (`scheme SP value`, Serverpod's
/// `^[a-zA-Z0-9_-]+ [\t\x20-\x7E\x80-\xFF]*$`) and unwraps its key. `None` for a value of
/// the wrong shape, bad base64, or a `Bearer` value with more than one token.
pub fn unwrap_auth_value(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once(' ')?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let rest_ok = rest
        .bytes()
        .all(|b| b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80);
    if !scheme_ok || !rest_ok {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        let token = rest.trim();
        return (!token.is_empty() && !token.contains([' ', '\t'])).then(|| token.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        return String::from_utf8(bytes).ok();
    }
    Some(value.to_string())
}

/// Wraps a key as a `Basic` value, as Serverpod's legacy keys are sent.
pub fn basic_auth_value(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_bearer_basic_and_other_schemes() {
        assert_eq!(
            unwrap_auth_value("Bearer abc.def").as_deref(),
            Some("abc.def")
        );
        assert_eq!(
            unwrap_auth_value(&basic_auth_value("12:secret")).as_deref(),
            Some("12:secret")
        );
        assert_eq!(
            unwrap_auth_value("invalid token").as_deref(),
            Some("invalid token")
        );
    }

    #[test]
    fn refuses_malformed_values() {
        assert_eq!(unwrap_auth_value("nospace"), None);
        assert_eq!(unwrap_auth_value("Basic !!!notbase64"), None);
        assert_eq!(unwrap_auth_value("Bearer two tokens"), None);
        assert_eq!(unwrap_auth_value("bad! x"), None);
        assert_eq!(unwrap_auth_value("Bearer a\u{7f}"), None);
    }
}
