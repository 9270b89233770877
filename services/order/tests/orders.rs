//! Order creation and cancellation through the real inbox transaction and PostgreSQL.

use crate::common;

use common::{Reply, incoming, send};
use sagaflow_events::messages::{
    CancelOrder, CheckoutItem, CreateOrder, OrderCancelled, OrderCreated, OrderCreationFailed,
};
use sagaflow_order::{NAME, OrderHandler, Settings, order_for};
use sagaflow_test_support::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("order").await?;
    sagaflow_order::migrate(&db.pool).await?;
    Ok(db)
}

fn create(saga_id: Uuid, total_minor: i64) -> sagaflow_bus::Incoming {
    incoming(
        Some(saga_id),
        &CreateOrder {
            saga_id,
            customer_id: "cust-1".into(),
            items: vec![CheckoutItem {
                sku: "A".into(),
                quantity: 2,
                unit_price_minor: total_minor / 2,
            }],
            total_minor,
            currency: "EUR".into(),
            payment_id: Uuid::now_v7(),
        },
    )
}

fn cancel(saga_id: Uuid) -> sagaflow_bus::Incoming {
    incoming(
        Some(saga_id),
        &CancelOrder {
            saga_id,
            reason: "saga compensating".into(),
        },
    )
}

async fn go(
    pool: &PgPool,
    handler: &OrderHandler,
    message: &sagaflow_bus::Incoming,
) -> anyhow::Result<Reply> {
    Ok(send(pool, handler, NAME, message).await?)
}

#[tokio::test]
async fn create_is_idempotent_by_saga() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = OrderHandler::default();
    let saga = Uuid::now_v7();
    let created: OrderCreated = go(&db.pool, &handler, &create(saga, 3000)).await?.expect();
    assert_eq!(created.saga_id, saga);
    let again: OrderCreated = go(&db.pool, &handler, &create(saga, 3000)).await?.expect();
    assert_eq!(again, created, "same order id");
    let order = order_for(&db.pool, saga).await?.expect("stored");
    assert_eq!(
        (order.status.as_str(), order.order_id, order.total_minor),
        ("created", Some(created.order_id), Some(3000))
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(count, 1);
    Ok(())
}

#[tokio::test]
async fn total_above_the_maximum_fails_with_a_reason() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = OrderHandler::new(Settings {
        max_order_total_minor: 10_000,
        ..Settings::default()
    });
    let _: OrderCreated = go(&db.pool, &handler, &create(Uuid::now_v7(), 10_000))
        .await?
        .expect();

    let saga = Uuid::now_v7();
    let failed: OrderCreationFailed = go(&db.pool, &handler, &create(saga, 10_002))
        .await?
        .expect();
    assert_eq!(
        failed.reason,
        "order total 10002 EUR exceeds the maximum of 10000"
    );
    let again: OrderCreationFailed = go(&db.pool, &handler, &create(saga, 10_002))
        .await?
        .expect();
    assert_eq!(again, failed);
    let order = order_for(&db.pool, saga).await?.expect("stored");
    assert_eq!((order.status.as_str(), order.order_id), ("failed", None));
    Ok(())
}

#[tokio::test]
async fn cancel_is_idempotent_and_refuses_a_late_create() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = OrderHandler::default();
    let saga = Uuid::now_v7();
    let _: OrderCreated = go(&db.pool, &handler, &create(saga, 100)).await?.expect();
    let cancelled: OrderCancelled = go(&db.pool, &handler, &cancel(saga)).await?.expect();
    assert_eq!(cancelled.saga_id, saga);
    let _: OrderCancelled = go(&db.pool, &handler, &cancel(saga)).await?.expect();
    assert_eq!(
        order_for(&db.pool, saga).await?.expect("stored").status,
        "cancelled"
    );

    let early = Uuid::now_v7();
    let _: OrderCancelled = go(&db.pool, &handler, &cancel(early)).await?.expect();
    let late: OrderCreationFailed = go(&db.pool, &handler, &create(early, 100)).await?.expect();
    assert_eq!(late.reason, sagaflow_order::handler::CANCELLED);
    let order = order_for(&db.pool, early).await?.expect("tombstone");
    assert_eq!((order.status.as_str(), order.order_id), ("cancelled", None));
    Ok(())
}
