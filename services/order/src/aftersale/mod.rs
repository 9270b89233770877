//! After-sale sagas on a placed order: cancel it ([`cancel`]) or refund some of
//! its lines ([`refund`]).
//!
//! Each after-sale saga has one `order_aftersales` row (`Record`): its
//! idempotency key and its stored outcome, so a redelivered command gets the same
//! reply. Every command that changes an order first locks the order row
//! (`lock_order`, `SELECT ... FOR UPDATE`), so after-sale sagas on one order
//! serialise; the saga's row is then claimed with `INSERT ... ON CONFLICT DO
//! NOTHING` before the order is changed (a concurrent delivery of the same saga,
//! or its compensation, finds the claimed row instead).
//!
//! An order is found by its id AND the command envelope's tenant AND the
//! command's customer; anything else is refused as [`not_found`], whether the
//! order is another tenant's or does not exist.

pub mod cancel;
pub mod pricing;
pub mod refund;

use std::collections::HashMap;

use sagaflow_events::messages::CheckoutItem;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

/// The refusal of an order that is not the caller's or does not exist.
pub fn not_found(order_id: Uuid) -> String {
    format!("order {order_id} not found")
}

/// A placed order, locked for the transaction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PlacedOrder {
    /// The checkout saga that placed it.
    pub saga_id: Uuid,
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub total_minor: i64,
    pub currency: String,
    pub items: Json<Vec<CheckoutItem>>,
    /// `created` or `cancelled`.
    pub status: String,
}

/// Locks the order `order_id` of `customer_id` in `tenant_id` (`FOR UPDATE`).
pub(crate) async fn lock_order(
    tx: &mut PgConnection,
    order_id: Uuid,
    tenant_id: &str,
    customer_id: &str,
) -> Result<Option<PlacedOrder>, sqlx::Error> {
    sqlx::query_as(
        "SELECT saga_id, order_id, payment_id, total_minor, currency, items, status
         FROM orders
         WHERE order_id = $1 AND tenant_id = $2 AND customer_id = $3
           AND status IN ('created', 'cancelled')
           AND payment_id IS NOT NULL AND total_minor IS NOT NULL AND currency IS NOT NULL
         FOR UPDATE",
    )
    .bind(order_id)
    .bind(tenant_id)
    .bind(customer_id)
    .fetch_optional(&mut *tx)
    .await
}

/// Locks the order row of an after-sale saga's order (compensations and
/// confirmations, which know only the saga: its row names the order).
pub(crate) async fn lock_order_by_id(
    tx: &mut PgConnection,
    order_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE")
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// An after-sale saga's row of `order_aftersales`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Record {
    pub kind: String,
    pub status: String,
    pub order_id: Option<Uuid>,
    pub checkout_saga_id: Option<Uuid>,
    pub payment_id: Option<Uuid>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub items: Json<Vec<CheckoutItem>>,
    pub reason: Option<String>,
}

/// The saga's row, if any; `FOR UPDATE` when `lock`.
pub(crate) async fn record(
    tx: &mut PgConnection,
    saga_id: Uuid,
    lock: bool,
) -> Result<Option<Record>, sqlx::Error> {
    let sql = format!(
        "SELECT kind, status, order_id, checkout_saga_id, payment_id, amount_minor, currency, items, reason
         FROM order_aftersales WHERE saga_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_as(&sql)
        .bind(saga_id)
        .fetch_optional(&mut *tx)
        .await
}

/// A row to claim for a saga.
#[derive(Debug, Clone)]
pub(crate) struct NewRecord<'a> {
    pub saga_id: Uuid,
    pub kind: &'static str,
    pub status: &'static str,
    pub order_id: Option<Uuid>,
    pub tenant_id: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub checkout_saga_id: Option<Uuid>,
    pub payment_id: Option<Uuid>,
    pub amount_minor: Option<i64>,
    pub currency: Option<&'a str>,
    pub items: &'a [CheckoutItem],
    pub reason: &'a str,
}

impl<'a> NewRecord<'a> {
    /// A refused command's row (nothing reserved, nothing changed).
    pub fn refused(
        saga_id: Uuid,
        kind: &'static str,
        order_id: Uuid,
        tenant_id: &'a str,
        customer_id: &'a str,
        reason: &'a str,
    ) -> Self {
        Self {
            saga_id,
            kind,
            status: "refused",
            order_id: Some(order_id),
            tenant_id: Some(tenant_id),
            customer_id: Some(customer_id),
            checkout_saga_id: None,
            payment_id: None,
            amount_minor: None,
            currency: None,
            items: &[],
            reason,
        }
    }

    /// A compensation that came before its saga's command.
    pub fn tombstone(saga_id: Uuid, kind: &'static str, reason: &'a str) -> Self {
        Self {
            saga_id,
            kind,
            status: "tombstone",
            order_id: None,
            tenant_id: None,
            customer_id: None,
            checkout_saga_id: None,
            payment_id: None,
            amount_minor: None,
            currency: None,
            items: &[],
            reason,
        }
    }

    /// Inserts the row unless the saga has one: whether this call claimed it.
    pub async fn claim(&self, tx: &mut PgConnection) -> Result<bool, sqlx::Error> {
        let claimed: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO order_aftersales (saga_id, kind, status, order_id, tenant_id, customer_id,
                 checkout_saga_id, payment_id, amount_minor, currency, items, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
        )
        .bind(self.saga_id)
        .bind(self.kind)
        .bind(self.status)
        .bind(self.order_id)
        .bind(self.tenant_id)
        .bind(self.customer_id)
        .bind(self.checkout_saga_id)
        .bind(self.payment_id)
        .bind(self.amount_minor)
        .bind(self.currency)
        .bind(Json(self.items))
        .bind(self.reason)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(claimed.is_some())
    }
}

/// Sets the status of a saga's row.
pub(crate) async fn set_status(
    tx: &mut PgConnection,
    saga_id: Uuid,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE order_aftersales SET status = $2, updated_at = now() WHERE saga_id = $1")
        .bind(saga_id)
        .bind(status)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// What the refunds of one order hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refunded {
    /// A refund is `reserved` (its saga is still running).
    pub any_reserved: bool,
    /// The amount of the `confirmed` refunds.
    pub confirmed_minor: i64,
    /// The amount of the `reserved` and `confirmed` refunds.
    pub held_minor: i64,
    /// Quantity per SKU of the `reserved` and `confirmed` refunds.
    pub taken: HashMap<String, i64>,
    /// Quantity per SKU of the `confirmed` refunds.
    pub confirmed: HashMap<String, i64>,
}

/// The refunds of `order_id` (call with the order locked).
pub(crate) async fn refunded(
    tx: &mut PgConnection,
    order_id: Uuid,
) -> Result<Refunded, sqlx::Error> {
    let rows: Vec<(String, Option<i64>, Json<Vec<CheckoutItem>>)> = sqlx::query_as(
        "SELECT status, amount_minor, items FROM order_aftersales
         WHERE order_id = $1 AND kind = 'refund' AND status IN ('reserved', 'confirmed')",
    )
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut refunded = Refunded::default();
    for (status, amount, Json(items)) in rows {
        let confirmed = status == "confirmed";
        refunded.any_reserved |= !confirmed;
        refunded.held_minor += amount.unwrap_or_default();
        if confirmed {
            refunded.confirmed_minor += amount.unwrap_or_default();
        }
        for item in items {
            *refunded.taken.entry(item.sku.clone()).or_default() += i64::from(item.quantity);
            if confirmed {
                *refunded.confirmed.entry(item.sku).or_default() += i64::from(item.quantity);
            }
        }
    }
    Ok(refunded)
}

/// Counts a first-time outcome of an after-sale command.
pub(crate) fn count(command: &'static str, outcome: &'static str) {
    metrics::counter!("sagaflow_order_aftersale_total", "command" => command, "outcome" => outcome)
        .increment(1);
}
