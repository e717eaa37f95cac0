//! The byte stream under a client's WebSocket: TCP, or (feature `tls`) TLS over TCP.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::upgrade::Address;

/// TLS settings for `wss://` (nothing without the `tls` feature).
#[cfg(feature = "tls")]
pub(crate) type Tls = std::sync::Arc<rustls::ClientConfig>;
/// TLS settings for `wss://` (nothing without the `tls` feature).
#[cfg(not(feature = "tls"))]
pub(crate) type Tls = ();

/// An open connection to the server.
pub(crate) enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// Connects to `address`, through TLS for `wss://`.
    pub(crate) async fn connect(address: &Address, tls: &Tls) -> io::Result<Stream> {
        let tcp = TcpStream::connect((address.host.as_str(), address.port)).await?;
        // TCP_NODELAY, as tonic's client sets it: the socket task already gathers what it
        // has into one write per turn, so Nagle's algorithm could only hold a small frame
        // back until the server acknowledges the previous one.
        tcp.set_nodelay(true)?;
        if !address.tls {
            return Ok(Stream::Plain(tcp));
        }
        #[cfg(feature = "tls")]
        {
            let name = rustls::pki_types::ServerName::try_from(address.host.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let connector = tokio_rustls::TlsConnector::from(tls.clone());
            Ok(Stream::Tls(Box::new(connector.connect(name, tcp).await?)))
        }
        #[cfg(not(feature = "tls"))]
        {
            let () = tls;
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "wss:// needs streampod's `tls` feature",
            ))
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
