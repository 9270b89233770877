//! Reservations and releases through the real inbox transaction and PostgreSQL.

use crate::common;

use std::sync::Arc;

use common::{db, expect, incoming, send};
use sagaflow_events::messages::{
    InventoryReleased, InventoryReservationFailed, InventoryReserved, ReleaseInventory,
    ReserveInventory, StockItem,
};
use sagaflow_inventory::{InventoryHandler, set_stock, stock};
use uuid::Uuid;

fn reserve(saga_id: Uuid, items: &[(&str, i32)]) -> sagaflow_bus::Incoming {
    let items = items
        .iter()
        .map(|(sku, quantity)| StockItem {
            sku: (*sku).to_owned(),
            quantity: *quantity,
        })
        .collect();
    incoming(saga_id, &ReserveInventory { saga_id, items })
}

fn release(saga_id: Uuid) -> sagaflow_bus::Incoming {
    incoming(
        saga_id,
        &ReleaseInventory {
            saga_id,
            reason: "saga compensating".into(),
        },
    )
}

#[tokio::test]
async fn reserve_decrements_once_and_repeats_the_same_reply() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = InventoryHandler::default();
    set_stock(&db.pool, "A", 10).await?;
    set_stock(&db.pool, "B", 5).await?;
    let saga = Uuid::now_v7();

    let first: InventoryReserved = expect(
        &send(
            &db.pool,
            &handler,
            &reserve(saga, &[("A", 3), ("B", 2), ("A", 1)]),
        )
        .await?,
    );
    assert_eq!(first.saga_id, saga);
    assert_eq!(stock(&db.pool, "A").await?, Some(6));
    assert_eq!(stock(&db.pool, "B").await?, Some(3));

    // A new message (new id, so not an inbox duplicate) for the same saga.
    let again: InventoryReserved = expect(
        &send(
            &db.pool,
            &handler,
            &reserve(saga, &[("A", 3), ("B", 2), ("A", 1)]),
        )
        .await?,
    );
    assert_eq!(again, first, "same reservation id");
    assert_eq!(stock(&db.pool, "A").await?, Some(6), "decremented once");
    assert_eq!(stock(&db.pool, "B").await?, Some(3));

    // The very same message again is an inbox duplicate: no second reply.
    let message = reserve(Uuid::now_v7(), &[("A", 1)]);
    send(&db.pool, &handler, &message).await?;
    let outcome = sagaflow_bus::inbox::process(
        &db.pool,
        &handler,
        sagaflow_inventory::NAME,
        &message,
        Default::default(),
    )
    .await;
    assert_eq!(outcome, sagaflow_bus::Outcome::Duplicate);
    assert_eq!(stock(&db.pool, "A").await?, Some(5));
    Ok(())
}

#[tokio::test]
async fn insufficient_stock_names_the_sku_and_takes_nothing() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = InventoryHandler::default();
    set_stock(&db.pool, "A", 10).await?;
    set_stock(&db.pool, "B", 1).await?;
    set_stock(&db.pool, "C", 10).await?;
    let saga = Uuid::now_v7();

    // A and C would succeed around the short B: all must be rolled back.
    let failed: InventoryReservationFailed = expect(
        &send(
            &db.pool,
            &handler,
            &reserve(saga, &[("A", 4), ("B", 2), ("C", 4)]),
        )
        .await?,
    );
    assert_eq!(failed.sku.as_deref(), Some("B"));
    assert!(
        failed.reason.contains("insufficient stock for sku B"),
        "{}",
        failed.reason
    );
    assert_eq!(
        stock(&db.pool, "A").await?,
        Some(10),
        "no partial decrement"
    );
    assert_eq!(stock(&db.pool, "B").await?, Some(1));
    assert_eq!(stock(&db.pool, "C").await?, Some(10));

    // Repeated: the same refusal, even though stock could now suffice.
    set_stock(&db.pool, "B", 5).await?;
    let again: InventoryReservationFailed = expect(
        &send(
            &db.pool,
            &handler,
            &reserve(saga, &[("A", 4), ("B", 2), ("C", 4)]),
        )
        .await?,
    );
    assert_eq!(again, failed);
    assert_eq!(stock(&db.pool, "A").await?, Some(10));

    let unknown: InventoryReservationFailed = expect(
        &send(
            &db.pool,
            &handler,
            &reserve(Uuid::now_v7(), &[("A", 1), ("NOPE", 1)]),
        )
        .await?,
    );
    assert_eq!(unknown.sku.as_deref(), Some("NOPE"));
    assert!(
        unknown.reason.contains("unknown sku NOPE"),
        "{}",
        unknown.reason
    );
    assert_eq!(stock(&db.pool, "A").await?, Some(10));

    let bad: InventoryReservationFailed =
        expect(&send(&db.pool, &handler, &reserve(Uuid::now_v7(), &[("A", 0)])).await?);
    assert!(bad.reason.contains("invalid quantity"), "{}", bad.reason);
    Ok(())
}

#[tokio::test]
async fn release_returns_stock_once() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = InventoryHandler::default();
    set_stock(&db.pool, "A", 10).await?;
    let saga = Uuid::now_v7();
    let _: InventoryReserved =
        expect(&send(&db.pool, &handler, &reserve(saga, &[("A", 4)])).await?);
    assert_eq!(stock(&db.pool, "A").await?, Some(6));

    let released: InventoryReleased = expect(&send(&db.pool, &handler, &release(saga)).await?);
    assert_eq!(released.saga_id, saga);
    assert_eq!(stock(&db.pool, "A").await?, Some(10));
    let _: InventoryReleased = expect(&send(&db.pool, &handler, &release(saga)).await?);
    assert_eq!(stock(&db.pool, "A").await?, Some(10), "returned once");

    // A refused reservation has nothing to give back.
    let refused = Uuid::now_v7();
    let _: InventoryReservationFailed =
        expect(&send(&db.pool, &handler, &reserve(refused, &[("A", 11)])).await?);
    let _: InventoryReleased = expect(&send(&db.pool, &handler, &release(refused)).await?);
    assert_eq!(stock(&db.pool, "A").await?, Some(10));
    Ok(())
}

#[tokio::test]
async fn release_before_reserve_refuses_the_late_reserve() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = InventoryHandler::default();
    set_stock(&db.pool, "A", 10).await?;
    let saga = Uuid::now_v7();

    let _: InventoryReleased = expect(&send(&db.pool, &handler, &release(saga)).await?);
    assert_eq!(stock(&db.pool, "A").await?, Some(10), "nothing to return");
    let late: InventoryReservationFailed =
        expect(&send(&db.pool, &handler, &reserve(saga, &[("A", 3)])).await?);
    assert_eq!(late.reason, sagaflow_inventory::handler::CANCELLED);
    assert_eq!(
        stock(&db.pool, "A").await?,
        Some(10),
        "the late reserve took nothing"
    );
    let _: InventoryReleased = expect(&send(&db.pool, &handler, &release(saga)).await?);
    assert_eq!(stock(&db.pool, "A").await?, Some(10));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_reservations_never_oversell() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Arc::new(InventoryHandler::default());
    set_stock(&db.pool, "HOT", 20).await?;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let pool = db.pool.clone();
        let handler = handler.clone();
        tasks.push(tokio::spawn(async move {
            let saga = Uuid::now_v7();
            send(&pool, handler.as_ref(), &reserve(saga, &[("HOT", 1)])).await
        }));
    }
    let mut reserved = 0;
    let mut failed = 0;
    for task in tasks {
        let reply = task.await??;
        match reply.0.as_str() {
            "InventoryReserved" => reserved += 1,
            "InventoryReservationFailed" => {
                let failure: InventoryReservationFailed = expect(&reply);
                assert_eq!(failure.sku.as_deref(), Some("HOT"));
                failed += 1;
            }
            other => panic!("unexpected reply {other}"),
        }
    }
    assert_eq!((reserved, failed), (20, 30));
    assert_eq!(stock(&db.pool, "HOT").await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn stock_can_never_go_negative() -> anyhow::Result<()> {
    let db = db().await?;
    assert!(set_stock(&db.pool, "A", -1).await.is_err());
    assert_eq!(stock(&db.pool, "A").await?, None);
    Ok(())
}
