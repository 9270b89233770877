//! [`TcpProxy`]: a TCP forwarder a test puts between a client and a real server
//! (PostgreSQL, a broker) to cut the connection and restore it, e.g. to prove that
//! a consumer waits out a database outage instead of dead-lettering.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards `127.0.0.1:<port>` to a target address. While cut, every open
/// connection is dropped and new ones are refused (nothing listens on the port).
pub struct TcpProxy {
    addr: SocketAddr,
    /// true while cut.
    cut: watch::Sender<bool>,
    /// true while the port is listening.
    listening: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target`.
    pub async fn start(target: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the proxy")?;
        let addr = listener.local_addr()?;
        let (cut, cut_rx) = watch::channel(false);
        let (listening_tx, listening) = watch::channel(true);
        let task = tokio::spawn(serve(listener, addr, target, cut_rx, listening_tx));
        Ok(Self {
            addr,
            cut,
            listening,
            task,
        })
    }

    /// Forwards to PostgreSQL at `url`'s host and port (its first address).
    pub async fn to_url_host(url: &str) -> anyhow::Result<Self> {
        let options: sqlx::postgres::PgConnectOptions = url.parse()?;
        let target = tokio::net::lookup_host((options.get_host(), options.get_port()))
            .await?
            .next()
            .context("resolving the PostgreSQL host")?;
        Self::start(target).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Drops every open connection and refuses new ones until [`TcpProxy::restore`].
    /// Returns once the port no longer listens.
    pub async fn cut(&self) {
        self.cut.send_replace(true);
        let mut listening = self.listening.clone();
        let _ = listening.wait_for(|l| !l).await;
    }

    /// Listens and forwards again. Returns once the port listens.
    pub async fn restore(&self) {
        self.cut.send_replace(false);
        let mut listening = self.listening.clone();
        let _ = listening.wait_for(|l| *l).await;
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    addr: SocketAddr,
    target: SocketAddr,
    mut cut: watch::Receiver<bool>,
    listening: watch::Sender<bool>,
) {
    let mut listener = Some(listener);
    loop {
        let Some(open) = listener.as_ref() else {
            // Cut: wait for the restore, then listen on the same port again.
            if cut.wait_for(|c| !c).await.is_err() {
                return;
            }
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    listener = Some(l);
                    listening.send_replace(true);
                }
                Err(err) => {
                    tracing::warn!(%addr, error = %err, "proxy: rebinding");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
            continue;
        };
        tokio::select! {
            changed = cut.changed() => {
                if changed.is_err() {
                    return;
                }
                if *cut.borrow_and_update() {
                    listener = None;
                    listening.send_replace(false);
                }
            }
            accepted = open.accept() => {
                let Ok((client, _)) = accepted else { continue };
                tokio::spawn(forward(client, target, cut.clone()));
            }
        }
    }
}

/// Copies both ways until either side closes or the proxy is cut.
async fn forward(mut client: TcpStream, target: SocketAddr, mut cut: watch::Receiver<bool>) {
    if *cut.borrow_and_update() {
        return;
    }
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|c| *c) => {}
    }
    // Dropping both streams closes them.
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An echo server, the proxy in front of it, and a round trip through both.
    async fn echo() -> anyhow::Result<SocketAddr> {
        let server = TcpListener::bind("127.0.0.1:0").await?;
        let addr = server.local_addr()?;
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = server.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        Ok(addr)
    }

    async fn round_trip(stream: &mut TcpStream, text: &[u8]) -> anyhow::Result<Vec<u8>> {
        stream.write_all(text).await?;
        let mut back = vec![0; text.len()];
        stream.read_exact(&mut back).await?;
        Ok(back)
    }

    #[tokio::test]
    async fn forwards_cuts_refuses_and_restores() -> anyhow::Result<()> {
        let proxy = TcpProxy::start(echo().await?).await?;
        let mut before = TcpStream::connect(proxy.addr()).await?;
        assert_eq!(round_trip(&mut before, b"hello").await?, b"hello");

        proxy.cut().await;
        let mut buf = [0u8; 1];
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(5), before.read(&mut buf)).await?;
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "an open connection is dropped: {read:?}"
        );
        let refused = TcpStream::connect(proxy.addr()).await;
        assert!(refused.is_err(), "new connections are refused while cut");

        proxy.restore().await;
        let mut after = TcpStream::connect(proxy.addr()).await?;
        assert_eq!(round_trip(&mut after, b"again").await?, b"again");
        Ok(())
    }
}
