//! After-sale cancellation and refunds through the real inbox transaction and
//! PostgreSQL: replies, idempotency by saga, tenancy, and what is left to refund.

use crate::common;

use common::{
    A, B, USER, cancel_placed, confirm, db, go, place, reinstate, release, reserve, status,
};
use sagaflow_events::messages::{
    CheckoutItem, OrderCancellationRefused, OrderReinstated, PlacedOrderCancelled, RefundConfirmed,
    RefundRefused, RefundReleased, RefundReserved,
};
use sagaflow_order::aftersale::cancel::{COMPENSATED_FIRST, REFUND_IN_PROGRESS};
use sagaflow_order::aftersale::refund::RELEASED_FIRST;
use uuid::Uuid;

fn item(sku: &str, quantity: i32, unit_price_minor: i64) -> CheckoutItem {
    CheckoutItem {
        sku: sku.into(),
        quantity,
        unit_price_minor,
    }
}

#[tokio::test]
async fn cancel_replies_what_to_refund_once_per_saga() -> anyhow::Result<()> {
    let db = db().await?;
    let order = place(&db.pool, A, USER, &[("SKU-1", 2, 1000), ("SKU-2", 1, 500)]).await?;
    let saga = Uuid::now_v7();
    let cancelled: PlacedOrderCancelled =
        go(&db.pool, &cancel_placed(A, saga, order.order_id, USER))
            .await?
            .expect();
    assert_eq!(
        cancelled,
        PlacedOrderCancelled {
            saga_id: saga,
            order_id: order.order_id,
            checkout_saga_id: order.checkout_saga_id,
            payment_id: order.payment_id,
            refund_minor: 2500,
            currency: "EUR".into(),
            items: order.items.clone(),
        }
    );
    assert_eq!(
        status(&db.pool, order.order_id).await?,
        ("cancelled".to_owned(), Some(saga))
    );

    // A redelivery (a new message of the same saga) gets the same reply.
    let again: PlacedOrderCancelled = go(&db.pool, &cancel_placed(A, saga, order.order_id, USER))
        .await?
        .expect();
    assert_eq!(again, cancelled);

    // Another saga's cancel of the cancelled order is refused, and stays refused.
    let other = Uuid::now_v7();
    let refused: OrderCancellationRefused =
        go(&db.pool, &cancel_placed(A, other, order.order_id, USER))
            .await?
            .expect();
    assert_eq!(
        refused.reason,
        format!("order {} is already cancelled", order.order_id)
    );
    assert_eq!(refused.order_id, order.order_id);
    let refused_again: OrderCancellationRefused =
        go(&db.pool, &cancel_placed(A, other, order.order_id, USER))
            .await?
            .expect();
    assert_eq!(refused_again, refused);
    assert_eq!(
        status(&db.pool, order.order_id).await?,
        ("cancelled".to_owned(), Some(saga)),
        "the refusal changed nothing"
    );
    Ok(())
}

#[tokio::test]
async fn the_same_user_in_another_tenant_cannot_cancel_or_refund() -> anyhow::Result<()> {
    let db = db().await?;
    let order = place(&db.pool, A, USER, &[("SKU-1", 2, 1000)]).await?;
    let not_found = format!("order {} not found", order.order_id);

    let refused: OrderCancellationRefused = go(
        &db.pool,
        &cancel_placed(B, Uuid::now_v7(), order.order_id, USER),
    )
    .await?
    .expect();
    assert_eq!(refused.reason, not_found);
    let refused: RefundRefused = go(
        &db.pool,
        &reserve(B, Uuid::now_v7(), order.order_id, USER, &[("SKU-1", 1)]),
    )
    .await?
    .expect();
    assert_eq!(refused.reason, not_found);

    // Another customer of the same tenant, and an order that does not exist: the
    // same words.
    let refused: OrderCancellationRefused = go(
        &db.pool,
        &cancel_placed(A, Uuid::now_v7(), order.order_id, "bob"),
    )
    .await?
    .expect();
    assert_eq!(refused.reason, not_found);
    let missing = Uuid::now_v7();
    let refused: OrderCancellationRefused =
        go(&db.pool, &cancel_placed(A, Uuid::now_v7(), missing, USER))
            .await?
            .expect();
    assert_eq!(refused.reason, format!("order {missing} not found"));

    assert_eq!(
        status(&db.pool, order.order_id).await?,
        ("created".to_owned(), None)
    );
    let refunds: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM order_aftersales WHERE status NOT IN ('refused', 'tombstone')",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(refunds, 0, "nothing was reserved or cancelled");
    Ok(())
}

#[tokio::test]
async fn a_partial_refund_is_priced_from_the_order_and_bounded_by_what_is_left()
-> anyhow::Result<()> {
    let db = db().await?;
    let order = place(&db.pool, A, USER, &[("SKU-1", 2, 1000), ("SKU-2", 1, 500)]).await?;
    let id = order.order_id;

    // The command names SKUs and quantities only; the price is the order's.
    let first = Uuid::now_v7();
    let reserved: RefundReserved = go(&db.pool, &reserve(A, first, id, USER, &[("SKU-1", 1)]))
        .await?
        .expect();
    assert_eq!(
        reserved,
        RefundReserved {
            saga_id: first,
            order_id: id,
            payment_id: order.payment_id,
            amount_minor: 1000,
            currency: "EUR".into(),
            items: vec![item("SKU-1", 1, 1000)],
        }
    );
    let again: RefundReserved = go(&db.pool, &reserve(A, first, id, USER, &[("SKU-1", 1)]))
        .await?
        .expect();
    assert_eq!(again, reserved, "a redelivery gets the same reply");

    // More than bought less already held, a SKU not in the order, no quantity.
    let refused: RefundRefused = go(
        &db.pool,
        &reserve(A, Uuid::now_v7(), id, USER, &[("SKU-1", 1), ("SKU-1", 1)]),
    )
    .await?
    .expect();
    assert_eq!(refused.reason, "only 1 of SKU-1 is left to refund");
    let refused: RefundRefused = go(
        &db.pool,
        &reserve(A, Uuid::now_v7(), id, USER, &[("SKU-9", 1)]),
    )
    .await?
    .expect();
    assert_eq!(refused.reason, format!("SKU-9 is not in order {id}"));
    let refused: RefundRefused = go(
        &db.pool,
        &reserve(A, Uuid::now_v7(), id, USER, &[("SKU-2", 0)]),
    )
    .await?
    .expect();
    assert!(refused.reason.contains("invalid quantity 0"), "{refused:?}");

    // A cancel while the refund is reserved is refused.
    let refused: OrderCancellationRefused =
        go(&db.pool, &cancel_placed(A, Uuid::now_v7(), id, USER))
            .await?
            .expect();
    assert_eq!(refused.reason, REFUND_IN_PROGRESS);

    // Confirm (twice: idempotent), then cancel: the total less the confirmed refund.
    let confirmed: RefundConfirmed = go(&db.pool, &confirm(first)).await?.expect();
    assert_eq!(
        confirmed,
        RefundConfirmed {
            saga_id: first,
            order_id: id
        }
    );
    let _: RefundConfirmed = go(&db.pool, &confirm(first)).await?.expect();
    let cancel = Uuid::now_v7();
    let cancelled: PlacedOrderCancelled = go(&db.pool, &cancel_placed(A, cancel, id, USER))
        .await?
        .expect();
    assert_eq!(cancelled.refund_minor, order.total_minor - 1000);
    assert_eq!(cancelled.refund_minor, 1500);

    // A cancelled order is refunded no further.
    let refused: RefundRefused = go(
        &db.pool,
        &reserve(A, Uuid::now_v7(), id, USER, &[("SKU-2", 1)]),
    )
    .await?
    .expect();
    assert_eq!(
        refused.reason,
        format!("order {id} is cancelled; nothing can be refunded")
    );
    Ok(())
}

#[tokio::test]
async fn release_returns_the_quantity_and_a_late_reserve_is_refused() -> anyhow::Result<()> {
    let db = db().await?;
    let order = place(&db.pool, A, USER, &[("SKU-1", 2, 700)]).await?;
    let id = order.order_id;

    let first = Uuid::now_v7();
    let _: RefundReserved = go(&db.pool, &reserve(A, first, id, USER, &[("SKU-1", 2)]))
        .await?
        .expect();
    let refused: RefundRefused = go(
        &db.pool,
        &reserve(A, Uuid::now_v7(), id, USER, &[("SKU-1", 1)]),
    )
    .await?
    .expect();
    assert_eq!(refused.reason, "only 0 of SKU-1 is left to refund");

    let released: RefundReleased = go(&db.pool, &release(first)).await?.expect();
    assert_eq!(released.saga_id, first);
    let _: RefundReleased = go(&db.pool, &release(first)).await?.expect();

    // The quantity is free again; a cancel is no longer blocked.
    let second = Uuid::now_v7();
    let reserved: RefundReserved = go(&db.pool, &reserve(A, second, id, USER, &[("SKU-1", 2)]))
        .await?
        .expect();
    assert_eq!(reserved.amount_minor, 1400);
    let _: RefundReleased = go(&db.pool, &release(second)).await?.expect();
    let _: PlacedOrderCancelled = go(&db.pool, &cancel_placed(A, Uuid::now_v7(), id, USER))
        .await?
        .expect();

    // A release that comes before its reserve leaves a tombstone.
    let order = place(&db.pool, A, USER, &[("SKU-1", 1, 700)]).await?;
    let early = Uuid::now_v7();
    let _: RefundReleased = go(&db.pool, &release(early)).await?.expect();
    let late: RefundRefused = go(
        &db.pool,
        &reserve(A, early, order.order_id, USER, &[("SKU-1", 1)]),
    )
    .await?
    .expect();
    assert_eq!(late.reason, RELEASED_FIRST);
    let _: RefundReserved = go(
        &db.pool,
        &reserve(A, Uuid::now_v7(), order.order_id, USER, &[("SKU-1", 1)]),
    )
    .await?
    .expect();

    // Confirming a released refund, or one never reserved, is a poison message.
    let err = go(&db.pool, &confirm(first)).await.expect_err("released");
    assert!(err.to_string().contains("Poison"), "{err}");
    let err = go(&db.pool, &confirm(Uuid::now_v7()))
        .await
        .expect_err("unknown");
    assert!(err.to_string().contains("reserved no refund"), "{err}");
    Ok(())
}

#[tokio::test]
async fn reinstate_undoes_this_sagas_cancel_and_tombstones_an_unknown_one() -> anyhow::Result<()> {
    let db = db().await?;
    let order = place(&db.pool, A, USER, &[("SKU-1", 1, 900)]).await?;
    let id = order.order_id;

    let saga = Uuid::now_v7();
    let cancelled: PlacedOrderCancelled = go(&db.pool, &cancel_placed(A, saga, id, USER))
        .await?
        .expect();
    let reinstated: OrderReinstated = go(&db.pool, &reinstate(saga)).await?.expect();
    assert_eq!(reinstated.saga_id, saga);
    assert_eq!(status(&db.pool, id).await?, ("created".to_owned(), None));
    let _: OrderReinstated = go(&db.pool, &reinstate(saga)).await?.expect();
    assert_eq!(status(&db.pool, id).await?, ("created".to_owned(), None));
    // A redelivered cancel of the compensated saga gets its stored reply and
    // cancels nothing again.
    let again: PlacedOrderCancelled = go(&db.pool, &cancel_placed(A, saga, id, USER))
        .await?
        .expect();
    assert_eq!(again, cancelled);
    assert_eq!(status(&db.pool, id).await?, ("created".to_owned(), None));

    // Reinstating a saga that never cancelled anything leaves a tombstone: its
    // late cancel is refused and the order stays.
    let early = Uuid::now_v7();
    let _: OrderReinstated = go(&db.pool, &reinstate(early)).await?.expect();
    let late: OrderCancellationRefused = go(&db.pool, &cancel_placed(A, early, id, USER))
        .await?
        .expect();
    assert_eq!(late.reason, COMPENSATED_FIRST);
    assert_eq!(status(&db.pool, id).await?, ("created".to_owned(), None));

    // The reinstated order can be cancelled by another saga.
    let next = Uuid::now_v7();
    let _: PlacedOrderCancelled = go(&db.pool, &cancel_placed(A, next, id, USER))
        .await?
        .expect();
    assert_eq!(
        status(&db.pool, id).await?,
        ("cancelled".to_owned(), Some(next))
    );
    Ok(())
}

#[tokio::test]
async fn concurrent_sagas_on_one_order_serialise() -> anyhow::Result<()> {
    let db = db().await?;
    let order = place(&db.pool, A, USER, &[("SKU-1", 3, 100)]).await?;
    let id = order.order_id;
    // Four refunds of 2 of 3 units and a cancel, all at once: at most one refund is
    // reserved, and the cancel either won (then no refund) or was refused.
    let refunds: Vec<_> = (0..4)
        .map(|_| reserve(A, Uuid::now_v7(), id, USER, &[("SKU-1", 2)]))
        .collect();
    let cancel = cancel_placed(A, Uuid::now_v7(), id, USER);
    let (cancel_reply, r0, r1, r2, r3) = tokio::join!(
        go(&db.pool, &cancel),
        go(&db.pool, &refunds[0]),
        go(&db.pool, &refunds[1]),
        go(&db.pool, &refunds[2]),
        go(&db.pool, &refunds[3]),
    );
    let reserved = [r0?, r1?, r2?, r3?]
        .iter()
        .filter(|r| r.message_type == "RefundReserved")
        .count();
    let cancel_reply = cancel_reply?;
    if cancel_reply.message_type == "PlacedOrderCancelled" {
        assert!(reserved <= 1, "{reserved} reserved");
        let (state, _) = status(&db.pool, id).await?;
        assert_eq!(state, "cancelled");
    } else {
        let refused: OrderCancellationRefused = cancel_reply.expect();
        assert_eq!(refused.reason, REFUND_IN_PROGRESS);
        assert_eq!(reserved, 1);
    }
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM order_aftersales WHERE kind = 'refund' AND status = 'reserved'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(held, i64::try_from(reserved)?);
    assert!(held <= 1);
    Ok(())
}

#[tokio::test]
async fn housekeeping_prunes_old_refusals_and_tombstones_only() -> anyhow::Result<()> {
    let db = db().await?;
    let order = place(&db.pool, A, USER, &[("SKU-1", 2, 100)]).await?;
    let refund = Uuid::now_v7();
    let _: RefundReserved = go(
        &db.pool,
        &reserve(A, refund, order.order_id, USER, &[("SKU-1", 1)]),
    )
    .await?
    .expect();
    let _: RefundRefused = go(
        &db.pool,
        &reserve(A, Uuid::now_v7(), order.order_id, USER, &[("SKU-9", 1)]),
    )
    .await?
    .expect();
    let _: OrderReinstated = go(&db.pool, &reinstate(Uuid::now_v7())).await?.expect();
    let fresh = Uuid::now_v7();
    let _: RefundReleased = go(&db.pool, &release(fresh)).await?.expect();
    sqlx::query(
        "UPDATE order_aftersales SET updated_at = now() - interval '31 days' WHERE saga_id <> $1",
    )
    .bind(fresh)
    .execute(&db.pool)
    .await?;

    let retention = sagaflow_order::housekeeping::RETENTION;
    let deleted = sagaflow_order::housekeeping::prune_once(&db.pool, retention, 100).await?;
    assert_eq!(deleted, 2, "the old refusal and the old tombstone");
    let left: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT saga_id, status FROM order_aftersales ORDER BY saga_id")
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(
        left,
        vec![
            (refund, "reserved".to_owned()),
            (fresh, "tombstone".to_owned())
        ]
    );
    Ok(())
}
