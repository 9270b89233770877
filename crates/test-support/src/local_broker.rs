//! The local broker (Nisshi, the Kafka-compatible broker `infra/dev/broker.sh`
//! installs) as a process owned by a test: its own port and SQLite file, so a test
//! can `kill -9` and restart it without disturbing others.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running (or killed) local broker process.
pub struct LocalBroker {
    child: Option<Child>,
    port: u16,
    data_dir: PathBuf,
}

/// Where the pinned broker binary is (`SAGAFLOW_BROKER_BIN`).
pub fn binary() -> PathBuf {
    std::env::var_os("SAGAFLOW_BROKER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join(".tools/bin/nisshi"))
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl LocalBroker {
    /// Starts a broker on a free port with SQLite storage in a fresh directory.
    pub fn start() -> anyhow::Result<Self> {
        let data_dir = crate::workspace_root()
            .join(".data/test-broker")
            .join(uuid::Uuid::new_v4().simple().to_string());
        std::fs::create_dir_all(&data_dir)?;
        let mut broker = Self {
            child: None,
            port: free_port()?,
            data_dir,
        };
        broker.spawn()?;
        Ok(broker)
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let bin = binary();
        if !bin.exists() {
            bail!(
                "the local broker is not installed at {}: run infra/dev/broker.sh install (or set SAGAFLOW_BROKER_BIN)",
                bin.display()
            );
        }
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::create(self.data_dir.join("broker.log"))?;
        let child = Command::new(&bin)
            .arg("broker")
            .arg("--listener-url")
            .arg(&url)
            .arg("--advertised-listener-url")
            .arg(&url)
            .arg("--storage-engine")
            // The broker resolves a sqlite:// path against its working directory.
            .arg("sqlite://broker.db")
            .current_dir(&self.data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        self.child = Some(child);
        self.wait_listening(Duration::from_secs(20))
    }

    fn wait_listening(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "the local broker did not listen on port {} within {timeout:?}",
            self.port
        )
    }

    /// `kill -9`: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port and data.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
