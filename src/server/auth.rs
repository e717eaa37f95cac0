//! Authentication: who calls, what an endpoint requires, and the `auth` value's format.
//!
//! Credentials travel per call, in `omsc.auth`, as an HTTP `Authorization`-style value.
//! The server checks its shape, unwraps the key (`Bearer <t>` gives `<t>`, `Basic <b64>`
//! the decoded text, any other scheme the whole value) and hands the key to the
//! application's authentication handler, once, when the call opens.

use base64::Engine;
use futures::future::BoxFuture;
use std::collections::HashSet;
use std::sync::Arc;

/// Who a call is authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthInfo {
    /// The user's identifier.
    pub user_id: String,
    /// The scopes the user holds.
    pub scopes: HashSet<String>,
    /// The id of this authentication (a token or session id), if the handler tracks one;
    /// revoking it closes exactly the calls opened with it.
    pub auth_id: Option<String>,
}

impl AuthInfo {
    /// A user with the given scopes and no auth id.
    pub fn new(
        user_id: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        AuthInfo {
            user_id: user_id.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            auth_id: None,
        }
    }

    /// The same, with an auth id.
    pub fn with_auth_id(mut self, auth_id: impl Into<String>) -> Self {
        self.auth_id = Some(auth_id.into());
        self
    }
}

/// The application's authentication handler: from an unwrapped key to who it belongs to,
/// or `None` when the key is not valid.
pub(crate) type AuthenticationHandler =
    Arc<dyn Fn(String) -> BoxFuture<'static, Option<AuthInfo>> + Send + Sync>;

/// What revoking a user's authentication takes away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Everything: every call of the user on an endpoint that requires login or scopes.
    User,
    /// One authentication: the calls opened with this auth id.
    AuthId(String),
    /// Some scopes: the calls on endpoints that require any of them.
    Scopes(Vec<String>),
}

/// What an endpoint asks of its callers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Requirements {
    pub(crate) login: bool,
    pub(crate) scopes: Arc<HashSet<String>>,
}

impl Requirements {
    /// Requires login and, in addition, every one of `scopes`.
    pub(crate) fn add_scopes(&mut self, scopes: impl IntoIterator<Item = impl Into<String>>) {
        self.login = true;
        let mut all = (*self.scopes).clone();
        all.extend(scopes.into_iter().map(Into::into));
        self.scopes = all.into();
    }

    /// Whether calls need to be authenticated at all (and so can be revoked).
    pub(crate) fn any(&self) -> bool {
        self.login || !self.scopes.is_empty()
    }
}

/// Why a caller may not open a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// Not signed in.
    Unauthenticated,
    /// Signed in, missing a required scope.
    Unauthorized,
}

/// Reference §4.3 step 6: nothing required → allowed; no user → unauthenticated; a missing
/// scope → unauthorized.
pub(crate) fn check_access(required: &Requirements, auth: Option<&AuthInfo>) -> Result<(), Denied> {
    if !required.any() {
        return Ok(());
    }
    let auth = auth.ok_or(Denied::Unauthenticated)?;
    if required.scopes.iter().all(|s| auth.scopes.contains(s)) {
        Ok(())
    } else {
        Err(Denied::Unauthorized)
    }
}

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

    #[test]
    fn access_follows_serverpods_order() {
        let open = Requirements::default();
        let admin = Requirements {
            login: true,
            scopes: Arc::new(["admin".to_string()].into_iter().collect()),
        };
        let user = AuthInfo::new("1", Vec::<String>::new());
        assert_eq!(check_access(&open, None), Ok(()));
        assert_eq!(check_access(&admin, None), Err(Denied::Unauthenticated));
        assert_eq!(check_access(&admin, Some(&user)), Err(Denied::Unauthorized));
        assert_eq!(
            check_access(&admin, Some(&AuthInfo::new("1", ["admin"]))),
            Ok(())
        );
    }
}
