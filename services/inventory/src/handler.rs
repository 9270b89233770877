//! The `inventory.commands` handler: one SQL path per command, in the inbox
//! transaction. `ReserveInventory` and `ReleaseInventory` (the checkout saga) here;
//! `RestockOrder` (after-sale) in [`crate::restock`]; anything else is poison.

use std::collections::BTreeMap;

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    InventoryReleased, InventoryReservationFailed, InventoryReserved, ReleaseInventory,
    ReserveInventory, RestockOrder, StockItem,
};
use sqlx::types::Json;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::config::Settings;
use crate::restock::restock;

/// Reason given to a Reserve that arrives after its saga released the reservation.
pub const CANCELLED: &str = "reservation cancelled";

/// Handles `ReserveInventory`, `ReleaseInventory` and `RestockOrder`.
#[derive(Debug, Clone, Default)]
pub struct InventoryHandler {
    pub settings: Settings,
}

impl InventoryHandler {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }
}

impl Handler for InventoryHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let reply = match incoming.message_type() {
            ReserveInventory::MESSAGE_TYPE => {
                let command: ReserveInventory = incoming.decode()?;
                match reserve(tx, &command).await? {
                    Ok(reserved) => Outgoing::caused_by(&incoming.envelope, &reserved)?,
                    Err(failed) => Outgoing::caused_by(&incoming.envelope, &failed)?,
                }
            }
            ReleaseInventory::MESSAGE_TYPE => {
                let command: ReleaseInventory = incoming.decode()?;
                let released = release(tx, &command).await?;
                Outgoing::caused_by(&incoming.envelope, &released)?
            }
            RestockOrder::MESSAGE_TYPE => {
                let command: RestockOrder = incoming.decode()?;
                let restocked = restock(tx, &command).await?;
                Outgoing::caused_by(&incoming.envelope, &restocked)?
            }
            other => {
                return Err(Failure::Poison(format!(
                    "inventory does not handle {other}"
                )));
            }
        };
        Ok(vec![reply])
    }
}

/// Quantities per SKU, in SKU order (so concurrent reservations lock stock rows in
/// the same order and cannot deadlock), or the first bad item.
fn aggregate(items: &[StockItem]) -> Result<BTreeMap<&str, i32>, (String, Option<String>)> {
    if items.is_empty() {
        return Err(("no items to reserve".to_owned(), None));
    }
    let mut totals: BTreeMap<&str, i32> = BTreeMap::new();
    for item in items {
        if item.quantity <= 0 {
            return Err((
                format!("invalid quantity {} for sku {}", item.quantity, item.sku),
                Some(item.sku.clone()),
            ));
        }
        let total = totals.entry(item.sku.as_str()).or_insert(0);
        *total = total.checked_add(item.quantity).ok_or_else(|| {
            (
                format!("quantity too large for sku {}", item.sku),
                Some(item.sku.clone()),
            )
        })?;
    }
    Ok(totals)
}

type ReserveOutcome = Result<InventoryReserved, InventoryReservationFailed>;

async fn reserve(
    tx: &mut PgConnection,
    command: &ReserveInventory,
) -> Result<ReserveOutcome, Failure> {
    let saga_id = command.saga_id;
    let failed = |reason: String, sku: Option<String>| InventoryReservationFailed {
        saga_id,
        reason,
        sku,
    };

    // Claim the saga. A concurrent Reserve for the same saga waits here on the
    // primary key until this transaction ends, then sees our row.
    let claimed: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO reservations (saga_id, status) VALUES ($1, 'failed')
         ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
    )
    .bind(saga_id)
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        let (status, reservation_id, reason, sku): (String, Option<Uuid>, Option<String>, Option<String>) =
            sqlx::query_as(
                "SELECT status, reservation_id, reason, failed_sku FROM reservations WHERE saga_id = $1",
            )
            .bind(saga_id)
            .fetch_one(&mut *tx)
            .await?;
        return Ok(match (status.as_str(), reservation_id) {
            ("reserved", Some(reservation_id)) => Ok(InventoryReserved {
                saga_id,
                reservation_id,
            }),
            ("released", _) => Err(failed(CANCELLED.to_owned(), None)),
            _ => Err(failed(
                reason.unwrap_or_else(|| "reservation failed".to_owned()),
                sku,
            )),
        });
    }

    let totals = match aggregate(&command.items) {
        Ok(totals) => totals,
        Err((reason, sku)) => return record_failure(tx, failed(reason, sku)).await,
    };
    if let Err((reason, sku)) = take_stock(tx, &totals).await? {
        return record_failure(tx, failed(reason, Some(sku))).await;
    }
    let reserved = InventoryReserved {
        saga_id,
        reservation_id: Uuid::now_v7(),
    };
    let items: Vec<StockItem> = totals
        .into_iter()
        .map(|(sku, quantity)| StockItem {
            sku: sku.to_owned(),
            quantity,
        })
        .collect();
    sqlx::query(
        "UPDATE reservations SET status = 'reserved', items = $2, reservation_id = $3, updated_at = now()
         WHERE saga_id = $1",
    )
    .bind(saga_id)
    .bind(Json(items))
    .bind(reserved.reservation_id)
    .execute(&mut *tx)
    .await?;
    metrics::counter!("sagaflow_inventory_reservations_total", "outcome" => "reserved")
        .increment(1);
    Ok(Ok(reserved))
}

/// Stores the refusal on the saga's row (so a repeated Reserve gets the same reply).
async fn record_failure(
    tx: &mut PgConnection,
    failure: InventoryReservationFailed,
) -> Result<ReserveOutcome, Failure> {
    sqlx::query(
        "UPDATE reservations SET status = 'failed', reason = $2, failed_sku = $3, updated_at = now()
         WHERE saga_id = $1",
    )
    .bind(failure.saga_id)
    .bind(&failure.reason)
    .bind(&failure.sku)
    .execute(&mut *tx)
    .await?;
    metrics::counter!("sagaflow_inventory_reservations_total", "outcome" => "failed").increment(1);
    Ok(Err(failure))
}

/// Decrements every SKU inside a savepoint; if one is short, the decrements made so
/// far are rolled back and the short SKU is returned with the reason.
async fn take_stock(
    tx: &mut PgConnection,
    totals: &BTreeMap<&str, i32>,
) -> Result<Result<(), (String, String)>, Failure> {
    let mut savepoint = tx.begin().await?;
    for (sku, quantity) in totals {
        let taken = sqlx::query(
            "UPDATE stock SET available = available - $2, updated_at = now()
             WHERE sku = $1 AND available >= $2",
        )
        .bind(sku)
        .bind(quantity)
        .execute(&mut *savepoint)
        .await?
        .rows_affected();
        if taken == 1 {
            continue;
        }
        let available: Option<i32> =
            sqlx::query_scalar("SELECT available FROM stock WHERE sku = $1")
                .bind(sku)
                .fetch_optional(&mut *savepoint)
                .await?;
        savepoint.rollback().await?;
        let reason = match available {
            None => format!("unknown sku {sku}"),
            Some(available) => {
                format!(
                    "insufficient stock for sku {sku}: requested {quantity}, available {available}"
                )
            }
        };
        return Ok(Err((reason, (*sku).to_owned())));
    }
    savepoint.commit().await?;
    Ok(Ok(()))
}

async fn release(
    tx: &mut PgConnection,
    command: &ReleaseInventory,
) -> Result<InventoryReleased, Failure> {
    let saga_id = command.saga_id;
    let reply = InventoryReleased { saga_id };
    // Nothing known for this saga: leave a tombstone so a late Reserve is refused.
    let tombstone: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO reservations (saga_id, status, reason) VALUES ($1, 'released', $2)
         ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
    )
    .bind(saga_id)
    .bind(&command.reason)
    .fetch_optional(&mut *tx)
    .await?;
    if tombstone.is_some() {
        metrics::counter!("sagaflow_inventory_releases_total", "outcome" => "tombstone")
            .increment(1);
        return Ok(reply);
    }
    if give_back(tx, saga_id, &command.reason).await?.is_none() {
        // Already released, or refused (nothing was taken): nothing to give back.
        return Ok(reply);
    }
    metrics::counter!("sagaflow_inventory_releases_total", "outcome" => "released").increment(1);
    Ok(reply)
}

/// Gives the stock of the reservation of saga `reservation` back, once: locks its
/// row (`FOR UPDATE`), and only when it is `reserved` adds its items back to
/// `stock` and marks it `released` with `reason`. Returns the items that went
/// back, or `None` when there is no such reservation or it is not `reserved`
/// (released already, or refused: nothing was taken). Used by `ReleaseInventory`
/// here and by `RestockOrder` ([`crate::restock`]).
pub(crate) async fn give_back(
    tx: &mut PgConnection,
    reservation: Uuid,
    reason: &str,
) -> Result<Option<Vec<StockItem>>, sqlx::Error> {
    let row: Option<(String, Json<Vec<StockItem>>)> =
        sqlx::query_as("SELECT status, items FROM reservations WHERE saga_id = $1 FOR UPDATE")
            .bind(reservation)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((status, Json(items))) = row else {
        return Ok(None);
    };
    if status != "reserved" {
        return Ok(None);
    }
    // `items` are stored in SKU order: the same lock order as reservations.
    for item in &items {
        sqlx::query(
            "UPDATE stock SET available = available + $2, updated_at = now() WHERE sku = $1",
        )
        .bind(&item.sku)
        .bind(item.quantity)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE reservations SET status = 'released', reason = $2, updated_at = now()
         WHERE saga_id = $1",
    )
    .bind(reservation)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    Ok(Some(items))
}
