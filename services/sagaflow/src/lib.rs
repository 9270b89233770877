//! The `sagaflow` binary's library: one binary serves every service (like
//! `sagaflow serve payment`), or all of them in one process for a laptop, and
//! carries the operator and bring-up commands.
//!
//! One binary instead of eleven keeps builds and images small on a 2-core
//! machine; each service is still its own crate with its own database, topics and
//! consumer group, and deploys as its own process (Helm runs one Deployment per
//! service with a different `serve` argument).
//!
//! # Layout
//! - [`platform`]: every service by name: migrate, run, per-service databases.
//! - [`telemetry`]: logs (text or JSON), the Prometheus endpoint and OTLP trace
//!   export; [`metric_help`]: the HELP text of every metric.
//! - [`schema_registry`]: the Confluent Schema Registry client of `sagaflow-bus`
//!   (`sagaflow schemas`; the inbox consumers look unknown schema ids up with it).
//! - [`commands`]: the CLI's subcommands (`serve`, `topics`, `migrate`, `relay`,
//!   `saga`, `orders`, `stock`, `token`, `demo`, `broker`, `dlq`, `events`,
//!   `completions`).
//! - `main.rs`: parses the CLI, installs telemetry before the Tokio runtime starts,
//!   and calls [`commands::run`].

pub mod commands;
pub mod metric_help;
pub mod platform;
pub use sagaflow_bus::schema_registry;
pub mod telemetry;
