//! Reads of placed orders for the HTTP API ([`crate::http`]): every query is keyed
//! by tenant, and by user unless an operator asks across a tenant's users (then
//! each order's refunds are still matched to its own customer).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sagaflow_events::messages::CheckoutItem;
use serde::Serialize;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;
/// The statuses a placed order can have.
pub const STATUSES: [&str; 2] = ["created", "cancelled"];

/// A placed order as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderView {
    pub order_id: Uuid,
    /// `created` or `cancelled`.
    pub status: String,
    pub total_minor: i64,
    /// The amount of the confirmed refunds.
    pub refunded_minor: i64,
    pub currency: String,
    /// The lines as priced at checkout.
    pub items: Vec<CheckoutItem>,
    pub created_at: DateTime<Utc>,
    /// The refunds (reserved, released or confirmed), oldest first.
    pub refunds: Vec<RefundView>,
    /// The after-sale saga that cancelled the order, if one did.
    pub cancelled_by: Option<Uuid>,
}

/// A refund of some of an order's lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundView {
    /// The refund saga's id.
    pub refund_id: Uuid,
    /// `reserved`, `released` or `confirmed`.
    pub status: String,
    pub amount_minor: i64,
    /// The refunded lines at the order's prices.
    pub items: Vec<CheckoutItem>,
    pub created_at: DateTime<Utc>,
}

/// An order with its owner (the operator's view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedOrder {
    pub tenant_id: String,
    pub user_id: String,
    #[serde(flatten)]
    pub order: OrderView,
}

/// Which orders to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter<'a> {
    pub tenant_id: &'a str,
    /// `None`: every user of the tenant (operators only).
    pub user_id: Option<&'a str>,
    pub order_id: Option<Uuid>,
    pub status: Option<&'a str>,
    /// Only orders older than this one (order ids are UUID v7: newest first).
    pub before: Option<Uuid>,
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    order_id: Uuid,
    tenant_id: String,
    customer_id: String,
    status: String,
    total_minor: i64,
    currency: String,
    items: Json<Vec<CheckoutItem>>,
    created_at: DateTime<Utc>,
    cancelled_by: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    saga_id: Uuid,
    order_id: Uuid,
    customer_id: String,
    status: String,
    amount_minor: i64,
    items: Json<Vec<CheckoutItem>>,
    created_at: DateTime<Utc>,
}

/// The orders `filter` selects, newest first, with their refunds.
pub async fn orders(pool: &PgPool, filter: &Filter<'_>) -> Result<Vec<OwnedOrder>, sqlx::Error> {
    let rows: Vec<OrderRow> = sqlx::query_as(
        "SELECT order_id, tenant_id, customer_id, status, total_minor, currency, items, created_at, cancelled_by
         FROM orders
         WHERE tenant_id = $1 AND ($2::text IS NULL OR customer_id = $2)
           AND order_id IS NOT NULL AND status IN ('created', 'cancelled')
           AND total_minor IS NOT NULL AND currency IS NOT NULL AND customer_id IS NOT NULL
           AND ($3::uuid IS NULL OR order_id = $3)
           AND ($4::text IS NULL OR status = $4)
           AND ($5::uuid IS NULL OR order_id < $5)
         ORDER BY order_id DESC
         LIMIT $6",
    )
    .bind(filter.tenant_id)
    .bind(filter.user_id)
    .bind(filter.order_id)
    .bind(filter.status)
    .bind(filter.before)
    .bind(filter.limit)
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.order_id).collect();
    let refunds: Vec<RefundRow> = sqlx::query_as(
        "SELECT saga_id, order_id, customer_id, status, amount_minor, items, created_at
         FROM order_aftersales
         WHERE tenant_id = $1 AND ($2::text IS NULL OR customer_id = $2) AND order_id = ANY($3)
           AND kind = 'refund' AND status IN ('reserved', 'released', 'confirmed')
         ORDER BY created_at, saga_id",
    )
    .bind(filter.tenant_id)
    .bind(filter.user_id)
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut by_order: HashMap<(Uuid, String), Vec<RefundView>> = HashMap::new();
    for r in refunds {
        by_order
            .entry((r.order_id, r.customer_id))
            .or_default()
            .push(RefundView {
                refund_id: r.saga_id,
                status: r.status,
                amount_minor: r.amount_minor,
                items: r.items.0,
                created_at: r.created_at,
            });
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let refunds = by_order
                .remove(&(row.order_id, row.customer_id.clone()))
                .unwrap_or_default();
            let refunded_minor = refunds
                .iter()
                .filter(|r| r.status == "confirmed")
                .map(|r| r.amount_minor)
                .sum();
            OwnedOrder {
                tenant_id: row.tenant_id,
                user_id: row.customer_id,
                order: OrderView {
                    order_id: row.order_id,
                    status: row.status,
                    total_minor: row.total_minor,
                    refunded_minor,
                    currency: row.currency,
                    items: row.items.0,
                    created_at: row.created_at,
                    refunds,
                    cancelled_by: row.cancelled_by,
                },
            }
        })
        .collect())
}

/// One order of `user_id` in `tenant_id`, if it is theirs.
pub async fn order(
    pool: &PgPool,
    tenant_id: &str,
    user_id: &str,
    order_id: Uuid,
) -> Result<Option<OrderView>, sqlx::Error> {
    let filter = Filter {
        tenant_id,
        user_id: Some(user_id),
        order_id: Some(order_id),
        status: None,
        before: None,
        limit: 1,
    };
    Ok(orders(pool, &filter).await?.pop().map(|owned| owned.order))
}
