//! The saga store and driver: where the pure engine's decisions meet PostgreSQL.
//!
//! Each saga is an append-only log (`saga_events`, unique `(saga_id, seq)`) plus a
//! `sagas` row holding the folded state for fast loads and queries (replaying the
//! log always reproduces it). [`driver::apply`] runs one input through
//! [`sagaflow_saga_engine::decide()`] and, in the caller's transaction, appends the
//! events, updates the snapshot, writes the commands to the outbox, stores the
//! timers and publishes one `SagaProgressed` per decision (its entries typed) and a
//! `SagaFinished` when the saga ends; its [`Applied`] says what it appended and
//! which commands it sent.
//!
//! # Layout
//! - [`definitions`]: the saga definitions a process runs, by name and version.
//! - [`log`]: load, append and replay a saga's log.
//! - [`driver`]: decide + persist + execute actions, one transaction.
//! - [`progress`]: what readers are told (`SagaProgressed`, `SagaFinished`).
//! - [`timeouts`]: durable timers: store, fire the due ones (with the driver, or
//!   with the caller's own step: `fire_due_with`), park the ones that cannot fire;
//!   the lock order every path follows (the saga row first, then its timers).
//! - [`queries`]: operator reads: list by status and age, a saga's log, versions.
//! - [`erase`](mod@erase): redact a user's personal data from the log.
//! - [`error`](mod@error): the store's [`Error`].

pub mod definitions;
pub mod driver;
pub mod erase;
pub mod error;
pub mod log;
pub mod progress;
pub mod queries;
pub mod timeouts;

pub use definitions::Definitions;
pub use driver::{Applied, SagaContext, apply, start};
pub use error::Error;

/// Creates the store's tables (and the messaging core's) in `pool`'s database.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}
