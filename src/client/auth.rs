//! Credentials on the client: where the `auth` value of each call comes from.

use futures::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;

/// Supplies the `Authorization`-style value (`Bearer …`, `Basic …`) sent with each call.
pub trait AuthKeyProvider: Send + Sync + 'static {
    /// The value for the next call, or `None` to call unauthenticated.
    fn auth_header_value(&self) -> BoxFuture<'_, Option<String>>;

    /// Whether [`AuthKeyProvider::refresh`] can ever succeed. When it can, an open answered
    /// `authenticationFailed` is refreshed and retried once.
    fn can_refresh(&self) -> bool {
        false
    }

    /// Gets new credentials; `true` when the next [`AuthKeyProvider::auth_header_value`]
    /// has them.
    fn refresh(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { false })
    }
}

/// The same value for every call; never refreshed.
#[derive(Debug, Clone)]
pub struct StaticAuthKey(pub String);

impl AuthKeyProvider for StaticAuthKey {
    fn auth_header_value(&self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async { Some(self.0.clone()) })
    }
}

type ValueFn = dyn Fn() -> BoxFuture<'static, Option<String>> + Send + Sync;
type RefreshFn = dyn Fn() -> BoxFuture<'static, bool> + Send + Sync;

/// A provider built from two async functions: one gives the current value, the other
/// refreshes it (say, with a refresh token) and reports whether it worked.
#[derive(Clone)]
pub struct RefreshingAuthKey {
    value: Arc<ValueFn>,
    refresh: Arc<RefreshFn>,
}

impl RefreshingAuthKey {
    /// A provider from its two functions.
    pub fn new<V, VF, R, RF>(value: V, refresh: R) -> Self
    where
        V: Fn() -> VF + Send + Sync + 'static,
        VF: Future<Output = Option<String>> + Send + 'static,
        R: Fn() -> RF + Send + Sync + 'static,
        RF: Future<Output = bool> + Send + 'static,
    {
        RefreshingAuthKey {
            value: Arc::new(move || -> BoxFuture<'static, Option<String>> { Box::pin(value()) }),
            refresh: Arc::new(move || -> BoxFuture<'static, bool> { Box::pin(refresh()) }),
        }
    }
}

impl AuthKeyProvider for RefreshingAuthKey {
    fn auth_header_value(&self) -> BoxFuture<'_, Option<String>> {
        (self.value)()
    }

    fn can_refresh(&self) -> bool {
        true
    }

    fn refresh(&self) -> BoxFuture<'_, bool> {
        (self.refresh)()
    }
}

impl std::fmt::Debug for RefreshingAuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshingAuthKey")
    }
}
