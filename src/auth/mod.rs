//! Authentication on the server: who calls, what an endpoint requires, who may use it,
//! and (in `revocation`) which open calls to close when a user's authentication is revoked.
//!
//! Credentials travel per call, in `omsc.auth`, as an HTTP `Authorization`-style value.
//! The server checks its shape, unwraps the key (`Bearer <t>` gives `<t>`, `Basic <b64>`
//! the decoded text, any other scheme the whole value: `protocol::auth_value`) and hands the
//! key to the application's authentication handler, once, when the call opens.

mod handler;
mod handshake;
mod revocation;

pub use handler::AuthenticationFn;
pub(crate) use handler::{guarded, AuthenticationHandler};
pub use handshake::Handshake;
pub(crate) use revocation::{Registration, Revocations, Revoke};

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

    /// A user with no scopes and no auth id: `AuthInfo::user("alice")`.
    pub fn user(user_id: impl Into<String>) -> Self {
        AuthInfo {
            user_id: user_id.into(),
            scopes: Default::default(),
            auth_id: None,
        }
    }

    /// The same, with an auth id.
    pub fn with_auth_id(mut self, auth_id: impl Into<String>) -> Self {
        self.auth_id = Some(auth_id.into());
        self
    }
}

/// What revoking a user's authentication takes away.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

#[cfg(test)]
mod tests {
    use super::*;

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
