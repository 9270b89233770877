//! `CancelPlacedOrder` → `PlacedOrderCancelled` | `OrderCancellationRefused`, and
//! its compensation `ReinstateOrder` → `OrderReinstated`.
//!
//! A cancellation is allowed while the order is `created`, no refund of it is
//! `reserved`, and some line is not refunded yet; it sets the order `cancelled`
//! with `cancelled_by` = the saga, and replies with what is left to refund (the
//! total less the confirmed refunds) and the order's lines as priced at checkout.
//! `ReinstateOrder` puts an order this saga cancelled back to `created`; for a
//! saga with no row it leaves a tombstone, so a late `CancelPlacedOrder` of that
//! saga is refused ([`COMPENSATED_FIRST`]) and cancels nothing.

use sagaflow_bus::Failure;
use sagaflow_events::messages::{
    CancelPlacedOrder, OrderCancellationRefused, OrderReinstated, PlacedOrderCancelled,
    ReinstateOrder,
};
use sqlx::PgConnection;
use uuid::Uuid;

use super::pricing::fully_refunded;
use super::{
    NewRecord, Record, count, lock_order, lock_order_by_id, not_found, record, refunded, set_status,
};

/// Refusal while a refund of the order is `reserved`.
pub const REFUND_IN_PROGRESS: &str =
    "a refund of this order is in progress; try again when it has finished";
/// Refusal of a cancellation whose compensation (`ReinstateOrder`) came first.
pub const COMPENSATED_FIRST: &str =
    "this cancellation was compensated before it arrived; nothing was cancelled";

/// The outcome of a `CancelPlacedOrder`.
pub type CancelOutcome = Result<PlacedOrderCancelled, OrderCancellationRefused>;

/// Handles `CancelPlacedOrder` in `tenant_id` (the envelope's).
pub(crate) async fn cancel_placed(
    tx: &mut PgConnection,
    tenant_id: &str,
    command: &CancelPlacedOrder,
) -> Result<CancelOutcome, Failure> {
    if let Some(stored) = record(tx, command.saga_id, false).await? {
        return stored_reply(command, stored);
    }
    let order_id = command.order_id;
    let order = lock_order(tx, order_id, tenant_id, &command.customer_id).await?;
    let refusal = match &order {
        None => Some(not_found(order_id)),
        Some(order) if order.status != "created" => {
            Some(format!("order {order_id} is already cancelled"))
        }
        Some(order) => {
            let refunds = refunded(tx, order_id).await?;
            if refunds.any_reserved {
                Some(REFUND_IN_PROGRESS.to_owned())
            } else if fully_refunded(&order.items, &refunds.confirmed) {
                Some(format!(
                    "every line of order {order_id} has been refunded; nothing is left to cancel"
                ))
            } else {
                let left = order.total_minor.saturating_sub(refunds.confirmed_minor);
                return cancel(tx, tenant_id, command, order, left).await;
            }
        }
    };
    let reason = refusal.unwrap_or_default();
    let row = NewRecord::refused(
        command.saga_id,
        "cancel",
        order_id,
        tenant_id,
        &command.customer_id,
        &reason,
    );
    if !row.claim(tx).await? {
        return replay(tx, command).await;
    }
    count("cancel", "refused");
    Ok(Err(refused(command, reason)))
}

/// Cancels the locked `order`, claiming the saga's row first.
async fn cancel(
    tx: &mut PgConnection,
    tenant_id: &str,
    command: &CancelPlacedOrder,
    order: &super::PlacedOrder,
    refund_minor: i64,
) -> Result<CancelOutcome, Failure> {
    let row = NewRecord {
        saga_id: command.saga_id,
        kind: "cancel",
        status: "cancelled",
        order_id: Some(order.order_id),
        tenant_id: Some(tenant_id),
        customer_id: Some(&command.customer_id),
        checkout_saga_id: Some(order.saga_id),
        payment_id: Some(order.payment_id),
        amount_minor: Some(refund_minor),
        currency: Some(&order.currency),
        items: &order.items,
        reason: &command.reason,
    };
    if !row.claim(tx).await? {
        return replay(tx, command).await;
    }
    sqlx::query(
        "UPDATE orders SET status = 'cancelled', cancelled_by = $2, reason = $3, updated_at = now()
         WHERE order_id = $1",
    )
    .bind(order.order_id)
    .bind(command.saga_id)
    .bind(&command.reason)
    .execute(&mut *tx)
    .await?;
    count("cancel", "cancelled");
    Ok(Ok(PlacedOrderCancelled {
        saga_id: command.saga_id,
        order_id: order.order_id,
        checkout_saga_id: order.saga_id,
        payment_id: order.payment_id,
        refund_minor,
        currency: order.currency.clone(),
        items: order.items.0.clone(),
    }))
}

/// The reply stored for a saga whose row another delivery claimed meanwhile.
async fn replay(
    tx: &mut PgConnection,
    command: &CancelPlacedOrder,
) -> Result<CancelOutcome, Failure> {
    match record(tx, command.saga_id, false).await? {
        Some(stored) => stored_reply(command, stored),
        None => Err(Failure::Transient(format!(
            "the row of saga {} vanished while it was claimed",
            command.saga_id
        ))),
    }
}

fn refused(command: &CancelPlacedOrder, reason: String) -> OrderCancellationRefused {
    OrderCancellationRefused {
        saga_id: command.saga_id,
        order_id: command.order_id,
        reason,
    }
}

/// A value the table's CHECK guarantees for the row's status.
pub(crate) fn stored<T>(value: Option<T>, saga_id: Uuid, what: &str) -> Result<T, Failure> {
    value.ok_or_else(|| Failure::Poison(format!("the row of saga {saga_id} has no {what}")))
}

/// The reply a saga's stored row gives a `CancelPlacedOrder`.
fn stored_reply(command: &CancelPlacedOrder, row: Record) -> Result<CancelOutcome, Failure> {
    let saga_id = command.saga_id;
    Ok(match (row.kind.as_str(), row.status.as_str()) {
        ("cancel", "cancelled" | "reinstated") => Ok(PlacedOrderCancelled {
            saga_id,
            order_id: stored(row.order_id, saga_id, "order")?,
            checkout_saga_id: stored(row.checkout_saga_id, saga_id, "checkout saga")?,
            payment_id: stored(row.payment_id, saga_id, "payment")?,
            refund_minor: stored(row.amount_minor, saga_id, "amount")?,
            currency: stored(row.currency, saga_id, "currency")?,
            items: row.items.0,
        }),
        ("cancel", "tombstone") => Err(refused(command, COMPENSATED_FIRST.to_owned())),
        ("cancel", _) => Err(refused(
            command,
            row.reason
                .unwrap_or_else(|| "the cancellation was refused".to_owned()),
        )),
        _ => Err(refused(
            command,
            format!("saga {saga_id} is a refund, not a cancellation"),
        )),
    })
}

/// Handles `ReinstateOrder`.
pub(crate) async fn reinstate(
    tx: &mut PgConnection,
    command: &ReinstateOrder,
) -> Result<OrderReinstated, Failure> {
    let saga_id = command.saga_id;
    let reply = OrderReinstated { saga_id };
    if NewRecord::tombstone(saga_id, "cancel", &command.reason)
        .claim(tx)
        .await?
    {
        count("reinstate", "tombstone");
        return Ok(reply);
    }
    let Some(row) = record(tx, saga_id, false).await? else {
        return Err(Failure::Transient(format!(
            "the row of saga {saga_id} vanished while it was read"
        )));
    };
    let (Some(order_id), "cancel", "cancelled") =
        (row.order_id, row.kind.as_str(), row.status.as_str())
    else {
        return Ok(reply);
    };
    // The order first, then the saga's row: the lock order of CancelPlacedOrder.
    lock_order_by_id(tx, order_id).await?;
    let still_cancelled = record(tx, saga_id, true)
        .await?
        .is_some_and(|row| row.status == "cancelled");
    if still_cancelled {
        sqlx::query(
            "UPDATE orders SET status = 'created', cancelled_by = NULL, reason = NULL, updated_at = now()
             WHERE order_id = $1 AND cancelled_by = $2",
        )
        .bind(order_id)
        .bind(saga_id)
        .execute(&mut *tx)
        .await?;
        set_status(tx, saga_id, "reinstated").await?;
        count("reinstate", "reinstated");
    }
    Ok(reply)
}
