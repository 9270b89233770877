//! One supervised OS process: started with a fixed command line and environment
//! (so a restart comes back on the same ports and data), its output appended to a
//! log file under the run directory, killed with SIGKILL (no shutdown, no flush) or
//! stopped with SIGTERM at the end of the run. Dropping it kills it.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::error::{Error, Result};

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Unique name in the run, e.g. `payment-2` or `broker`.
    pub name: String,
    /// What it is, for kill targets and the summary: a service name or `broker`.
    pub kind: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The whole environment (the parent's is not inherited, except `PATH`,
    /// `HOME`, `LANG` and `RUST_LOG`).
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    pub log: PathBuf,
}

/// A process of the run, running or not.
pub struct Supervised {
    pub spec: Spec,
    child: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
}

impl Supervised {
    pub fn new(spec: Spec) -> Self {
        Self {
            spec,
            child: None,
            starts: 0,
        }
    }

    /// Starts it (again); its log gets a marker line first.
    pub fn start(&mut self) -> Result<()> {
        use std::io::Write;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.log)?;
        self.starts += 1;
        writeln!(
            log,
            "==== sagaflow-chaos: start #{} of {} at {} ====",
            self.starts,
            self.spec.name,
            chrono::Utc::now().to_rfc3339()
        )?;
        let mut command = Command::new(&self.spec.program);
        command
            .args(&self.spec.args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        for key in ["PATH", "HOME", "LANG", "RUST_LOG"] {
            if let Ok(value) = std::env::var(key) {
                command.env(key, value);
            }
        }
        command.envs(self.spec.env.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = &self.spec.cwd {
            command.current_dir(cwd);
        }
        let child = command.spawn().map_err(|source| Error::Spawn {
            name: self.spec.name.clone(),
            source,
        })?;
        self.child = Some(child);
        Ok(())
    }

    /// Whether it runs now (an exit since the last look is noticed here).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => match child.try_wait() {
                Ok(None) => true,
                Ok(Some(_)) | Err(_) => {
                    self.child = None;
                    false
                }
            },
            None => false,
        }
    }

    /// The exit status if it has exited on its own (not killed by us).
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status.to_string())
            }
            _ => None,
        }
    }

    /// `kill -9`, and waits until it is gone.
    pub async fn sigkill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Sends SIGTERM (a graceful stop: in-flight messages finish, the group is left).
    pub async fn terminate(&mut self) {
        if let Some(pid) = self.child.as_ref().and_then(Child::id) {
            // No libc (unsafe is forbidden): the `kill` utility sends the signal.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
    }

    /// Waits until it has exited or `deadline` passes, then SIGKILLs it.
    pub async fn reap(&mut self, deadline: tokio::time::Instant) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if tokio::time::timeout_at(deadline, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}
