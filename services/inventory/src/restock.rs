//! `RestockOrder` → `InventoryRestocked`: a placed order's stock goes back, once
//! (after-sale cancellation), in the inbox transaction.
//!
//! The checkout saga's reservation (`reservations`, status `reserved`) is marked
//! `released` and its items added back to `stock`; the restock saga's row in
//! `restocks` records what went back (statuses in `migrations/2_restocks.sql`).
//! Idempotent twice over:
//! - by the restock saga: its row is claimed first (`INSERT ... ON CONFLICT DO
//!   NOTHING`); a redelivery finds it and replies the same items, restocking nothing;
//! - by the reservation: it is locked (`FOR UPDATE`) and only a `reserved` one goes
//!   back, so another restock saga for the same checkout (or the checkout's own
//!   late `ReleaseInventory`) finds it `released` and gives nothing back.
//!
//! An unknown checkout, or a reservation already released or refused, replies with
//! empty items: nothing to restock is an answer, not a failure.

use sagaflow_bus::Failure;
use sagaflow_events::messages::{InventoryRestocked, RestockOrder, StockItem};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::handler::give_back;

/// Restocks the checkout's reservation once, and replies what went back.
pub(crate) async fn restock(
    tx: &mut PgConnection,
    command: &RestockOrder,
) -> Result<InventoryRestocked, Failure> {
    let saga_id = command.saga_id;
    // Claim the restock saga. A concurrent delivery of the same saga waits here on
    // the primary key until this transaction ends, then sees our row.
    let claimed: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO restocks (saga_id, checkout_saga_id, reason) VALUES ($1, $2, $3)
         ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
    )
    .bind(saga_id)
    .bind(command.checkout_saga_id)
    .bind(&command.reason)
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        let Json(items): Json<Vec<StockItem>> =
            sqlx::query_scalar("SELECT items FROM restocks WHERE saga_id = $1")
                .bind(saga_id)
                .fetch_one(&mut *tx)
                .await?;
        return Ok(InventoryRestocked { saga_id, items });
    }

    let reason = format!("restocked by saga {saga_id}: {}", command.reason);
    let Some(items) = give_back(tx, command.checkout_saga_id, &reason).await? else {
        // Unknown, refused, or released already: nothing goes back.
        count("nothing");
        return Ok(InventoryRestocked {
            saga_id,
            items: Vec::new(),
        });
    };
    sqlx::query("UPDATE restocks SET items = $2 WHERE saga_id = $1")
        .bind(saga_id)
        .bind(Json(&items))
        .execute(&mut *tx)
        .await?;
    count("restocked");
    Ok(InventoryRestocked { saga_id, items })
}

fn count(outcome: &'static str) {
    metrics::counter!("sagaflow_inventory_restocks_total", "outcome" => outcome).increment(1);
}
