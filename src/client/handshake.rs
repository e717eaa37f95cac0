//! The WebSocket handshake both clients make: the request (with the auth cookie, in cookie
//! mode), with the `tls` feature the TLS settings for `wss://`, and the greeting that
//! proves the server speaks (a `ping`, answered by the server's first frame).

use super::error::Error;
use super::transport::{Address, Incoming, OpenError, Tls};
use super::ClientConfig;
use crate::protocol::Frame;
use std::time::Duration;
use tokio::time::timeout;

pub(crate) use super::transport::Socket;

/// What a client adds to its handshakes.
#[derive(Clone)]
pub(crate) struct Handshake {
    /// `name=value` of the auth cookie, for cookie mode.
    pub(crate) cookie: Option<String>,
    /// TLS settings for `wss://`.
    pub(crate) tls: Tls,
}

impl Handshake {
    /// Opens a WebSocket to `url`, sends `ping` (the protocol's own ping message, in the
    /// client's encoding: this first data frame sets the server's side of the connection
    /// to it) and waits for the server's first frame, each step within the connect timeout.
    /// Both clients connect this way; the first frame is theirs to handle.
    pub(crate) async fn connect(
        &self,
        url: &str,
        config: &ClientConfig,
        ping: Frame,
    ) -> Result<(Socket, Incoming), Error> {
        let mut socket = self
            .open(url, config.connect_timeout, config.max_message_size)
            .await?;
        socket.send(&ping);
        match timeout(config.connect_timeout, socket.next()).await {
            Err(_) => {
                socket.close(Duration::ZERO).await;
                Err(Error::ConnectTimedOut)
            }
            Ok(None) | Ok(Some(Ok(Incoming::Close(_)))) => {
                Err(Error::connect_failed("closed during handshake"))
            }
            Ok(Some(Err(e))) => Err(Error::connect_failed_from(
                "reading the first frame failed",
                e,
            )),
            Ok(Some(Ok(first))) => Ok((socket, first)),
        }
    }

    /// Opens a WebSocket to `url` within `within`, accepting messages of up to
    /// `max_message` bytes.
    pub(crate) async fn open(
        &self,
        url: &str,
        within: Duration,
        max_message: usize,
    ) -> Result<Socket, Error> {
        let address = Address::parse(url)
            .map_err(|e| Error::invalid_setting_from(format!("URL {url}"), e))?;
        let opening = Socket::open(&address, self.cookie.as_deref(), &self.tls, max_message);
        match timeout(within, opening).await {
            Err(_) => Err(Error::ConnectTimedOut),
            Ok(Ok(socket)) => Ok(socket),
            Ok(Err(OpenError::Io(e))) => Err(Error::connect_failed_from(
                "the WebSocket could not be opened",
                e,
            )),
            Ok(Err(OpenError::Upgrade(e))) => Err(Error::connect_failed_from(
                "the WebSocket upgrade failed",
                e,
            )),
        }
    }
}

/// The TLS settings of a client trusting Mozilla's roots and `extra_roots` (DER
/// certificates); nothing without the `tls` feature.
pub(crate) fn tls_settings(extra_roots: &[Vec<u8>]) -> Result<Tls, Error> {
    #[cfg(feature = "tls")]
    return tls::config(extra_roots);
    #[cfg(not(feature = "tls"))]
    {
        let _ = extra_roots;
        Ok(())
    }
}

/// Refuses a `wss://` URL in a build without TLS, with the reason, instead of a failure
/// at the first call.
pub(crate) fn check_scheme(url: &str) -> Result<(), Error> {
    if cfg!(feature = "tls") || !url.starts_with("wss://") {
        Ok(())
    } else {
        Err(Error::invalid_setting(format!(
            "{url}: wss:// needs streampod's `tls` feature"
        )))
    }
}

#[cfg(feature = "tls")]
mod tls {
    //! rustls with the ring provider, chosen explicitly so that a process where other crates
    //! enable another provider does not make rustls refuse to pick one.

    use super::Error;
    use rustls::pki_types::CertificateDer;
    use std::sync::Arc;

    /// Mozilla's roots (from `webpki-roots`) and `extra_roots` (DER certificates).
    pub(crate) fn config(extra_roots: &[Vec<u8>]) -> Result<Arc<rustls::ClientConfig>, Error> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for der in extra_roots {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(|e| Error::invalid_setting_from("invalid root certificate", e))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::invalid_setting_from("TLS protocol versions", e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::check_scheme;

    #[test]
    fn wss_needs_the_tls_feature_and_says_so() {
        assert!(check_scheme("ws://h:1/v1/websocket").is_ok());
        let wss = check_scheme("wss://h:1/v1/websocket");
        assert_eq!(wss.is_ok(), cfg!(feature = "tls"), "{wss:?}");
        if let Err(e) = wss {
            assert!(e.to_string().contains("`tls` feature"), "{e}");
        }
    }
}
