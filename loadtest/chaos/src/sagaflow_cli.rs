//! The `sagaflow` binary's one-shot commands the run needs (`migrate`, `topics
//! create`, `stock set`, `token`), and where that binary is found. The chaos tool
//! drives the platform only as an operator would: through this binary, the
//! gateway's HTTP API, the broker and (read-only, for the invariants) the databases.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::error::{Error, Result};

/// `dir/<rel>` for `dir` = the current directory or one of its ancestors, the first
/// that has it.
pub fn find_upwards(rel: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir| dir.join(rel))
        .find(|path| path.exists())
}

/// `target/release/sagaflow` or `target/debug/sagaflow` (the newer when both
/// exist), looked up from the current directory upwards.
pub fn default_binary() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = ["target/release/sagaflow", "target/debug/sagaflow"]
        .iter()
        .filter_map(|rel| find_upwards(rel))
        .collect();
    found.sort_by_key(|path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .unwrap_or(std::time::SystemTime::UNIX_EPOCH)
    });
    found.pop()
}

/// The `sagaflow` binary and the environment its commands get.
#[derive(Debug, Clone)]
pub struct Sagaflow {
    pub bin: PathBuf,
}

impl Sagaflow {
    pub fn new(bin: PathBuf) -> Result<Self> {
        if !bin.is_file() {
            return Err(Error::MissingBinary {
                what: "the sagaflow binary",
                path: bin,
                hint: "build it with `cargo build -p sagaflow --locked` (or --release), or pass --sagaflow-bin",
            });
        }
        Ok(Self { bin })
    }

    /// Runs `sagaflow <args>` with only `env` (plus `PATH`); its stdout.
    pub async fn output(&self, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
        let mut command = Command::new(&self.bin);
        command.args(args).env_clear();
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        command.env("RUST_LOG", "warn");
        command.envs(env.iter().copied());
        let out = command.output().await.map_err(|source| Error::Spawn {
            name: format!("sagaflow {}", args.join(" ")),
            source,
        })?;
        if !out.status.success() {
            return Err(Error::Command {
                command: format!("{} {}", display(&self.bin), args.join(" ")),
                output: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// `sagaflow migrate <service> --database-url <url>`.
    pub async fn migrate(&self, service: &str, url: &str) -> Result<()> {
        self.output(&["migrate", service, "--database-url", url], &[])
            .await
            .map(drop)
    }

    /// `sagaflow topics create` on `bootstrap` with `partitions`.
    pub async fn create_topics(&self, bootstrap: &str, partitions: i32) -> Result<()> {
        let partitions = partitions.to_string();
        self.output(
            &["topics", "create"],
            &[
                ("KAFKA_BOOTSTRAP_SERVERS", bootstrap),
                ("KAFKA_PARTITIONS", &partitions),
            ],
        )
        .await
        .map(drop)
    }

    /// `sagaflow stock set <sku> <units>` in the inventory database `url`.
    pub async fn set_stock(&self, url: &str, sku: &str, units: i32) -> Result<()> {
        let units = units.to_string();
        self.output(&["stock", "set", sku, &units], &[("DATABASE_URL", url)])
            .await
            .map(drop)
    }

    /// `sagaflow token --tenant <tenant> --user <user>`, signed with `secret`.
    pub async fn token(&self, secret: &str, tenant: &str, user: &str) -> Result<String> {
        self.output(
            &[
                "token",
                "--tenant",
                tenant,
                "--user",
                user,
                "--ttl-secs",
                "86400",
            ],
            &[("GATEWAY_JWT_HS256_SECRET", secret)],
        )
        .await
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
