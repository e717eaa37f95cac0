//! The application's authentication handler, in either of its two forms: from the key alone
//! (`|key: String| async { .. }`), or from the key and the connection's [`Handshake`]
//! (`|key: String, handshake: Handshake| async { .. }`). Either way it becomes one
//! [`AuthenticationHandler`], which never takes a connection down with a panic.

use super::{AuthInfo, Handshake};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// From an unwrapped key, and the handshake of the connection it came on, to who it belongs
/// to, or `None` when the key is not valid.
pub(crate) type AuthenticationHandler =
    Arc<dyn Fn(String, Handshake) -> BoxFuture<'static, Option<AuthInfo>> + Send + Sync>;

/// A function the server can authenticate with: `Fn(String) -> impl Future<Output =
/// Option<AuthInfo>>`, or `Fn(String, Handshake) -> ..` for one that needs the peer's
/// address or a header (`Marker` tells the two apart; name neither). Implemented for every
/// such function and closure.
pub trait AuthenticationFn<Marker>: Send + Sync + 'static {
    /// Runs the function.
    #[doc(hidden)]
    fn authenticate(
        &self,
        key: String,
        handshake: Handshake,
    ) -> BoxFuture<'static, Option<AuthInfo>>;
}

impl<F, Fut> AuthenticationFn<(String,)> for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<AuthInfo>> + Send + 'static,
{
    fn authenticate(&self, key: String, _: Handshake) -> BoxFuture<'static, Option<AuthInfo>> {
        self(key).boxed()
    }
}

impl<F, Fut> AuthenticationFn<(String, Handshake)> for F
where
    F: Fn(String, Handshake) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<AuthInfo>> + Send + 'static,
{
    fn authenticate(
        &self,
        key: String,
        handshake: Handshake,
    ) -> BoxFuture<'static, Option<AuthInfo>> {
        self(key, handshake).boxed()
    }
}

/// `handler` as the server runs it: a panic, while starting or while running, authenticates
/// nobody and takes no connection with it.
pub(crate) fn guarded<M>(handler: impl AuthenticationFn<M>) -> AuthenticationHandler {
    Arc::new(move |key, handshake| {
        let started =
            std::panic::catch_unwind(AssertUnwindSafe(|| handler.authenticate(key, handshake)));
        match started {
            Ok(future) => AssertUnwindSafe(future)
                .catch_unwind()
                .map(|result| {
                    result.unwrap_or_else(|_| {
                        log::error!("the authentication handler panicked");
                        None
                    })
                })
                .boxed(),
            Err(_) => {
                log::error!("the authentication handler panicked");
                Box::pin(async { None })
            }
        }
    })
}
