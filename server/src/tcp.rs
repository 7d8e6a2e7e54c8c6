//! The plain TCP listener the server and its benchmark serve on: every accepted connection has
//! Nagle's algorithm off (`TCP_NODELAY`).
//!
//! A page is streamed: hyper writes its head and the first chunks as separate small segments.
//! With Nagle's algorithm on, the second small write waits until the first is acknowledged, and
//! the client's TCP delays that acknowledgement by up to 40 ms on Linux. Every streamed page then
//! took 44 ms at any load (`docs/performance.md`, *A page waits 40 ms for a delayed ACK*).

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};

/// [`TcpListener`] whose connections arrive with `TCP_NODELAY` set.
pub struct NoDelayListener(TcpListener);

impl NoDelayListener {
    pub fn new(listener: TcpListener) -> NoDelayListener {
        NoDelayListener(listener)
    }
}

impl Listener for NoDelayListener {
    type Io = TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // axum's accept for a TcpListener already waits out errors such as running out of file
        // descriptors instead of returning them.
        let (stream, peer) = Listener::accept(&mut self.0).await;
        no_delay(&stream);
        (stream, peer)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Listener::local_addr(&self.0)
    }
}

/// Turns Nagle's algorithm off on `stream`. A failure only costs latency, so it is logged, not
/// fatal: the connection is served either way.
pub fn no_delay(stream: &TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    async fn bound() -> (TcpListener, std::net::SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (listener, addr)
    }

    #[tokio::test]
    async fn plain_connections_are_served_without_nagle() {
        let (tcp, addr) = bound().await;
        let mut listener = NoDelayListener::new(tcp);
        let client = TcpStream::connect(addr).await.unwrap();
        let (served, peer) = listener.accept().await;
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(served.nodelay().unwrap(), "the server's side of the connection has TCP_NODELAY");
        assert_eq!(Listener::local_addr(&listener).unwrap(), addr);
    }

    #[tokio::test]
    async fn tls_connections_are_served_without_nagle() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().self_signed(&key).unwrap();
        let dir = std::env::temp_dir().join(format!("ecert-nodelay-{}", ecert_core::secret::Random::os().id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let config = crate::tls::server_config(&cert_path, &key_path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);

        let (tcp, addr) = bound().await;
        let mut listener = crate::tls::TlsListener::new(tcp, config).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from(cert.der().to_vec())).unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let handshake = tokio::spawn(async move {
            let tcp = TcpStream::connect(addr).await.unwrap();
            connector.connect(ServerName::try_from("127.0.0.1").unwrap(), tcp).await.unwrap()
        });
        let (served, _) = listener.accept().await;
        let _client = handshake.await.unwrap();
        assert!(served.get_ref().0.nodelay().unwrap(), "the server's side of a TLS connection has TCP_NODELAY");
    }
}
