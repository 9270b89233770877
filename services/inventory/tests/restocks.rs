//! After-sale restocks (`RestockOrder`) through the real inbox transaction and
//! PostgreSQL: a placed order's stock goes back once, whatever the redeliveries and
//! however many restock sagas name the same checkout.

use crate::common;

use common::{db, expect, incoming, send};
use sagaflow_events::messages::{
    InventoryReleased, InventoryReserved, InventoryRestocked, ReleaseInventory, ReserveInventory,
    RestockOrder, StockItem,
};
use sagaflow_inventory::{InventoryHandler, set_stock, stock};
use sqlx::PgPool;
use uuid::Uuid;

fn items(items: &[(&str, i32)]) -> Vec<StockItem> {
    items
        .iter()
        .map(|(sku, quantity)| StockItem {
            sku: (*sku).to_owned(),
            quantity: *quantity,
        })
        .collect()
}

fn restock(saga_id: Uuid, checkout_saga_id: Uuid) -> sagaflow_bus::Incoming {
    incoming(
        saga_id,
        &RestockOrder {
            saga_id,
            checkout_saga_id,
            reason: "order cancelled by the customer".into(),
        },
    )
}

/// A checkout saga that reserved `wanted`: its id.
async fn placed(
    pool: &PgPool,
    handler: &InventoryHandler,
    wanted: &[(&str, i32)],
) -> anyhow::Result<Uuid> {
    let checkout = Uuid::now_v7();
    let command = ReserveInventory {
        saga_id: checkout,
        items: items(wanted),
    };
    let _: InventoryReserved = expect(&send(pool, handler, &incoming(checkout, &command)).await?);
    Ok(checkout)
}

async fn reservation_status(pool: &PgPool, checkout: Uuid) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT status FROM reservations WHERE saga_id = $1")
            .bind(checkout)
            .fetch_optional(pool)
            .await?,
    )
}

#[tokio::test]
async fn restock_returns_the_orders_stock_once() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = InventoryHandler::default();
    set_stock(&db.pool, "A", 10).await?;
    set_stock(&db.pool, "B", 5).await?;
    let checkout = placed(&db.pool, &handler, &[("B", 2), ("A", 3), ("A", 1)]).await?;
    assert_eq!(stock(&db.pool, "A").await?, Some(6));

    let saga = Uuid::now_v7();
    let restocked: InventoryRestocked =
        expect(&send(&db.pool, &handler, &restock(saga, checkout)).await?);
    assert_eq!(restocked.saga_id, saga);
    assert_eq!(restocked.items, items(&[("A", 4), ("B", 2)]));
    assert_eq!(stock(&db.pool, "A").await?, Some(10));
    assert_eq!(stock(&db.pool, "B").await?, Some(5));
    assert_eq!(
        reservation_status(&db.pool, checkout).await?.as_deref(),
        Some("released")
    );

    // The checkout's own late compensation gives nothing back a second time.
    let release = ReleaseInventory {
        saga_id: checkout,
        reason: "late compensation".into(),
    };
    let _: InventoryReleased =
        expect(&send(&db.pool, &handler, &incoming(checkout, &release)).await?);
    assert_eq!(stock(&db.pool, "A").await?, Some(10));
    assert_eq!(stock(&db.pool, "B").await?, Some(5));
    Ok(())
}

#[tokio::test]
async fn a_redelivered_restock_replies_the_same_items_and_restocks_nothing_more()
-> anyhow::Result<()> {
    let db = db().await?;
    let handler = InventoryHandler::default();
    set_stock(&db.pool, "A", 10).await?;
    let checkout = placed(&db.pool, &handler, &[("A", 3)]).await?;
    let saga = Uuid::now_v7();
    let first_message = restock(saga, checkout);
    let first: InventoryRestocked = expect(&send(&db.pool, &handler, &first_message).await?);
    assert_eq!(first.items, items(&[("A", 3)]));

    // The very same message: an inbox duplicate, no second reply.
    let outcome = sagaflow_bus::inbox::process(
        &db.pool,
        &handler,
        sagaflow_inventory::NAME,
        &first_message,
        Default::default(),
    )
    .await;
    assert_eq!(outcome, sagaflow_bus::Outcome::Duplicate);
    // The saga's next attempt (a new message id): the same items, nothing restocked.
    let again: InventoryRestocked =
        expect(&send(&db.pool, &handler, &restock(saga, checkout)).await?);
    assert_eq!(again, first);
    assert_eq!(stock(&db.pool, "A").await?, Some(10), "restocked once");
    Ok(())
}

#[tokio::test]
async fn a_second_restock_saga_for_the_same_checkout_restocks_nothing() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = InventoryHandler::default();
    set_stock(&db.pool, "A", 10).await?;
    let checkout = placed(&db.pool, &handler, &[("A", 3)]).await?;
    let (first_saga, second_saga) = (Uuid::now_v7(), Uuid::now_v7());
    let first: InventoryRestocked =
        expect(&send(&db.pool, &handler, &restock(first_saga, checkout)).await?);
    assert_eq!(first.items, items(&[("A", 3)]));
    let second: InventoryRestocked =
        expect(&send(&db.pool, &handler, &restock(second_saga, checkout)).await?);
    assert_eq!(
        second,
        InventoryRestocked {
            saga_id: second_saga,
            items: Vec::new()
        }
    );
    assert_eq!(stock(&db.pool, "A").await?, Some(10));
    // And the first saga, redelivered after the second, still replies its items.
    let again: InventoryRestocked =
        expect(&send(&db.pool, &handler, &restock(first_saga, checkout)).await?);
    assert_eq!(again, first);
    Ok(())
}

#[tokio::test]
async fn concurrent_restock_sagas_for_one_checkout_restock_it_once() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = InventoryHandler::default();
    set_stock(&db.pool, "A", 100).await?;
    let checkout = placed(&db.pool, &handler, &[("A", 7)]).await?;
    let messages: Vec<_> = (0..6).map(|_| restock(Uuid::now_v7(), checkout)).collect();
    let replies = futures_join(&db.pool, &handler, &messages).await?;
    let restocked: Vec<_> = replies.iter().filter(|r| !r.items.is_empty()).collect();
    assert_eq!(restocked.len(), 1, "{replies:?}");
    assert_eq!(restocked[0].items, items(&[("A", 7)]));
    assert_eq!(stock(&db.pool, "A").await?, Some(100));
    Ok(())
}

async fn futures_join(
    pool: &PgPool,
    handler: &InventoryHandler,
    messages: &[sagaflow_bus::Incoming],
) -> anyhow::Result<Vec<InventoryRestocked>> {
    let mut tasks = Vec::new();
    for message in messages {
        let (pool, handler, message) = (pool.clone(), handler.clone(), message.clone());
        tasks.push(tokio::spawn(async move {
            send(&pool, &handler, &message).await
        }));
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(expect(&task.await??));
    }
    Ok(replies)
}

#[tokio::test]
async fn an_unknown_or_released_checkout_replies_with_nothing_to_restock() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = InventoryHandler::default();
    set_stock(&db.pool, "A", 10).await?;

    let unknown_saga = Uuid::now_v7();
    let unknown: InventoryRestocked =
        expect(&send(&db.pool, &handler, &restock(unknown_saga, Uuid::now_v7())).await?);
    assert_eq!(
        unknown,
        InventoryRestocked {
            saga_id: unknown_saga,
            items: Vec::new()
        }
    );

    // Released by its checkout's compensation before the restock.
    let checkout = placed(&db.pool, &handler, &[("A", 2)]).await?;
    let release = ReleaseInventory {
        saga_id: checkout,
        reason: "payment failed".into(),
    };
    let _: InventoryReleased =
        expect(&send(&db.pool, &handler, &incoming(checkout, &release)).await?);
    let released: InventoryRestocked =
        expect(&send(&db.pool, &handler, &restock(Uuid::now_v7(), checkout)).await?);
    assert!(released.items.is_empty(), "{released:?}");
    assert_eq!(stock(&db.pool, "A").await?, Some(10));
    Ok(())
}
