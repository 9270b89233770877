//! The `payment.commands` handler: one SQL path per command, in the inbox
//! transaction.

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    CompensatePayment, PaymentFailed, PaymentProcessed, PaymentRefunded, ProcessPayment,
};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::config::Settings;
use crate::provider::Provider;

/// Reason given to a ProcessPayment that arrives after its saga compensated.
pub const CANCELLED: &str = "payment cancelled";

/// Handles `ProcessPayment` and `CompensatePayment`.
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

impl Handler for PaymentHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let reply = match incoming.message_type() {
            ProcessPayment::MESSAGE_TYPE => {
                let command: ProcessPayment = incoming.decode()?;
                match self.process(tx, &command).await? {
                    Ok(processed) => Outgoing::caused_by(&incoming.envelope, &processed)?,
                    Err(failed) => Outgoing::caused_by(&incoming.envelope, &failed)?,
                }
            }
            CompensatePayment::MESSAGE_TYPE => {
                let command: CompensatePayment = incoming.decode()?;
                let refunded = self.compensate(tx, &command).await?;
                Outgoing::caused_by(&incoming.envelope, &refunded)?
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

impl PaymentHandler {
    async fn process(
        &self,
        tx: &mut PgConnection,
        command: &ProcessPayment,
    ) -> Result<Result<PaymentProcessed, PaymentFailed>, Failure> {
        let saga_id = command.saga_id;
        let failed = |reason: String| PaymentFailed { saga_id, reason };
        // Claim the saga (as declined until the provider says otherwise). A concurrent
        // ProcessPayment for the same saga waits on the primary key, then sees our row.
        let claimed: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO payments (saga_id, customer_id, amount_minor, currency, status)
             VALUES ($1, $2, $3, $4, 'declined')
             ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
        )
        .bind(saga_id)
        .bind(&command.customer_id)
        .bind(command.amount_minor.max(0))
        .bind(&command.currency)
        .fetch_optional(&mut *tx)
        .await?;
        if claimed.is_none() {
            let (status, payment_id, amount_minor, currency, reason): (String, Option<Uuid>, i64, String, Option<String>) =
                sqlx::query_as(
                    "SELECT status, payment_id, amount_minor, currency, reason FROM payments WHERE saga_id = $1",
                )
                .bind(saga_id)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(match (status.as_str(), payment_id) {
                ("captured", Some(payment_id)) => Ok(PaymentProcessed {
                    saga_id,
                    payment_id,
                    amount_minor,
                    currency,
                }),
                ("declined", _) => Err(failed(
                    reason.unwrap_or_else(|| "payment declined".to_owned()),
                )),
                // Refunded or voided: the saga gave up on this payment.
                _ => Err(failed(CANCELLED.to_owned())),
            });
        }

        let outcome = match invalid(command) {
            Some(reason) => Err(reason),
            None => self.provider.charge(&command.payment_method).await,
        };
        match outcome {
            Ok(payment_id) => {
                sqlx::query(
                    "UPDATE payments SET status = 'captured', payment_id = $2, updated_at = now() WHERE saga_id = $1",
                )
                .bind(saga_id)
                .bind(payment_id)
                .execute(&mut *tx)
                .await?;
                metrics::counter!("sagaflow_payments_total", "outcome" => "captured").increment(1);
                Ok(Ok(PaymentProcessed {
                    saga_id,
                    payment_id,
                    amount_minor: command.amount_minor,
                    currency: command.currency.clone(),
                }))
            }
            Err(reason) => {
                sqlx::query(
                    "UPDATE payments SET reason = $2, updated_at = now() WHERE saga_id = $1",
                )
                .bind(saga_id)
                .bind(&reason)
                .execute(&mut *tx)
                .await?;
                metrics::counter!("sagaflow_payments_total", "outcome" => "declined").increment(1);
                Ok(Err(failed(reason)))
            }
        }
    }

    async fn compensate(
        &self,
        tx: &mut PgConnection,
        command: &CompensatePayment,
    ) -> Result<PaymentRefunded, Failure> {
        let saga_id = command.saga_id;
        let nothing = PaymentRefunded {
            saga_id,
            payment_id: None,
            amount_minor: 0,
        };
        // Nothing charged yet: void the saga so a late ProcessPayment never charges.
        let voided: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO payments (saga_id, amount_minor, currency, status, reason)
             VALUES ($1, 0, '', 'voided', $2)
             ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
        )
        .bind(saga_id)
        .bind(&command.reason)
        .fetch_optional(&mut *tx)
        .await?;
        if voided.is_some() {
            metrics::counter!("sagaflow_refunds_total", "outcome" => "voided").increment(1);
            return Ok(nothing);
        }
        let (status, payment_id, amount_minor): (String, Option<Uuid>, i64) = sqlx::query_as(
            "SELECT status, payment_id, amount_minor FROM payments WHERE saga_id = $1 FOR UPDATE",
        )
        .bind(saga_id)
        .fetch_one(&mut *tx)
        .await?;
        match (status.as_str(), payment_id) {
            ("captured", Some(payment_id)) => {
                self.provider.refund(payment_id).await;
                sqlx::query(
                    "INSERT INTO refunds (saga_id, payment_id, amount_minor, reason) VALUES ($1, $2, $3, $4)",
                )
                .bind(saga_id)
                .bind(payment_id)
                .bind(amount_minor)
                .bind(&command.reason)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE payments SET status = 'refunded', updated_at = now() WHERE saga_id = $1")
                    .bind(saga_id)
                    .execute(&mut *tx)
                    .await?;
                metrics::counter!("sagaflow_refunds_total", "outcome" => "refunded").increment(1);
                Ok(PaymentRefunded {
                    saga_id,
                    payment_id: Some(payment_id),
                    amount_minor,
                })
            }
            // Already refunded: the same answer, no second refund.
            ("refunded", Some(payment_id)) => Ok(PaymentRefunded {
                saga_id,
                payment_id: Some(payment_id),
                amount_minor,
            }),
            // Declined or voided: nothing was charged.
            _ => Ok(nothing),
        }
    }
}
