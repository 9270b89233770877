//! The provider's refunds: a charge refunded in parts, each part under its own
//! idempotency key, never more than the charge in total.
//!
//! One refund decision per charge at a time: the call locks the charge's ledger row
//! (`FOR UPDATE`, in the provider's own transaction), then either replays the key's
//! refund, or sums what was refunded and refunds at most what is left. A refund
//! above what is left is declined ([`RefundOutcome::Declined`]): an answer, not a
//! ledger row (nothing was refunded; asked again, it is judged again, and refunds
//! only grow, so it is declined again).

use sqlx::PgPool;
use uuid::Uuid;

use super::{Error, Provider, count};

/// A refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: Uuid,
    pub payment_id: Uuid,
    pub amount_minor: i64,
}

/// A refund of part (or all) of a charge.
#[derive(Debug, Clone, Copy)]
pub struct RefundRequest<'a> {
    /// The idempotency key: the same key gets the same refund.
    pub key: &'a str,
    pub payment_id: Uuid,
    pub amount_minor: i64,
    /// Must be the charge's currency.
    pub currency: &'a str,
}

/// The provider's answer to [`Provider::refund_part`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Refunded(Refund),
    /// Refused, nothing refunded: more than is left, another currency, a bad amount.
    Declined {
        reason: String,
    },
}

/// How much a call refunds.
#[derive(Debug, Clone, Copy)]
enum Wanted<'a> {
    /// What is left of the charge.
    Rest,
    Part {
        amount_minor: i64,
        currency: &'a str,
    },
}

impl Provider {
    /// Refunds what is left of a captured payment under `key` (all of it when
    /// nothing was refunded before): the checkout's compensation. The same key gets
    /// the same refund; nothing left is [`Error::AlreadyRefunded`].
    pub async fn refund(
        &self,
        ledger: &PgPool,
        key: &str,
        payment_id: Uuid,
    ) -> Result<Refund, Error> {
        let result = self
            .try_refund(ledger, key, payment_id, Wanted::Rest)
            .await
            .and_then(|outcome| match outcome {
                RefundOutcome::Refunded(refund) => Ok(refund),
                // `Rest` is never declined: nothing left is an error.
                RefundOutcome::Declined { .. } => Err(Error::AlreadyRefunded { payment_id }),
            });
        count("refund", if result.is_ok() { "refunded" } else { "error" });
        result
    }

    /// Refunds `amount_minor` of a captured payment under the request's key, if at
    /// most that much is left unrefunded; declines otherwise. The same key gets the
    /// same refund (reusing it for another payment or amount is
    /// [`Error::KeyReused`]).
    pub async fn refund_part(
        &self,
        ledger: &PgPool,
        request: &RefundRequest<'_>,
    ) -> Result<RefundOutcome, Error> {
        let wanted = Wanted::Part {
            amount_minor: request.amount_minor,
            currency: request.currency,
        };
        let result = self
            .try_refund(ledger, request.key, request.payment_id, wanted)
            .await;
        let outcome = match &result {
            Ok(RefundOutcome::Refunded(_)) => "refunded",
            Ok(RefundOutcome::Declined { .. }) => "declined",
            Err(_) => "error",
        };
        count("refund", outcome);
        result
    }

    async fn try_refund(
        &self,
        ledger: &PgPool,
        key: &str,
        payment_id: Uuid,
        wanted: Wanted<'_>,
    ) -> Result<RefundOutcome, Error> {
        self.latency().await;
        let mut tx = ledger.begin().await?;
        // The charge row serializes every refund decision of this charge.
        let charge: Option<(i64, String)> = sqlx::query_as(
            "SELECT amount_minor, currency FROM sim_provider.charges
             WHERE payment_id = $1 FOR UPDATE",
        )
        .bind(payment_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (charged, currency) = charge.ok_or(Error::UnknownPayment { payment_id })?;

        // The key seen before: its refund, counted as a replay.
        let replay: Option<(Uuid, Uuid, i64)> = sqlx::query_as(
            "UPDATE sim_provider.refunds SET requests = requests + 1
             WHERE idempotency_key = $1 RETURNING refund_id, payment_id, amount_minor",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((refund_id, refunded, amount_minor)) = replay {
            let same = refunded == payment_id
                && match wanted {
                    Wanted::Rest => true,
                    Wanted::Part {
                        amount_minor: asked,
                        ..
                    } => asked == amount_minor,
                };
            if !same {
                return Err(Error::KeyReused {
                    key: key.to_owned(),
                });
            }
            tx.commit().await?;
            return Ok(RefundOutcome::Refunded(Refund {
                refund_id,
                payment_id,
                amount_minor,
            }));
        }

        let refunded: i64 = sqlx::query_scalar(
            "SELECT COALESCE(sum(amount_minor), 0)::BIGINT FROM sim_provider.refunds
             WHERE payment_id = $1",
        )
        .bind(payment_id)
        .fetch_one(&mut *tx)
        .await?;
        let left = charged - refunded;
        let amount_minor = match wanted {
            Wanted::Rest if left <= 0 => return Err(Error::AlreadyRefunded { payment_id }),
            Wanted::Rest => left,
            Wanted::Part {
                amount_minor,
                currency: asked,
            } => {
                if let Some(reason) = decline(payment_id, amount_minor, asked, left, &currency) {
                    return Ok(RefundOutcome::Declined { reason });
                }
                amount_minor
            }
        };
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO sim_provider.refunds (idempotency_key, refund_id, payment_id, amount_minor)
             VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING refund_id",
        )
        .bind(key)
        .bind(Uuid::now_v7())
        .bind(payment_id)
        .bind(amount_minor)
        .fetch_optional(&mut *tx)
        .await?;
        // Taken meanwhile by a refund of another charge (this one's lock did not
        // cover it).
        let refund_id = inserted.ok_or_else(|| Error::KeyReused {
            key: key.to_owned(),
        })?;
        tx.commit().await?;
        Ok(RefundOutcome::Refunded(Refund {
            refund_id,
            payment_id,
            amount_minor,
        }))
    }
}

/// Why a part refund is declined, if it is.
fn decline(
    payment_id: Uuid,
    amount_minor: i64,
    asked: &str,
    left: i64,
    currency: &str,
) -> Option<String> {
    if amount_minor <= 0 {
        return Some(format!(
            "invalid refund amount {amount_minor}: it must be positive"
        ));
    }
    if asked != currency {
        return Some(format!(
            "refund in {asked} of charge {payment_id}, made in {currency}"
        ));
    }
    (amount_minor > left).then(|| {
        format!(
            "refund of {amount_minor} {currency} exceeds the {left} {currency} left unrefunded on charge {payment_id}"
        )
    })
}
