//! Test support: every test talks to a real Kafka-protocol broker and a real
//! PostgreSQL server, isolated by a fresh database and unique topic names.
//!
//! # Layout
//! - [`pg`]: [`TestDb`], a fresh database on the local (or `DATABASE_URL`) server.
//! - [`broker`]: [`Broker`]: librdkafka's in-process mock cluster, a local broker
//!   process the test owns (can be killed and restarted), or an external cluster.
//! - [`local_broker`]: starting and stopping the local broker (Nisshi); [`free_port`].
//! - [`proxy`]: [`TcpProxy`], a TCP forwarder a test can cut and restore (a
//!   database outage).
//! - [`topics`]: unique topic names, explicit creation, reading a topic back.
//! - [`wait`]: [`eventually`] and [`eventually_some`], waiting for a condition
//!   (or a value) with a deadline.
//! - [`service_auth`]: test secrets and the internal / operator tokens they sign.
//!
//! Environment: `SAGAFLOW_TEST_PG_URL` (or `DATABASE_URL`; default
//! `postgres://postgres@127.0.0.1:5432/postgres`), `SAGAFLOW_BROKER_BIN` (default
//! `<workspace>/.tools/bin/nisshi`), `KAFKA_BOOTSTRAP_SERVERS` for [`Broker::external`].

pub mod broker;
pub mod local_broker;
pub mod pg;
pub mod proxy;
pub mod service_auth;
pub mod topics;
pub mod wait;

pub use broker::Broker;
pub use local_broker::{LocalBroker, free_port};
pub use pg::TestDb;
pub use proxy::TcpProxy;
pub use topics::{TopicReader, unique_topic};
pub use wait::{eventually, eventually_some};

/// Installs a test log subscriber once (honours `RUST_LOG`).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// The workspace root (where `.tools/` and `.data/` live).
pub fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}
