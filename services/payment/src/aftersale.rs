//! After-sale refunds: `RefundPayment` → `PaymentRefundIssued` | `PaymentRefundFailed`.
//!
//! An after-sale saga (not the checkout that charged) refunds part or all of a
//! captured payment; several sagas may refund one payment, in parts. Same design as
//! the charge ([`crate::handler`]): `prepare` runs outside the inbox transaction,
//! `reply` inside it only reads the record. Table `aftersale_refunds`, one row per
//! saga (statuses in `migrations/4_aftersale_refunds.sql`).
//!
//! `prepare`:
//! 1. Claim the saga, once: lock the payment's row (`FOR UPDATE`), check the command
//!    against it and against what is left (captured amount less the after-sale
//!    rows `pending` or `issued` for it), insert `pending` with the saga's provider key
//!    ([`aftersale_refund_key`]), or `failed` with the reason.
//! 2. A `pending` row (just claimed, or left by a crash): ask the provider to refund
//!    the row's amount under the row's key; failpoint [`AFTER_REFUND`]; record
//!    `issued` or `failed` if still `pending` (a decline, or the provider refusing
//!    the request, is `failed` with its reason; an unreachable provider is a
//!    transient failure and the row stays `pending`, its amount held, for the retry).
//!    A redelivery of a settled saga never reaches the provider; one after a crash
//!    reaches it with the same key and gets the same refund.

use sagaflow_bus::Failure;
use sagaflow_events::messages::{PaymentRefundFailed, PaymentRefundIssued, RefundPayment};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::provider::{self, Provider, RefundOutcome, RefundRequest};

/// The failpoint between the provider's refund and recording it.
pub const AFTER_REFUND: &str = "payment.after_refund";

/// The provider idempotency key of an after-sale saga's refund.
pub fn aftersale_refund_key(saga_id: Uuid) -> String {
    format!("sagaflow-aftersale-refund-{saga_id}")
}

/// An after-sale refund record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AftersaleRefund {
    /// The after-sale saga.
    pub saga_id: Uuid,
    pub payment_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    /// `pending`, `issued` or `failed`.
    pub status: String,
    /// The command's reason.
    pub reason: String,
    pub refund_key: Option<String>,
    /// The provider's refund, once `issued`.
    pub refund_id: Option<Uuid>,
    /// Why it was refused, once `failed`.
    pub failure: Option<String>,
}

const COLUMNS: &str =
    "saga_id, payment_id, amount_minor, currency, status, reason, refund_key, refund_id, failure";

/// Every after-sale refund of a payment, oldest first.
pub async fn aftersale_refunds_of(
    pool: &PgPool,
    payment_id: Uuid,
) -> Result<Vec<AftersaleRefund>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM aftersale_refunds WHERE payment_id = $1 ORDER BY created_at, saga_id"
    ))
    .bind(payment_id)
    .fetch_all(pool)
    .await
}

async fn record_of(
    conn: &mut PgConnection,
    saga_id: Uuid,
) -> Result<Option<AftersaleRefund>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM aftersale_refunds WHERE saga_id = $1"
    ))
    .bind(saga_id)
    .fetch_optional(conn)
    .await
}

/// `prepare` of RefundPayment: claim, refund, record.
pub(crate) async fn prepare(
    provider: &Provider,
    pool: &PgPool,
    command: &RefundPayment,
) -> Result<(), Failure> {
    let saga_id = command.saga_id;
    let mut conn = pool.acquire().await?;
    let record = match record_of(&mut conn, saga_id).await? {
        Some(record) => record,
        None => {
            claim(&mut conn, command).await?;
            record_of(&mut conn, saga_id)
                .await?
                .ok_or_else(|| unsettled(saga_id))?
        }
    };
    drop(conn);
    if record.status != "pending" {
        // Settled: `handle` replies from the row.
        return Ok(());
    }
    let Some(key) = record.refund_key.as_deref() else {
        return Err(Failure::Poison(format!(
            "after-sale refund of saga {saga_id} is pending without a provider key"
        )));
    };
    let request = RefundRequest {
        key,
        payment_id: record.payment_id,
        amount_minor: record.amount_minor,
        currency: &record.currency,
    };
    let outcome = match provider.refund_part(pool, &request).await {
        Ok(outcome) => outcome,
        Err(err @ provider::Error::Unavailable(_)) => return Err(err.into()),
        // The provider refused the request itself: nothing was refunded.
        Err(err) => RefundOutcome::Declined {
            reason: err.to_string(),
        },
    };
    sagaflow_bus::failpoint::hit(AFTER_REFUND).await;
    match outcome {
        RefundOutcome::Refunded(refund) => record_issued(pool, saga_id, refund.refund_id).await,
        RefundOutcome::Declined { reason } => {
            let failure = format!("the payment provider declined the refund: {reason}");
            record_failed(pool, saga_id, &failure).await
        }
    }
}

/// Inserts the saga's row: `pending` if the command may be refunded, `failed` with
/// the reason otherwise. Under the payment row's lock, so that what is left is
/// checked against every claim of the same payment, one at a time. A concurrent
/// delivery of the same saga that claimed first wins (its row stays).
async fn claim(conn: &mut PgConnection, command: &RefundPayment) -> Result<(), Failure> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let refusal = match invalid(command) {
        Some(reason) => Some(reason),
        None => refusal(&mut tx, command).await?,
    };
    let key = refusal
        .is_none()
        .then(|| aftersale_refund_key(command.saga_id));
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO aftersale_refunds
             (saga_id, payment_id, amount_minor, currency, status, reason, refund_key, failure)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
    )
    .bind(command.saga_id)
    .bind(command.payment_id)
    .bind(command.amount_minor)
    .bind(&command.currency)
    .bind(if refusal.is_some() {
        "failed"
    } else {
        "pending"
    })
    .bind(&command.reason)
    .bind(&key)
    .bind(&refusal)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    if inserted.is_some() && refusal.is_some() {
        count("failed");
    }
    Ok(())
}

/// What is wrong with the command on its own.
fn invalid(command: &RefundPayment) -> Option<String> {
    if command.amount_minor <= 0 {
        return Some(format!(
            "invalid refund amount {}: it must be positive",
            command.amount_minor
        ));
    }
    let currency = command.currency.as_bytes();
    if currency.len() != 3 || !currency.iter().all(u8::is_ascii_uppercase) {
        return Some(format!(
            "invalid currency `{}`: expected 3 upper-case letters",
            command.currency
        ));
    }
    None
}

/// Why the payment cannot be refunded this much, if it cannot. Locks the payment's
/// row until the caller's transaction ends.
async fn refusal(
    tx: &mut PgConnection,
    command: &RefundPayment,
) -> Result<Option<String>, sqlx::Error> {
    let payment_id = command.payment_id;
    let payment: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT status, amount_minor, currency FROM payments WHERE payment_id = $1 FOR UPDATE",
    )
    .bind(payment_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((status, captured, currency)) = payment else {
        return Ok(Some(format!("no payment {payment_id}")));
    };
    if status != "captured" {
        return Ok(Some(format!(
            "payment {payment_id} is {status}, not captured: nothing to refund"
        )));
    }
    if command.currency != currency {
        return Ok(Some(format!(
            "refund in {} of payment {payment_id}, made in {currency}",
            command.currency
        )));
    }
    let taken: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(amount_minor), 0)::BIGINT FROM aftersale_refunds
         WHERE payment_id = $1 AND status IN ('pending', 'issued')",
    )
    .bind(payment_id)
    .fetch_one(&mut *tx)
    .await?;
    let left = captured - taken;
    Ok((command.amount_minor > left).then(|| {
        format!(
            "refund of {} {currency} exceeds the {left} {currency} left on payment {payment_id}",
            command.amount_minor
        )
    }))
}

async fn record_issued(pool: &PgPool, saga_id: Uuid, refund_id: Uuid) -> Result<(), Failure> {
    let recorded = sqlx::query(
        "UPDATE aftersale_refunds SET status = 'issued', refund_id = $2, updated_at = now()
         WHERE saga_id = $1 AND status = 'pending'",
    )
    .bind(saga_id)
    .bind(refund_id)
    .execute(pool)
    .await?
    .rows_affected();
    if recorded > 0 {
        count("issued");
    }
    Ok(())
}

async fn record_failed(pool: &PgPool, saga_id: Uuid, failure: &str) -> Result<(), Failure> {
    let recorded = sqlx::query(
        "UPDATE aftersale_refunds SET status = 'failed', failure = $2, updated_at = now()
         WHERE saga_id = $1 AND status = 'pending'",
    )
    .bind(saga_id)
    .bind(failure)
    .execute(pool)
    .await?
    .rows_affected();
    if recorded > 0 {
        count("failed");
    }
    Ok(())
}

fn count(outcome: &'static str) {
    metrics::counter!("sagaflow_payment_refunds_total", "outcome" => outcome).increment(1);
}

/// Still waiting for `prepare` (it failed, or another delivery is mid-way): retry.
fn unsettled(saga_id: Uuid) -> Failure {
    Failure::Transient(format!(
        "after-sale refund of saga {saga_id} not settled yet"
    ))
}

/// The reply to RefundPayment, from the recorded outcome.
pub(crate) async fn reply(
    tx: &mut PgConnection,
    saga_id: Uuid,
) -> Result<Result<PaymentRefundIssued, PaymentRefundFailed>, Failure> {
    let Some(record) = record_of(tx, saga_id).await? else {
        return Err(unsettled(saga_id));
    };
    Ok(match (record.status.as_str(), record.refund_id) {
        ("issued", Some(refund_id)) => Ok(PaymentRefundIssued {
            saga_id,
            payment_id: record.payment_id,
            refund_id,
            amount_minor: record.amount_minor,
            currency: record.currency,
        }),
        ("failed", _) => Err(PaymentRefundFailed {
            saga_id,
            reason: record.failure.unwrap_or_else(|| "refund failed".to_owned()),
        }),
        _ => return Err(unsettled(saga_id)),
    })
}
