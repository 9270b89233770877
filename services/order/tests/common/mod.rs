//! The shared handler test kit, plus placed orders and after-sale commands in a
//! chosen tenant.
#![allow(unused_imports, dead_code)]

pub use sagaflow_bus::testing::*;

use sagaflow_bus::Incoming;
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    CancelPlacedOrder, CheckoutItem, ConfirmRefund, CreateOrder, OrderCreated, OrderLine,
    ReinstateOrder, ReleaseRefund, ReserveRefund,
};
use sagaflow_order::{NAME, OrderHandler};
use sagaflow_test_support::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

pub const A: &str = "tenant-a";
pub const B: &str = "tenant-b";
/// The same user id in both tenants.
pub const USER: &str = "ada";

/// A fresh, migrated database.
pub async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("order").await?;
    sagaflow_order::migrate(&db.pool).await?;
    Ok(db)
}

/// `body` as a consumer sees it, in `tenant`, keyed by its saga.
pub fn in_tenant<T: Contract>(tenant: &str, saga_id: Uuid, body: &T) -> Incoming {
    let mut message = incoming(Some(saga_id), body);
    message.envelope.tenant_id = tenant.to_owned();
    message
}

/// Handles `message` and returns its one reply.
pub async fn go(pool: &PgPool, message: &Incoming) -> anyhow::Result<Reply> {
    Ok(send(pool, &OrderHandler::default(), NAME, message).await?)
}

/// A placed order.
#[derive(Debug, Clone)]
pub struct Placed {
    pub checkout_saga_id: Uuid,
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub items: Vec<CheckoutItem>,
    pub total_minor: i64,
}

/// Places an order of `customer` in `tenant` with `(sku, quantity, unit price)` lines.
pub async fn place(
    pool: &PgPool,
    tenant: &str,
    customer: &str,
    lines: &[(&str, i32, i64)],
) -> anyhow::Result<Placed> {
    let saga_id = Uuid::now_v7();
    let payment_id = Uuid::now_v7();
    let items: Vec<CheckoutItem> = lines
        .iter()
        .map(|(sku, quantity, unit_price_minor)| CheckoutItem {
            sku: (*sku).into(),
            quantity: *quantity,
            unit_price_minor: *unit_price_minor,
        })
        .collect();
    let total_minor = items
        .iter()
        .map(|i| i64::from(i.quantity) * i.unit_price_minor)
        .sum();
    let command = CreateOrder {
        saga_id,
        customer_id: customer.into(),
        items: items.clone(),
        total_minor,
        currency: "EUR".into(),
        payment_id,
    };
    let created: OrderCreated = go(pool, &in_tenant(tenant, saga_id, &command))
        .await?
        .expect();
    Ok(Placed {
        checkout_saga_id: saga_id,
        order_id: created.order_id,
        payment_id,
        items,
        total_minor,
    })
}

pub fn cancel_placed(tenant: &str, saga_id: Uuid, order_id: Uuid, customer: &str) -> Incoming {
    in_tenant(
        tenant,
        saga_id,
        &CancelPlacedOrder {
            saga_id,
            order_id,
            customer_id: customer.into(),
            reason: "changed my mind".into(),
        },
    )
}

pub fn reinstate(saga_id: Uuid) -> Incoming {
    in_tenant(
        A,
        saga_id,
        &ReinstateOrder {
            saga_id,
            reason: "the payment refund failed".into(),
        },
    )
}

pub fn reserve(
    tenant: &str,
    saga_id: Uuid,
    order_id: Uuid,
    customer: &str,
    lines: &[(&str, i32)],
) -> Incoming {
    in_tenant(
        tenant,
        saga_id,
        &ReserveRefund {
            saga_id,
            order_id,
            customer_id: customer.into(),
            lines: lines
                .iter()
                .map(|(sku, quantity)| OrderLine {
                    sku: (*sku).into(),
                    quantity: *quantity,
                })
                .collect(),
            reason: "damaged".into(),
        },
    )
}

pub fn release(saga_id: Uuid) -> Incoming {
    in_tenant(
        A,
        saga_id,
        &ReleaseRefund {
            saga_id,
            reason: "the payment refund failed".into(),
        },
    )
}

pub fn confirm(saga_id: Uuid) -> Incoming {
    in_tenant(
        A,
        saga_id,
        &ConfirmRefund {
            saga_id,
            reason: "refunded".into(),
        },
    )
}

/// The order's status and the saga that cancelled it.
pub async fn status(pool: &PgPool, order_id: Uuid) -> anyhow::Result<(String, Option<Uuid>)> {
    Ok(
        sqlx::query_as("SELECT status, cancelled_by FROM orders WHERE order_id = $1")
            .bind(order_id)
            .fetch_one(pool)
            .await?,
    )
}
