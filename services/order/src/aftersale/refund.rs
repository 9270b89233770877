//! Refunds of some lines of a placed order:
//! - `ReserveRefund` → `RefundReserved` | `RefundRefused`: the lines are priced
//!   from the order's stored lines ([`super::pricing::price_refund`]) and held
//!   (`reserved`) against what is left to refund.
//! - `ReleaseRefund` (compensation) → `RefundReleased`: `reserved` → `released`,
//!   the quantity is free again; for a saga with no row a tombstone, so a late
//!   `ReserveRefund` of that saga is refused ([`RELEASED_FIRST`]). A `confirmed`
//!   refund is left as it is (the money went back) and logged.
//! - `ConfirmRefund` → `RefundConfirmed`: `reserved` → `confirmed`. A saga with
//!   no reserved or confirmed refund is a poison failure: the saga only confirms
//!   a refund the order reserved, so anything else is a bug to look at, not a
//!   state to reply to.

use sagaflow_bus::Failure;
use sagaflow_events::messages::{
    ConfirmRefund, RefundConfirmed, RefundRefused, RefundReleased, RefundReserved, ReleaseRefund,
    ReserveRefund,
};
use sqlx::PgConnection;

use super::cancel::stored;
use super::pricing::{Held, price_refund};
use super::{
    NewRecord, Record, count, lock_order, lock_order_by_id, not_found, record, refunded, set_status,
};

/// Refusal of a refund whose compensation (`ReleaseRefund`) came first.
pub const RELEASED_FIRST: &str = "this refund was released before it arrived; nothing was reserved";

/// The outcome of a `ReserveRefund`.
pub type ReserveOutcome = Result<RefundReserved, RefundRefused>;

/// Handles `ReserveRefund` in `tenant_id` (the envelope's).
pub(crate) async fn reserve(
    tx: &mut PgConnection,
    tenant_id: &str,
    command: &ReserveRefund,
) -> Result<ReserveOutcome, Failure> {
    if let Some(row) = record(tx, command.saga_id, false).await? {
        return stored_reply(command, row);
    }
    let order_id = command.order_id;
    let order = lock_order(tx, order_id, tenant_id, &command.customer_id).await?;
    let priced = match order {
        None => Err(not_found(order_id)),
        Some(order) if order.status != "created" => Err(format!(
            "order {order_id} is cancelled; nothing can be refunded"
        )),
        Some(order) => {
            let refunds = refunded(tx, order_id).await?;
            let held = Held {
                total_minor: order.total_minor,
                held_minor: refunds.held_minor,
                taken: &refunds.taken,
            };
            price_refund(order_id, &order.items, &held, &command.lines)
                .map(|priced| (order, priced))
        }
    };
    let (order, (items, amount_minor)) = match priced {
        Ok(priced) => priced,
        Err(reason) => {
            let row = NewRecord::refused(
                command.saga_id,
                "refund",
                order_id,
                tenant_id,
                &command.customer_id,
                &reason,
            );
            if !row.claim(tx).await? {
                return replay(tx, command).await;
            }
            count("reserve_refund", "refused");
            return Ok(Err(refused(command, reason)));
        }
    };
    let row = NewRecord {
        saga_id: command.saga_id,
        kind: "refund",
        status: "reserved",
        order_id: Some(order_id),
        tenant_id: Some(tenant_id),
        customer_id: Some(&command.customer_id),
        checkout_saga_id: Some(order.saga_id),
        payment_id: Some(order.payment_id),
        amount_minor: Some(amount_minor),
        currency: Some(&order.currency),
        items: &items,
        reason: &command.reason,
    };
    if !row.claim(tx).await? {
        return replay(tx, command).await;
    }
    count("reserve_refund", "reserved");
    Ok(Ok(RefundReserved {
        saga_id: command.saga_id,
        order_id,
        payment_id: order.payment_id,
        amount_minor,
        currency: order.currency,
        items,
    }))
}

async fn replay(tx: &mut PgConnection, command: &ReserveRefund) -> Result<ReserveOutcome, Failure> {
    match record(tx, command.saga_id, false).await? {
        Some(row) => stored_reply(command, row),
        None => Err(Failure::Transient(format!(
            "the row of saga {} vanished while it was claimed",
            command.saga_id
        ))),
    }
}

fn refused(command: &ReserveRefund, reason: String) -> RefundRefused {
    RefundRefused {
        saga_id: command.saga_id,
        order_id: command.order_id,
        reason,
    }
}

/// The reply a saga's stored row gives a `ReserveRefund`.
fn stored_reply(command: &ReserveRefund, row: Record) -> Result<ReserveOutcome, Failure> {
    let saga_id = command.saga_id;
    Ok(match (row.kind.as_str(), row.status.as_str()) {
        ("refund", "reserved" | "released" | "confirmed") => Ok(RefundReserved {
            saga_id,
            order_id: stored(row.order_id, saga_id, "order")?,
            payment_id: stored(row.payment_id, saga_id, "payment")?,
            amount_minor: stored(row.amount_minor, saga_id, "amount")?,
            currency: stored(row.currency, saga_id, "currency")?,
            items: row.items.0,
        }),
        ("refund", "tombstone") => Err(refused(command, RELEASED_FIRST.to_owned())),
        ("refund", _) => Err(refused(
            command,
            row.reason
                .unwrap_or_else(|| "the refund was refused".to_owned()),
        )),
        _ => Err(refused(
            command,
            format!("saga {saga_id} is a cancellation, not a refund"),
        )),
    })
}

/// Handles `ReleaseRefund`.
pub(crate) async fn release(
    tx: &mut PgConnection,
    command: &ReleaseRefund,
) -> Result<RefundReleased, Failure> {
    let saga_id = command.saga_id;
    let reply = RefundReleased { saga_id };
    if NewRecord::tombstone(saga_id, "refund", &command.reason)
        .claim(tx)
        .await?
    {
        count("release_refund", "tombstone");
        return Ok(reply);
    }
    let Some(row) = record(tx, saga_id, false).await? else {
        return Err(Failure::Transient(format!(
            "the row of saga {saga_id} vanished while it was read"
        )));
    };
    let (Some(order_id), "refund") = (row.order_id, row.kind.as_str()) else {
        return Ok(reply);
    };
    match row.status.as_str() {
        "reserved" => {
            // The order first, then the saga's row: the lock order of ReserveRefund.
            lock_order_by_id(tx, order_id).await?;
            let still_reserved = record(tx, saga_id, true)
                .await?
                .is_some_and(|row| row.status == "reserved");
            if still_reserved {
                set_status(tx, saga_id, "released").await?;
                count("release_refund", "released");
            }
        }
        "confirmed" => {
            tracing::warn!(%saga_id, %order_id, "ReleaseRefund of a confirmed refund: left confirmed");
            count("release_refund", "already_confirmed");
        }
        _ => {}
    }
    Ok(reply)
}

/// Handles `ConfirmRefund`.
pub(crate) async fn confirm(
    tx: &mut PgConnection,
    command: &ConfirmRefund,
) -> Result<RefundConfirmed, Failure> {
    let saga_id = command.saga_id;
    let row = record(tx, saga_id, false).await?;
    let (order_id, status) = match &row {
        Some(Record {
            kind,
            status,
            order_id: Some(order_id),
            ..
        }) if kind == "refund" && (status == "reserved" || status == "confirmed") => {
            (*order_id, status.as_str())
        }
        Some(row) => {
            return Err(Failure::Poison(format!(
                "ConfirmRefund: the {} of saga {saga_id} is {}; only a reserved refund can be confirmed",
                row.kind, row.status
            )));
        }
        None => {
            return Err(Failure::Poison(format!(
                "ConfirmRefund: saga {saga_id} reserved no refund"
            )));
        }
    };
    if status == "reserved" {
        lock_order_by_id(tx, order_id).await?;
        let now = record(tx, saga_id, true).await?.map(|row| row.status);
        match now.as_deref() {
            Some("reserved") => {
                set_status(tx, saga_id, "confirmed").await?;
                count("confirm_refund", "confirmed");
            }
            Some("confirmed") => {}
            other => {
                return Err(Failure::Poison(format!(
                    "ConfirmRefund: the refund of saga {saga_id} is {}; only a reserved refund can be confirmed",
                    other.unwrap_or("gone")
                )));
            }
        }
    }
    Ok(RefundConfirmed { saga_id, order_id })
}
