//! [`ClientBuilder`]: settings, credentials, trusted roots and classes, checked once.

use super::dialer::Dialer;
use super::slot::{ClientInner, Slot};
use super::state::ConnectionState;
use super::url::{cookie_pair, websocket_url};
use super::{handshake, AuthKeyProvider, Client, ClientConfig, Error};
use crate::protocol::registry::Registry;
use crate::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::sync::watch;

/// Builds a [`Client`].
pub struct ClientBuilder {
    pub(super) url: String,
    pub(super) config: ClientConfig,
    pub(super) auth: Option<Arc<dyn AuthKeyProvider>>,
    /// The auth cookie's name and value.
    pub(super) cookie: Option<(String, String)>,
    /// Extra trusted roots for `wss://`, DER (none without the `tls` feature).
    pub(super) roots: Vec<Vec<u8>>,
    /// Classes registered with [`ClientBuilder::model`].
    pub(super) registry: Arc<Registry>,
}

impl ClientBuilder {
    /// Replaces the settings.
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Sends credentials with every call, from `provider`.
    pub fn auth_key(mut self, provider: impl AuthKeyProvider) -> Self {
        self.auth = Some(Arc::new(provider));
        self
    }

    /// Authenticates with an auth cookie (Serverpod 4.0's cookie mode, for a server built
    /// with [`ServerBuilder::auth_cookie`](crate::ServerBuilder::auth_cookie)): the cookie
    /// goes with the WebSocket handshake, and every call that carries no `auth` value asks
    /// the server to use it (`am: "cookie"`). A key from [`ClientBuilder::auth_key`], when
    /// it gives one, wins.
    pub fn auth_cookie(mut self, name: &str, value: &str) -> Self {
        self.cookie = Some((name.to_string(), value.to_string()));
        self
    }

    /// Trusts `der` (a DER-encoded certificate) as a root for `wss://`, besides Mozilla's
    /// roots and [`ClientConfig::root_certificates`]: for a private CA, or a self-signed
    /// server.
    #[cfg(feature = "tls")]
    pub fn add_root_certificate(mut self, der: &[u8]) -> Self {
        self.roots.push(der.to_vec());
        self
    }

    /// Makes a model's class known, so that values of it on dynamic streams (a
    /// `CallStream<Dynamic>`, a `Dynamic` inside a container) are accepted. Typed streams
    /// need nothing: their type decodes the value. The class table is the client's own.
    pub fn model<T: crate::Wire>(self) -> Self {
        self.registry.register::<T>();
        self
    }

    /// Builds the client; fails for a URL it cannot use (`https`/`wss` need the `tls`
    /// feature), a root certificate that does not parse, or a cookie that cannot be sent (a
    /// name with `=`, `;`, spaces or control characters, a value with `;`, `,`, spaces or
    /// control characters).
    pub fn build(self) -> Result<Client, Error> {
        let url = websocket_url(&self.url)?;
        handshake::check_scheme(&url)?;
        let handshake = handshake::Handshake {
            cookie: match &self.cookie {
                Some((name, value)) => Some(cookie_pair(name, value)?),
                None => None,
            },
            tls: handshake::tls_settings(
                &[&self.config.root_certificates[..], &self.roots[..]].concat(),
            )?,
        };
        Ok(Client {
            inner: Arc::new(ClientInner {
                dialer: Arc::new(Dialer {
                    url,
                    config: self.config,
                    auth: self.auth,
                    handshake,
                    state: watch::channel(ConnectionState::Disconnected).0,
                    generation: AtomicU64::new(0),
                }),
                connection: Mutex::new(Slot::Empty),
                registry: self.registry,
            }),
        })
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("config", &self.config)
            .field("auth", &self.auth.is_some())
            .finish_non_exhaustive()
    }
}
