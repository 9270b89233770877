//! The `pricing.commands` handler: one SQL path per command, in the inbox
//! transaction.

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{OrderPriced, OrderPricingFailed, PriceOrder};
use sqlx::PgConnection;

use crate::config::Settings;
use crate::price::price;

/// Handles `PriceOrder`.
#[derive(Debug, Clone, Default)]
pub struct PricingHandler {
    pub settings: Settings,
}

impl PricingHandler {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }
}

impl Handler for PricingHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let reply = match incoming.message_type() {
            PriceOrder::MESSAGE_TYPE => {
                let command: PriceOrder = incoming.decode()?;
                match self.quote(tx, &command).await? {
                    Ok(priced) => Outgoing::caused_by(&incoming.envelope, &priced)?,
                    Err(failed) => Outgoing::caused_by(&incoming.envelope, &failed)?,
                }
            }
            other => return Err(Failure::Poison(format!("pricing does not handle {other}"))),
        };
        Ok(vec![reply])
    }
}

type Row = (
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
);

impl PricingHandler {
    /// The saga's stored quote, or a new one (stored).
    async fn quote(
        &self,
        tx: &mut PgConnection,
        command: &PriceOrder,
    ) -> Result<Result<OrderPriced, OrderPricingFailed>, Failure> {
        let saga_id = command.saga_id;
        let stored: Option<Row> = sqlx::query_as(
            "SELECT status, subtotal_minor, discount_minor, tax_minor, total_minor, currency, reason
             FROM quotes WHERE saga_id = $1",
        )
        .bind(saga_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((status, subtotal, discount, tax, total, currency, reason)) = stored {
            return Ok(match (status.as_str(), subtotal, discount, tax, total) {
                (
                    "priced",
                    Some(subtotal_minor),
                    Some(discount_minor),
                    Some(tax_minor),
                    Some(total_minor),
                ) => Ok(OrderPriced {
                    saga_id,
                    subtotal_minor,
                    discount_minor,
                    tax_minor,
                    total_minor,
                    currency,
                }),
                _ => Err(OrderPricingFailed {
                    saga_id,
                    reason: reason.unwrap_or_else(|| "pricing failed".to_owned()),
                }),
            });
        }

        let code = command
            .discount_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let outcome = match code {
            Some(code) => {
                let percent: Option<i32> =
                    sqlx::query_scalar("SELECT percent_off FROM discount_codes WHERE code = $1")
                        .bind(code)
                        .fetch_optional(&mut *tx)
                        .await?;
                percent.ok_or_else(|| format!("unknown discount code {code}"))
            }
            None => Ok(0),
        }
        .and_then(|percent| {
            let currency = command.currency.as_bytes();
            if currency.len() != 3 || !currency.iter().all(u8::is_ascii_uppercase) {
                return Err(format!("invalid currency `{}`", command.currency));
            }
            price(&command.items, percent, self.settings.tax_basis_points)
                .map_err(|err| err.to_string())
        });

        // ON CONFLICT: a concurrent PriceOrder for the same saga stored its quote
        // first; ours is equivalent, keep theirs.
        let insert = "INSERT INTO quotes (saga_id, status, subtotal_minor, discount_minor, tax_minor, total_minor,
                                          currency, discount_code, reason)
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (saga_id) DO NOTHING";
        match outcome {
            Ok(b) => {
                sqlx::query(insert)
                    .bind(saga_id)
                    .bind("priced")
                    .bind(b.subtotal_minor)
                    .bind(b.discount_minor)
                    .bind(b.tax_minor)
                    .bind(b.total_minor)
                    .bind(&command.currency)
                    .bind(code)
                    .bind(None::<String>)
                    .execute(&mut *tx)
                    .await?;
                metrics::counter!("sagaflow_pricing_quotes_total", "outcome" => "priced")
                    .increment(1);
                Ok(Ok(OrderPriced {
                    saga_id,
                    subtotal_minor: b.subtotal_minor,
                    discount_minor: b.discount_minor,
                    tax_minor: b.tax_minor,
                    total_minor: b.total_minor,
                    currency: command.currency.clone(),
                }))
            }
            Err(reason) => {
                sqlx::query(insert)
                    .bind(saga_id)
                    .bind("failed")
                    .bind(None::<i64>)
                    .bind(None::<i64>)
                    .bind(None::<i64>)
                    .bind(None::<i64>)
                    .bind(&command.currency)
                    .bind(code)
                    .bind(&reason)
                    .execute(&mut *tx)
                    .await?;
                metrics::counter!("sagaflow_pricing_quotes_total", "outcome" => "failed")
                    .increment(1);
                Ok(Err(OrderPricingFailed { saga_id, reason }))
            }
        }
    }
}
