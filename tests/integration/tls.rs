//! `wss://` with the `tls` feature: the client reaches a server that serves TLS itself (an
//! actix-web `HttpServer` with rustls, mounting streampod), trusting its self-signed
//! certificate only when told to.

use crate::support::method_streaming;
use futures::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use streampod::client::{Client, ClientConfig, ConnectionStatus, Error, Inputs, LegacyClient};
use streampod::NoArgs;

/// A self-signed certificate for `localhost` and 127.0.0.1, valid until 2126.
const CERT: &[u8] = include_bytes!("support/tls/cert.pem");
const KEY: &[u8] = include_bytes!("support/tls/key.pem");

/// A TLS server on a free port; stopped when dropped.
struct TlsServer {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl TlsServer {
    fn start() -> Self {
        let streampod = streampod::Server::builder()
            .endpoint(method_streaming::endpoint(Default::default()))
            .build()
            .unwrap();
        let certs = CertificateDer::pem_slice_iter(CERT)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let http = actix_web::HttpServer::new(move || {
                    let streampod = streampod.clone();
                    actix_web::App::new().configure(move |c| streampod.mount(c))
                })
                .workers(1)
                .disable_signals()
                .listen_rustls_0_23(listener, tls)
                .unwrap()
                .run();
                tx.send(http.handle()).unwrap();
                let _ = http.await;
            })
        });
        TlsServer {
            addr,
            handle: rx.recv().unwrap(),
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        // Unbudgeted, as `RunningServer` does: dropped inside a tokio task, the stop could
        // otherwise spin on a spent cooperative budget.
        futures::executor::block_on(tokio::task::unconstrained(self.handle.stop(false)));
    }
}

fn cert_der() -> Vec<u8> {
    CertificateDer::from_pem_slice(CERT).unwrap().to_vec()
}

#[tokio::test]
async fn a_client_calls_over_wss_when_it_trusts_the_servers_certificate() {
    let server = TlsServer::start();
    let client = Client::builder(&server.url())
        .add_root_certificate(&cert_der())
        .build()
        .unwrap();
    assert!(client.url().starts_with("wss://"), "{}", client.url());
    let values: Vec<i64> = client
        .stream::<i64>(
            "methodStreaming",
            "intEchoStream",
            NoArgs {},
            Inputs::new().values("stream", futures::stream::iter(vec![1i64, 2, 3])),
        )
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(values, vec![1, 2, 3]);
}

#[tokio::test]
async fn a_client_refuses_a_certificate_it_does_not_trust() {
    let server = TlsServer::start();
    let client = Client::new(&server.url()).unwrap();
    let err = client
        .call::<i64>(
            "methodStreaming",
            "directOneIntReturnWithStreamInput",
            NoArgs {},
            Inputs::new().values("stream", futures::stream::empty::<i64>()),
        )
        .await
        .unwrap_err();
    match err {
        Error::ConnectFailed { ref source, .. } => {
            assert!(source.is_some(), "the TLS error is kept");
            let report = streampod::protocol::report(&err);
            assert!(report.to_lowercase().contains("certificate"), "{report}");
        }
        other => panic!("expected ConnectFailed, got {other:?}"),
    }
}

#[test]
fn a_root_that_is_not_a_certificate_fails_the_build() {
    let built = Client::builder("https://127.0.0.1:1")
        .add_root_certificate(b"not a certificate")
        .build();
    assert!(matches!(
        built,
        Err(Error::InvalidSetting {
            source: Some(_),
            ..
        })
    ));
}

#[tokio::test]
async fn the_legacy_client_connects_over_wss_with_roots_from_its_config() {
    let server = TlsServer::start();
    let config = ClientConfig::default().root_certificates(vec![cert_der()]);
    let legacy = LegacyClient::with_config(&server.url(), None, config).unwrap();
    legacy.open_streaming_connection().await.unwrap();
    assert_eq!(legacy.status(), ConnectionStatus::Connected);
    let untrusting = LegacyClient::new(&server.url(), None).unwrap();
    assert!(matches!(
        untrusting.open_streaming_connection().await,
        Err(Error::ConnectFailed { .. })
    ));
}
