//! # sagaflow-payment — payments and refunds for the checkout and after-sale sagas
//!
//! Consumes `payment.commands` and replies on `payment.events`, charging through a
//! simulated provider ([`provider::Provider`]: configurable decline rate and latency;
//! `payment_method = "card_declined"` is always declined):
//! - `ProcessPayment` → `PaymentProcessed` (authorized and captured) | `PaymentFailed`.
//! - `CompensatePayment` → `PaymentRefunded`: a captured payment is refunded once
//!   (a row in `refunds`); for a saga never charged, a `voided` tombstone makes a late
//!   `ProcessPayment` fail with [`handler::CANCELLED`] without charging.
//! - `RefundPayment` → `PaymentRefundIssued` | `PaymentRefundFailed`: an after-sale
//!   saga refunds part or all of a captured payment (a row per saga in
//!   `aftersale_refunds`), never more than is left of it: several partial refunds
//!   of one payment by different sagas add up to at most its capture, even at once
//!   (the claim locks the payment's row). An invalid command, an unknown or
//!   uncaptured payment, or too large an amount fails with a reason a person can act
//!   on. See [`aftersale`].
//!
//! ## Exactly-once side effects
//! The provider stands in for an external system: it keeps its own ledger (schema
//! `sim_provider`, written in its own autocommit statements) keyed by idempotency
//! key, and the same key gets the same answer. The handler calls it in
//! [`sagaflow_bus::Handler::prepare`], before and outside the inbox transaction, with
//! keys derived from the saga ([`handler::charge_key`], [`handler::refund_key`],
//! [`aftersale::aftersale_refund_key`]: a retried step is a new message id, the same
//! saga), and records the outcome in `payments` / `refunds` / `aftersale_refunds`;
//! `handle` only reads the record and replies. So a batch rolled back and replayed
//! one by one, a redelivery, a retry attempt, or a `kill -9` between the provider's
//! answer and the record (failpoints [`handler::AFTER_CHARGE`],
//! [`aftersale::AFTER_REFUND`]) never charges or refunds twice: the provider sees
//! the same key again. A compensation racing a charge in flight voids it and cancels its
//! key at the provider; whoever finds the charge after the void refunds it, under the
//! one refund key.
//!
//! Every command is idempotent by saga id (`payments.saga_id`,
//! `aftersale_refunds.saga_id` are primary keys): a repeated command gets the same
//! reply.
//!
//! Metrics: `sagaflow_payments_total{outcome}`, `sagaflow_refunds_total{outcome}`
//! (compensations) and `sagaflow_payment_refunds_total{outcome = issued | failed}`
//! (after-sale refunds), recorded outcomes, once each;
//! `sagaflow_payment_provider_calls_total{kind, outcome}` (every provider call,
//! replays included).
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `PAYMENT_*` environment).
//! - [`provider`]: the simulated payment provider and its ledger (refunds in
//!   `provider/refund.rs`).
//! - [`handler`]: [`PaymentHandler`], the `payment.commands` handler (charges and
//!   compensations).
//! - [`aftersale`]: `RefundPayment`, after-sale refunds, and the read helper
//!   [`aftersale::aftersale_refunds_of`].
//! - This file: [`NAME`], [`migrate`], [`run`], and read helpers [`payments_for`] /
//!   [`refunds_for`] / [`captured_count`].
//! - `migrations/`: the `payments` and `refunds` tables (statuses documented in
//!   `2_pending_and_sim_provider.sql`), the provider's `sim_provider` ledger (partial
//!   refunds since `3_sim_provider_partial_refunds.sql`), and `aftersale_refunds`
//!   (`4_aftersale_refunds.sql`).

pub mod aftersale;
pub mod config;
pub mod handler;
pub mod provider;

pub use config::Settings;
pub use handler::PaymentHandler;

use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Consumer group and inbox consumer name.
pub const NAME: &str = "payment";
/// The topic this service consumes.
pub const COMMAND_TOPIC: &str = topics::PAYMENT_COMMANDS;

/// Applies the messaging tables and this service's own migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Runs the outbox relay and the command consumer until `shutdown`. The database
/// must be migrated ([`migrate`]) first.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let workers = usize::from(settings.workers);
    let consumer = InboxConsumer::new(
        NAME,
        &[COMMAND_TOPIC],
        pool,
        kafka,
        PaymentHandler::new(settings),
    )
    .with_workers(workers);
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    supervisor.participant(consumer)?;
    Ok(supervisor.run().await?)
}

/// A saga's payment record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Payment {
    pub saga_id: Uuid,
    /// Set once captured.
    pub payment_id: Option<Uuid>,
    pub amount_minor: i64,
    pub currency: String,
    /// `pending`, `captured`, `declined`, `refunded` or `voided`.
    pub status: String,
    pub reason: Option<String>,
}

/// A refund from the refund log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Refund {
    pub saga_id: Uuid,
    pub payment_id: Uuid,
    pub amount_minor: i64,
    pub reason: String,
}

/// Every payment record of a saga (at most one: a saga is never charged twice).
pub async fn payments_for(pool: &PgPool, saga_id: Uuid) -> Result<Vec<Payment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT saga_id, payment_id, amount_minor, currency, status, reason FROM payments WHERE saga_id = $1",
    )
    .bind(saga_id)
    .fetch_all(pool)
    .await
}

/// Every refund of a saga (at most one).
pub async fn refunds_for(pool: &PgPool, saga_id: Uuid) -> Result<Vec<Refund>, sqlx::Error> {
    sqlx::query_as(
        "SELECT saga_id, payment_id, amount_minor, reason FROM refunds WHERE saga_id = $1",
    )
    .bind(saga_id)
    .fetch_all(pool)
    .await
}

/// How many payments were captured and not refunded by their checkout's
/// compensation (after-sale refunds, in part or whole, leave a payment captured).
pub async fn captured_count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM payments WHERE status = 'captured'")
        .fetch_one(pool)
        .await
}
