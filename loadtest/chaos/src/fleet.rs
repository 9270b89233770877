//! The run's processes as one shared handle: the fault injector kills and restarts
//! them by name while the load runs; at the end every one is stopped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::error::Result;
use crate::process::Supervised;

/// Every process the run started (empty in staging mode).
#[derive(Clone, Default)]
pub struct Fleet {
    procs: Arc<Mutex<Vec<Supervised>>>,
}

impl Fleet {
    pub fn new(procs: Vec<Supervised>) -> Self {
        Self {
            procs: Arc::new(Mutex::new(procs)),
        }
    }

    /// Adds a process and starts it.
    pub async fn launch(&self, mut process: Supervised) -> Result<()> {
        process.start()?;
        self.procs.lock().await.push(process);
        Ok(())
    }

    /// (name, kind) of every process.
    pub async fn members(&self) -> Vec<(String, String)> {
        self.procs
            .lock()
            .await
            .iter()
            .map(|p| (p.spec.name.clone(), p.spec.kind.clone()))
            .collect()
    }

    /// Names of the processes of `kind` that run now.
    pub async fn running(&self) -> Vec<(String, String)> {
        let mut procs = self.procs.lock().await;
        procs
            .iter_mut()
            .filter_map(|p| {
                p.is_running()
                    .then(|| (p.spec.name.clone(), p.spec.kind.clone()))
            })
            .collect()
    }

    /// SIGKILLs `name`; false if it was not running.
    pub async fn kill(&self, name: &str) -> bool {
        let mut procs = self.procs.lock().await;
        let Some(p) = procs.iter_mut().find(|p| p.spec.name == name) else {
            return false;
        };
        if !p.is_running() {
            return false;
        }
        tracing::info!(process = name, "SIGKILL");
        // Held under the lock only briefly: kill + reap is immediate.
        p.sigkill().await;
        true
    }

    /// Starts `name` again if it is not running.
    pub async fn restart(&self, name: &str) -> Result<()> {
        let mut procs = self.procs.lock().await;
        if let Some(p) = procs.iter_mut().find(|p| p.spec.name == name)
            && !p.is_running()
        {
            tracing::info!(process = name, "restarting");
            p.start()?;
        }
        Ok(())
    }

    /// Processes that exited on their own (not killed by the run), with their
    /// status; each is started again so the run goes on, and reported.
    pub async fn revive_exited(&self) -> Vec<String> {
        let mut procs = self.procs.lock().await;
        let mut out = Vec::new();
        for p in procs.iter_mut() {
            if let Some(status) = p.exited() {
                out.push(format!(
                    "{} exited on its own ({status}); see {}",
                    p.spec.name,
                    p.spec.log.display()
                ));
                let _ = p.start();
            }
        }
        out
    }

    /// How many times each process was started in all.
    pub async fn starts(&self) -> Vec<(String, u32)> {
        self.procs
            .lock()
            .await
            .iter()
            .map(|p| (p.spec.name.clone(), p.starts))
            .collect()
    }

    /// Stops every service (SIGTERM, SIGKILL after `grace`), then the broker.
    pub async fn stop_all(&self, grace: Duration) {
        let mut procs = self.procs.lock().await;
        let (mut brokers, mut services): (Vec<_>, Vec<_>) =
            procs.iter_mut().partition(|p| p.spec.kind == "broker");
        for group in [&mut services, &mut brokers] {
            for p in group.iter_mut() {
                p.terminate().await;
            }
            let deadline = tokio::time::Instant::now() + grace;
            for p in group.iter_mut() {
                p.reap(deadline).await;
            }
        }
    }
}
