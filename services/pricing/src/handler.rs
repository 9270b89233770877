//! The consumer's handler, in the inbox transaction:
//! - `PriceOrder` (`pricing.commands`) → `OrderPriced` | `OrderPricingFailed`,
//!   stored per saga so a repeat gets the same answer;
//! - `ProductChanged` (`catalog.events`) → the price table ([`crate::catalog`]),
//!   no reply.

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    CheckoutItem, OrderPriced, OrderPricingFailed, PriceOrder, ProductChanged,
};
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::catalog::{self, Applied};
use crate::config::Settings;
use crate::discounts;
use crate::price::{Discount, price};
use crate::tax;

/// Handles `PriceOrder` and `ProductChanged`.
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
            ProductChanged::MESSAGE_TYPE => {
                let event: ProductChanged = incoming.decode()?;
                let applied = catalog::apply(tx, &event).await?;
                let outcome = match applied {
                    Applied::Updated => "updated",
                    Applied::Stale => "stale",
                };
                metrics::counter!("sagaflow_pricing_product_changes_total", "outcome" => outcome)
                    .increment(1);
                tracing::debug!(sku = %event.sku, version = event.version, outcome, "product change");
                return Ok(Vec::new());
            }
            other => return Err(Failure::Poison(format!("pricing does not handle {other}"))),
        };
        Ok(vec![reply])
    }
}

/// A stored quote: status, subtotal, discount, tax, total, currency, reason, lines.
type Row = (
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    Option<Json<Vec<CheckoutItem>>>,
);

/// A new quote: the priced reply or the reason, and the tax applied.
struct Quote {
    outcome: Result<OrderPriced, String>,
    tax: Option<(String, u32)>,
}

impl PricingHandler {
    /// The saga's stored quote, or a new one (stored).
    async fn quote(
        &self,
        tx: &mut PgConnection,
        command: &PriceOrder,
    ) -> Result<Result<OrderPriced, OrderPricingFailed>, Failure> {
        let saga_id = command.saga_id;
        let stored: Option<Row> = sqlx::query_as(
            "SELECT status, subtotal_minor, discount_minor, tax_minor, total_minor, currency, reason, lines
             FROM quotes WHERE saga_id = $1",
        )
        .bind(saga_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((status, subtotal, discount, tax, total, currency, reason, lines)) = stored {
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
                    lines: lines.map(|l| l.0).unwrap_or_default(),
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
        let quote = self.compute(tx, command, code).await?;

        // ON CONFLICT: a concurrent PriceOrder for the same saga stored its quote
        // first; ours is equivalent, keep theirs.
        let (country, rate) = quote.tax.unzip();
        let rate = rate.and_then(|r| i32::try_from(r).ok());
        let insert = "INSERT INTO quotes (saga_id, status, subtotal_minor, discount_minor, tax_minor, total_minor,
                                          currency, discount_code, reason, lines, tax_country, tax_basis_points)
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (saga_id) DO NOTHING";
        match quote.outcome {
            Ok(priced) => {
                sqlx::query(insert)
                    .bind(saga_id)
                    .bind("priced")
                    .bind(priced.subtotal_minor)
                    .bind(priced.discount_minor)
                    .bind(priced.tax_minor)
                    .bind(priced.total_minor)
                    .bind(&command.currency)
                    .bind(code)
                    .bind(None::<String>)
                    .bind(Json(&priced.lines))
                    .bind(country)
                    .bind(rate)
                    .execute(&mut *tx)
                    .await?;
                metrics::counter!("sagaflow_pricing_quotes_total", "outcome" => "priced")
                    .increment(1);
                Ok(Ok(priced))
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
                    .bind(None::<Json<Vec<CheckoutItem>>>)
                    .bind(country)
                    .bind(rate)
                    .execute(&mut *tx)
                    .await?;
                metrics::counter!("sagaflow_pricing_quotes_total", "outcome" => "failed")
                    .increment(1);
                Ok(Err(OrderPricingFailed { saga_id, reason }))
            }
        }
    }

    /// Prices `command` from the price table, the tax table and the code.
    async fn compute(
        &self,
        tx: &mut PgConnection,
        command: &PriceOrder,
        code: Option<&str>,
    ) -> Result<Quote, Failure> {
        let failed = |reason: String, tax: Option<(String, u32)>| Quote {
            outcome: Err(reason),
            tax,
        };
        let currency = command.currency.as_str();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Ok(failed(format!("invalid currency `{currency}`"), None));
        }
        if command.items.is_empty() {
            return Ok(failed("an order needs at least one item".into(), None));
        }
        if let Some(line) = command.items.iter().find(|l| l.quantity <= 0) {
            return Ok(failed(
                format!("invalid quantity {} for SKU {}", line.quantity, line.sku),
                None,
            ));
        }
        let prices = match catalog::unit_prices(tx, &command.items, currency).await? {
            Ok(prices) => prices,
            Err(why) => return Ok(failed(why.to_string(), None)),
        };
        let (country, rate) = match tax::rate_for(
            tx,
            command.shipping_country.as_deref(),
            &self.settings.default_country,
        )
        .await?
        {
            Ok(found) => found,
            Err(reason) => return Ok(failed(reason, None)),
        };
        let tax = Some((country, rate));
        let discount = match code {
            Some(code) => match discounts::lookup(tx, code, currency).await? {
                Ok(discount) => discount,
                Err(reason) => return Ok(failed(reason, tax)),
            },
            None => Discount::None,
        };
        let lines: Vec<CheckoutItem> = command
            .items
            .iter()
            .zip(prices)
            .map(|(line, unit_price_minor)| CheckoutItem {
                sku: line.sku.clone(),
                quantity: line.quantity,
                unit_price_minor,
            })
            .collect();
        Ok(match price(&lines, discount, rate) {
            Ok(b) => Quote {
                outcome: Ok(OrderPriced {
                    saga_id: command.saga_id,
                    subtotal_minor: b.subtotal_minor,
                    discount_minor: b.discount_minor,
                    tax_minor: b.tax_minor,
                    total_minor: b.total_minor,
                    currency: command.currency.clone(),
                    lines,
                }),
                tax,
            },
            Err(err) => failed(err.to_string(), tax),
        })
    }
}
