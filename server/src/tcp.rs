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

    /// The TLS listener's side is tested with the HTTPS tests (`tests/it/binary.rs`).
    #[tokio::test]
    async fn plain_connections_are_served_without_nagle() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let mut listener = NoDelayListener::new(tcp);
        let client = TcpStream::connect(addr).await.unwrap();
        let (served, peer) = listener.accept().await;
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(served.nodelay().unwrap(), "the server's side of the connection has TCP_NODELAY");
        assert_eq!(Listener::local_addr(&listener).unwrap(), addr);
    }
}
