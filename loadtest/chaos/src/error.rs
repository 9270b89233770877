//! The chaos run's errors. A violated invariant is not an error: it is a row of the
//! [`crate::report::Report`]. These are the reasons a run could not be carried out.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or an environment value that cannot work (named in the message).
    #[error("configuration: {0}")]
    Config(String),
    /// A program the run needs is not where it was looked for.
    #[error("{what} not found at {path}: {hint}")]
    MissingBinary {
        what: &'static str,
        path: PathBuf,
        hint: &'static str,
    },
    /// Starting a process failed.
    #[error("starting {name}: {source}")]
    Spawn {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// A setup command (`sagaflow migrate`, `topics create`, `stock set`, `token`)
    /// exited non-zero.
    #[error("`{command}` failed: {output}")]
    Command { command: String, output: String },
    /// The platform did not become ready in time.
    #[error("not ready: {0}")]
    NotReady(String),
    /// The whole run took longer than `--duration-limit`.
    #[error("the run exceeded --duration-limit ({0} s) and was aborted")]
    DurationLimit(u64),
    #[error("PostgreSQL: {0}")]
    Db(#[from] sqlx::Error),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
