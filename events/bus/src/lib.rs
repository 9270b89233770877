//! The messaging core every Sagaflow service uses: commands and events travel on
//! Kafka, and every handler is one Postgres transaction (state + inbox + outbox).
//!
//! # Layout
//! - [`config`]: Kafka settings from flags/environment, validated at start.
//! - [`message`]: [`Incoming`] (a consumed message) and [`Outgoing`] (one to publish;
//!   `Outgoing::start` is the command that starts a saga, for any Rust producer,
//!   and `Outgoing::publish` sends one where there is no outbox).
//! - [`outbox`]: write outgoing messages in the caller's transaction.
//! - [`relay`]: publish committed outbox rows; mark sent after the broker's ack;
//!   park rows that cannot be published; prune old outbox and inbox rows.
//! - [`producer`]: one Kafka producer per process for each set of settings (dead
//!   letters, the probe); each relay has its own.
//! - [`postgres`]: PostgreSQL connection options (no TLS on loopback unless asked).
//! - [`publish_failure`]: what a failed send means for an outbox row (park, count
//!   an attempt, or wait).
//! - [`inbox`]: the consumer loop; dedup by `(consumer, message_id)`; offsets stored
//!   after commit; poison to the dead-letter topic.
//! - [`failure`]: transient / permanent / poison, and the retry backoff.
//! - [`schema_ids`]: schema ids that are not built in (a third-party producer's),
//!   looked up in the schema registry of `SCHEMA_REGISTRY_URL` before handling.
//! - [`schema_registry`]: the Confluent Schema Registry REST client (the crate
//!   `sagaflow-schema-registry`, re-exported).
//! - [`dead_letter`]: `<topic>.dlq` records with the reason and original coordinates.
//! - [`dlq`]: operating on dead letters: list, show, replay, acknowledge (purge).
//! - [`admin`]: explicit topic creation.
//! - [`probe`]: a produce-and-consume round trip proving the broker works.
//! - [`migrate`]: the outbox and inbox tables.
//! - [`traceparent`]: W3C trace context carried in Kafka headers, bridged to
//!   OpenTelemetry spans (one span per consumed message).
//! - [`lag`]: consumer lag from librdkafka statistics, as a gauge; the stall of
//!   assigned partitions.
//! - [`group_stall`]: an unassigned member whose group leaves data unconsumed.
//! - [`failpoint`]: named crash points for kill -9 tests.
//! - [`erasure`]: what every service's erasure consumer shares (tombstone subject,
//!   saga start times, the per-user lock).
//! - [`supervisor`]: how every service runs: named components under one token; a
//!   failing one stops its siblings cleanly; a participant's relay + consumer.
//! - `testing` (feature `testing`): drive a handler through the inbox in tests.

pub mod admin;
pub mod config;
pub mod dead_letter;
pub mod dlq;
pub mod erasure;
pub mod error;
pub mod failpoint;
pub mod failure;
pub mod group_stall;
pub mod inbox;
pub mod lag;
pub mod message;
pub mod migrate;
pub mod outbox;
pub mod postgres;
pub mod probe;
pub mod producer;
pub mod publish_failure;
pub mod relay;
pub mod schema_ids;
pub mod supervisor;
#[cfg(feature = "testing")]
pub mod testing;
pub mod traceparent;

pub use config::KafkaConfig;
pub use error::Error;
pub use failure::{Backoff, Failure};
pub use inbox::{Handler, InboxConsumer, Outcome};
pub use message::{Incoming, Outgoing};
pub use relay::Relay;
pub use sagaflow_schema_registry as schema_registry;
pub use supervisor::Supervisor;
