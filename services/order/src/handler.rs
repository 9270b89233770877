//! The `order.commands` handler: one SQL path per command, in the inbox
//! transaction. The checkout saga's commands are here; the after-sale ones are
//! in [`crate::aftersale`].

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    CancelOrder, CancelPlacedOrder, ConfirmRefund, CreateOrder, OrderCancelled, OrderCreated,
    OrderCreationFailed, ReinstateOrder, ReleaseRefund, ReserveRefund,
};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::aftersale::{cancel as aftersale_cancel, refund};
use crate::config::Settings;

/// Reason given to a CreateOrder that arrives after its saga cancelled the order.
pub const CANCELLED: &str = "order cancelled";

/// Handles `CreateOrder` and `CancelOrder` (the checkout saga) and the after-sale
/// commands (`CancelPlacedOrder`, `ReinstateOrder`, `ReserveRefund`,
/// `ReleaseRefund`, `ConfirmRefund`).
#[derive(Debug, Clone, Default)]
pub struct OrderHandler {
    pub settings: Settings,
}

impl OrderHandler {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }
}

impl Handler for OrderHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let tenant_id = incoming.envelope.tenant_id.as_str();
        let reply = match incoming.message_type() {
            CreateOrder::MESSAGE_TYPE => {
                let command: CreateOrder = incoming.decode()?;
                match self.create(tx, tenant_id, &command).await? {
                    Ok(created) => Outgoing::caused_by(&incoming.envelope, &created)?,
                    Err(failed) => Outgoing::caused_by(&incoming.envelope, &failed)?,
                }
            }
            CancelOrder::MESSAGE_TYPE => {
                let command: CancelOrder = incoming.decode()?;
                let cancelled = cancel(tx, &command).await?;
                Outgoing::caused_by(&incoming.envelope, &cancelled)?
            }
            CancelPlacedOrder::MESSAGE_TYPE => {
                let command: CancelPlacedOrder = incoming.decode()?;
                match aftersale_cancel::cancel_placed(tx, tenant_id, &command).await? {
                    Ok(cancelled) => Outgoing::caused_by(&incoming.envelope, &cancelled)?,
                    Err(refused) => Outgoing::caused_by(&incoming.envelope, &refused)?,
                }
            }
            ReinstateOrder::MESSAGE_TYPE => {
                let command: ReinstateOrder = incoming.decode()?;
                let reinstated = aftersale_cancel::reinstate(tx, &command).await?;
                Outgoing::caused_by(&incoming.envelope, &reinstated)?
            }
            ReserveRefund::MESSAGE_TYPE => {
                let command: ReserveRefund = incoming.decode()?;
                match refund::reserve(tx, tenant_id, &command).await? {
                    Ok(reserved) => Outgoing::caused_by(&incoming.envelope, &reserved)?,
                    Err(refused) => Outgoing::caused_by(&incoming.envelope, &refused)?,
                }
            }
            ReleaseRefund::MESSAGE_TYPE => {
                let command: ReleaseRefund = incoming.decode()?;
                let released = refund::release(tx, &command).await?;
                Outgoing::caused_by(&incoming.envelope, &released)?
            }
            ConfirmRefund::MESSAGE_TYPE => {
                let command: ConfirmRefund = incoming.decode()?;
                let confirmed = refund::confirm(tx, &command).await?;
                Outgoing::caused_by(&incoming.envelope, &confirmed)?
            }
            other => return Err(Failure::Poison(format!("order does not handle {other}"))),
        };
        Ok(vec![reply])
    }
}

impl OrderHandler {
    /// Why the order is refused, if it is.
    fn refusal(&self, command: &CreateOrder) -> Option<String> {
        if command.items.is_empty() {
            return Some("an order needs at least one item".to_owned());
        }
        if let Some(item) = command
            .items
            .iter()
            .find(|i| i.quantity <= 0 || i.unit_price_minor < 0)
        {
            return Some(format!(
                "invalid item {}: quantity {}, unit price {}",
                item.sku, item.quantity, item.unit_price_minor
            ));
        }
        if command.total_minor < 0 {
            return Some(format!("invalid order total {}", command.total_minor));
        }
        if command.total_minor > self.settings.max_order_total_minor {
            return Some(format!(
                "order total {} {} exceeds the maximum of {}",
                command.total_minor, command.currency, self.settings.max_order_total_minor
            ));
        }
        None
    }

    async fn create(
        &self,
        tx: &mut PgConnection,
        tenant_id: &str,
        command: &CreateOrder,
    ) -> Result<Result<OrderCreated, OrderCreationFailed>, Failure> {
        let saga_id = command.saga_id;
        let failed = |reason: String| OrderCreationFailed { saga_id, reason };
        let refusal = self.refusal(command);
        let order_id = Uuid::now_v7();
        // Claim the saga with the final outcome; a concurrent CreateOrder for the same
        // saga waits on the primary key, then finds this row.
        let claimed: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO orders (saga_id, order_id, customer_id, items, total_minor, currency, payment_id, status, reason, tenant_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
        )
        .bind(saga_id)
        .bind(refusal.is_none().then_some(order_id))
        .bind(&command.customer_id)
        .bind(Json(&command.items))
        .bind(command.total_minor)
        .bind(&command.currency)
        .bind(command.payment_id)
        .bind(if refusal.is_none() { "created" } else { "failed" })
        .bind(&refusal)
        .bind(tenant_id)
        .fetch_optional(&mut *tx)
        .await?;
        if claimed.is_some() {
            let outcome = if refusal.is_some() {
                "failed"
            } else {
                "created"
            };
            metrics::counter!("sagaflow_orders_total", "outcome" => outcome).increment(1);
            return Ok(match refusal {
                None => Ok(OrderCreated { saga_id, order_id }),
                Some(reason) => Err(failed(reason)),
            });
        }
        let (status, order_id, reason): (String, Option<Uuid>, Option<String>) =
            sqlx::query_as("SELECT status, order_id, reason FROM orders WHERE saga_id = $1")
                .bind(saga_id)
                .fetch_one(&mut *tx)
                .await?;
        Ok(match (status.as_str(), order_id) {
            ("created", Some(order_id)) => Ok(OrderCreated { saga_id, order_id }),
            ("failed", _) => Err(failed(
                reason.unwrap_or_else(|| "order creation failed".to_owned()),
            )),
            _ => Err(failed(CANCELLED.to_owned())),
        })
    }
}

async fn cancel(tx: &mut PgConnection, command: &CancelOrder) -> Result<OrderCancelled, Failure> {
    // Unknown saga: a cancelled tombstone, so a late CreateOrder is refused.
    // Otherwise mark cancelled (again); a refused order is left as it was.
    sqlx::query(
        "INSERT INTO orders (saga_id, status, reason) VALUES ($1, 'cancelled', $2)
         ON CONFLICT (saga_id) DO UPDATE SET status = 'cancelled', reason = EXCLUDED.reason, updated_at = now()
         WHERE orders.status = 'created'",
    )
    .bind(command.saga_id)
    .bind(&command.reason)
    .execute(&mut *tx)
    .await?;
    Ok(OrderCancelled {
        saga_id: command.saga_id,
    })
}
