//! The `payment.commands` handler. The provider is called in [`Handler::prepare`],
//! outside the inbox transaction, under an idempotency key derived from the saga
//! ([`charge_key`], [`refund_key`], [`aftersale_refund_key`]); the outcome is
//! recorded in `payments` / `refunds` / `aftersale_refunds`, and [`Handler::handle`]
//! (in the transaction) only reads it and replies.
//!
//! Messages: `ProcessPayment` → `PaymentProcessed` | `PaymentFailed`;
//! `CompensatePayment` → `PaymentRefunded`; `RefundPayment` → `PaymentRefundIssued`
//! | `PaymentRefundFailed` (after-sale, in [`crate::aftersale`]); anything else is
//! poison.
//!
//! Why keys per saga and not per message: the orchestrator's command ids are UUIDv5
//! over (saga, step, phase, attempt) (`sagas/engine/src/ids.rs`), so a step retried
//! after a timeout is a NEW message id. A saga is charged at most once, so every
//! delivery, batch replay and retry attempt of its `ProcessPayment` must reuse one key.
//!
//! `ProcessPayment`: claim the saga (`pending`, with its charge key) unless decided or
//! voided; charge; failpoint `payment.after_charge`; record `captured` / `declined`
//! if still `pending`. A crash before the record leaves `pending`: the next delivery
//! charges again with the same key and the provider answers as before.
//!
//! `CompensatePayment`: no row: a `voided` tombstone (nothing charged, a late
//! `ProcessPayment` never charges). `captured`: refund. `pending` (a charge in flight,
//! or lost in a crash): void it, then cancel the charge key at the provider: nothing
//! charged yet, and the provider refuses the key from now on; or the charge went
//! through, and it is refunded. The `ProcessPayment` whose recording finds the void
//! refunds its charge too. Both refund under [`refund_key`], so the provider makes
//! one refund.
//!
//! `RefundPayment` (an after-sale saga, several per payment): see
//! [`crate::aftersale`]; its key is per after-sale saga, failpoint
//! `payment.after_refund`.

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    CompensatePayment, PaymentFailed, PaymentProcessed, PaymentRefunded, ProcessPayment,
    RefundPayment,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::aftersale;
pub use crate::aftersale::{AFTER_REFUND, aftersale_refund_key};
use crate::config::Settings;
use crate::provider::{self, Cancelled, ChargeOutcome, ChargeRequest, Provider};

/// Reason given to a ProcessPayment that arrives after its saga compensated.
pub const CANCELLED: &str = "payment cancelled";

/// The failpoint between the provider's charge and recording its outcome.
pub const AFTER_CHARGE: &str = "payment.after_charge";

/// Reason of the refund made by a `ProcessPayment` whose charge went through after
/// its saga was voided.
const VOIDED_WHILE_CHARGING: &str = "voided while the charge was in flight";

/// The provider idempotency key of a saga's charge.
pub fn charge_key(saga_id: Uuid) -> String {
    format!("sagaflow-charge-{saga_id}")
}

/// The provider idempotency key of a saga's refund.
pub fn refund_key(saga_id: Uuid) -> String {
    format!("sagaflow-refund-{saga_id}")
}

/// Handles `ProcessPayment`, `CompensatePayment` and `RefundPayment`.
#[derive(Debug)]
pub struct PaymentHandler {
    pub settings: Settings,
    provider: Provider,
}

impl PaymentHandler {
    pub fn new(settings: Settings) -> Self {
        let provider = Provider::new(&settings);
        Self { settings, provider }
    }
}

impl Default for PaymentHandler {
    fn default() -> Self {
        Self::new(Settings::default())
    }
}

impl From<provider::Error> for Failure {
    fn from(err: provider::Error) -> Self {
        match err {
            provider::Error::Unavailable(_) => Failure::Transient(err.to_string()),
            _ => Failure::Poison(err.to_string()),
        }
    }
}

impl Handler for PaymentHandler {
    const PREPARES: bool = true;

    async fn prepare(&self, pool: &PgPool, incoming: &Incoming) -> Result<(), Failure> {
        match incoming.message_type() {
            ProcessPayment::MESSAGE_TYPE => self.charge(pool, &incoming.decode()?).await,
            CompensatePayment::MESSAGE_TYPE => self.settle(pool, &incoming.decode()?).await,
            RefundPayment::MESSAGE_TYPE => {
                aftersale::prepare(&self.provider, pool, &incoming.decode()?).await
            }
            // `handle` refuses it.
            _ => Ok(()),
        }
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let reply = match incoming.message_type() {
            ProcessPayment::MESSAGE_TYPE => {
                let command: ProcessPayment = incoming.decode()?;
                match processed(tx, command.saga_id).await? {
                    Ok(processed) => Outgoing::caused_by(&incoming.envelope, &processed)?,
                    Err(failed) => Outgoing::caused_by(&incoming.envelope, &failed)?,
                }
            }
            CompensatePayment::MESSAGE_TYPE => {
                let command: CompensatePayment = incoming.decode()?;
                let refunded = refunded(tx, command.saga_id).await?;
                Outgoing::caused_by(&incoming.envelope, &refunded)?
            }
            RefundPayment::MESSAGE_TYPE => {
                let command: RefundPayment = incoming.decode()?;
                match aftersale::reply(tx, command.saga_id).await? {
                    Ok(issued) => Outgoing::caused_by(&incoming.envelope, &issued)?,
                    Err(failed) => Outgoing::caused_by(&incoming.envelope, &failed)?,
                }
            }
            other => return Err(Failure::Poison(format!("payment does not handle {other}"))),
        };
        Ok(vec![reply])
    }
}

fn invalid(command: &ProcessPayment) -> Option<String> {
    if command.amount_minor <= 0 {
        return Some(format!("invalid amount {}", command.amount_minor));
    }
    let currency = command.currency.as_bytes();
    if currency.len() != 3 || !currency.iter().all(u8::is_ascii_uppercase) {
        return Some(format!("invalid currency `{}`", command.currency));
    }
    None
}

/// Still waiting for `prepare` (it failed, or another delivery is mid-way): retry.
fn unsettled(saga_id: Uuid) -> Failure {
    Failure::Transient(format!("payment of saga {saga_id} not settled yet"))
}

impl PaymentHandler {
    /// `prepare` of ProcessPayment: claim, charge, record.
    async fn charge(&self, pool: &PgPool, command: &ProcessPayment) -> Result<(), Failure> {
        let saga_id = command.saga_id;
        let invalid = invalid(command);
        let key = charge_key(saga_id);
        let claimed: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO payments (saga_id, customer_id, amount_minor, currency, status, charge_key)
             VALUES ($1, $2, $3, $4, 'pending', $5)
             ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
        )
        .bind(saga_id)
        .bind(&command.customer_id)
        .bind(command.amount_minor.max(0))
        .bind(&command.currency)
        .bind(invalid.is_none().then_some(&key))
        .fetch_optional(pool)
        .await?;
        // Found decided, refunded or voided: `handle` replies from the row.
        if claimed.is_none() && status_of(pool, saga_id).await? != "pending" {
            return Ok(());
        }
        if let Some(reason) = invalid {
            record_decline(pool, saga_id, &reason).await?;
            return Ok(());
        }

        let reference = saga_id.to_string();
        let request = ChargeRequest {
            key: &key,
            reference: &reference,
            amount_minor: command.amount_minor,
            currency: &command.currency,
            payment_method: &command.payment_method,
        };
        let outcome = self.provider.charge(pool, &request).await?;
        sagaflow_bus::failpoint::hit(AFTER_CHARGE).await;
        match outcome {
            ChargeOutcome::Captured(charge) => {
                let recorded: Option<Uuid> = sqlx::query_scalar(
                    "UPDATE payments SET status = 'captured', payment_id = $2, updated_at = now()
                     WHERE saga_id = $1 AND status = 'pending' RETURNING saga_id",
                )
                .bind(saga_id)
                .bind(charge.payment_id)
                .fetch_optional(pool)
                .await?;
                if recorded.is_some() {
                    metrics::counter!("sagaflow_payments_total", "outcome" => "captured")
                        .increment(1);
                    return Ok(());
                }
                // A compensation voided the saga while we were charging: whoever
                // finds the charge after the void refunds it (same key: one refund).
                if status_of(pool, saga_id).await? == "voided" {
                    self.refund(pool, saga_id, charge.payment_id, VOIDED_WHILE_CHARGING)
                        .await?;
                }
                Ok(())
            }
            ChargeOutcome::Declined { reason } => record_decline(pool, saga_id, &reason).await,
        }
    }

    /// `prepare` of CompensatePayment: void what was never charged, refund what was.
    async fn settle(&self, pool: &PgPool, command: &CompensatePayment) -> Result<(), Failure> {
        let saga_id = command.saga_id;
        // Nothing claimed yet: a tombstone, so a late ProcessPayment never charges.
        let tombstone: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO payments (saga_id, amount_minor, currency, status, reason)
             VALUES ($1, 0, '', 'voided', $2)
             ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
        )
        .bind(saga_id)
        .bind(&command.reason)
        .fetch_optional(pool)
        .await?;
        if tombstone.is_some() {
            metrics::counter!("sagaflow_refunds_total", "outcome" => "voided").increment(1);
            return Ok(());
        }
        // A charge in flight (or lost in a crash): void first, so that its own
        // recording sees the void.
        let voided = sqlx::query(
            "UPDATE payments SET status = 'voided', reason = $2, updated_at = now()
             WHERE saga_id = $1 AND status = 'pending'",
        )
        .bind(saga_id)
        .bind(&command.reason)
        .execute(pool)
        .await?
        .rows_affected();
        if voided > 0 {
            metrics::counter!("sagaflow_refunds_total", "outcome" => "voided").increment(1);
        }
        let (status, payment_id, key): (String, Option<Uuid>, Option<String>) = sqlx::query_as(
            "SELECT status, payment_id, charge_key FROM payments WHERE saga_id = $1",
        )
        .bind(saga_id)
        .fetch_one(pool)
        .await?;
        match (status.as_str(), payment_id, key) {
            ("captured", Some(payment_id), _) => {
                self.refund(pool, saga_id, payment_id, &command.reason)
                    .await
            }
            ("voided", _, Some(key)) => {
                let reference = saga_id.to_string();
                match self.provider.cancel(pool, &key, &reference).await? {
                    Cancelled::NothingCharged => Ok(()),
                    Cancelled::Charged(charge) => {
                        self.refund(pool, saga_id, charge.payment_id, &command.reason)
                            .await
                    }
                }
            }
            // Refunded already, declined, or a tombstone: settled.
            _ => Ok(()),
        }
    }

    /// Refunds the saga's payment through the provider and records it (both
    /// idempotent: the refund key, `refunds`' primary key).
    async fn refund(
        &self,
        pool: &PgPool,
        saga_id: Uuid,
        payment_id: Uuid,
        reason: &str,
    ) -> Result<(), Failure> {
        let refund = self
            .provider
            .refund(pool, &refund_key(saga_id), payment_id)
            .await?;
        let mut tx = pool.begin().await?;
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO refunds (saga_id, payment_id, amount_minor, reason) VALUES ($1, $2, $3, $4)
             ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
        )
        .bind(saga_id)
        .bind(payment_id)
        .bind(refund.amount_minor)
        .bind(reason)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE payments SET status = 'refunded', payment_id = $2, updated_at = now()
             WHERE saga_id = $1 AND status IN ('captured', 'voided')",
        )
        .bind(saga_id)
        .bind(payment_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if inserted.is_some() {
            metrics::counter!("sagaflow_refunds_total", "outcome" => "refunded").increment(1);
        }
        Ok(())
    }
}

/// The saga's payment status (the row exists: the caller claimed or found it).
async fn status_of(pool: &PgPool, saga_id: Uuid) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM payments WHERE saga_id = $1")
        .bind(saga_id)
        .fetch_one(pool)
        .await
}

async fn record_decline(pool: &PgPool, saga_id: Uuid, reason: &str) -> Result<(), Failure> {
    let recorded = sqlx::query(
        "UPDATE payments SET status = 'declined', reason = $2, updated_at = now()
         WHERE saga_id = $1 AND status = 'pending'",
    )
    .bind(saga_id)
    .bind(reason)
    .execute(pool)
    .await?
    .rows_affected();
    if recorded > 0 {
        metrics::counter!("sagaflow_payments_total", "outcome" => "declined").increment(1);
    }
    Ok(())
}

/// The reply to ProcessPayment, from the recorded outcome.
async fn processed(
    tx: &mut PgConnection,
    saga_id: Uuid,
) -> Result<Result<PaymentProcessed, PaymentFailed>, Failure> {
    type Row = (String, Option<Uuid>, i64, String, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT status, payment_id, amount_minor, currency, reason FROM payments WHERE saga_id = $1",
    )
    .bind(saga_id)
    .fetch_optional(&mut *tx)
    .await?;
    let failed = |reason: String| PaymentFailed { saga_id, reason };
    let Some((status, payment_id, amount_minor, currency, reason)) = row else {
        return Err(unsettled(saga_id));
    };
    Ok(match (status.as_str(), payment_id) {
        ("captured", Some(payment_id)) => Ok(PaymentProcessed {
            saga_id,
            payment_id,
            amount_minor,
            currency,
        }),
        ("declined", _) => Err(failed(
            reason.unwrap_or_else(|| "payment declined".to_owned()),
        )),
        ("pending", _) => return Err(unsettled(saga_id)),
        // Refunded or voided: the saga gave up on this payment.
        _ => Err(failed(CANCELLED.to_owned())),
    })
}

/// The reply to CompensatePayment, from the recorded outcome.
async fn refunded(tx: &mut PgConnection, saga_id: Uuid) -> Result<PaymentRefunded, Failure> {
    let row: Option<(String, Option<Uuid>, Option<i64>)> = sqlx::query_as(
        "SELECT p.status, r.payment_id, r.amount_minor
         FROM payments p LEFT JOIN refunds r USING (saga_id) WHERE p.saga_id = $1",
    )
    .bind(saga_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((status, payment_id, amount_minor)) = row else {
        return Err(unsettled(saga_id));
    };
    match (status.as_str(), payment_id, amount_minor) {
        ("refunded", Some(payment_id), Some(amount_minor)) => Ok(PaymentRefunded {
            saga_id,
            payment_id: Some(payment_id),
            amount_minor,
        }),
        ("pending" | "captured" | "refunded", _, _) => Err(unsettled(saga_id)),
        // Declined or voided: nothing was charged.
        _ => Ok(PaymentRefunded {
            saga_id,
            payment_id: None,
            amount_minor: 0,
        }),
    }
}
