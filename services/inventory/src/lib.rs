//! # sagaflow-inventory — stock reservations for the checkout saga, restocks after sale
//!
//! Consumes `inventory.commands` and replies on `inventory.events`:
//! - `ReserveInventory` → `InventoryReserved` | `InventoryReservationFailed` (with
//!   the SKU that was short). Stock is taken with a conditional
//!   `UPDATE ... WHERE available >= quantity` (plus `CHECK (available >= 0)`), so it
//!   is never oversold; a multi-item reservation that fails part-way rolls back its
//!   partial decrements (a savepoint) but still commits the failure reply.
//! - `ReleaseInventory` → `InventoryReleased`: gives a reservation's stock back once.
//!   A Release for an unknown saga leaves a `released` tombstone, so a late Reserve
//!   for that saga is refused with [`handler::CANCELLED`] and takes nothing.
//!
//! - `RestockOrder` → `InventoryRestocked` (after-sale cancellation): the placed
//!   order's reservation (the checkout saga's, `reserved`) is marked `released` and
//!   its items go back to stock, once; the reply lists them. A second restock saga
//!   for the same checkout, or an unknown / already released reservation, replies
//!   with empty items. See [`restock`].
//!
//! All are idempotent by saga id (the `reservations` table for the checkout saga,
//! `restocks` for the restock saga): a repeated command gets the same reply and
//! changes nothing more.
//!
//! Metrics: `sagaflow_inventory_reservations_total{outcome}`,
//! `sagaflow_inventory_releases_total{outcome}`,
//! `sagaflow_inventory_restocks_total{outcome = restocked | nothing}`.
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `INVENTORY_*` environment).
//! - [`handler`]: [`InventoryHandler`], the `inventory.commands` handler (reserve,
//!   release).
//! - [`restock`]: `RestockOrder`, after-sale restocks.
//! - This file: [`NAME`], [`migrate`], [`run`], and the stock helpers [`set_stock`] /
//!   [`stock`].
//! - `migrations/`: the `stock` and `reservations` tables (`1_...`), the `restocks`
//!   table (`2_restocks.sql`).

pub mod config;
pub mod handler;
pub mod restock;

pub use config::Settings;
pub use handler::InventoryHandler;

use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Consumer group and inbox consumer name.
pub const NAME: &str = "inventory";
/// The topic this service consumes.
pub const COMMAND_TOPIC: &str = topics::INVENTORY_COMMANDS;

/// Applies the messaging tables and this service's own migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Runs the outbox relay and the command consumer until `shutdown`. The database
/// must be migrated ([`migrate`]) first.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let workers = usize::from(settings.workers);
    let consumer = InboxConsumer::new(
        NAME,
        &[COMMAND_TOPIC],
        pool,
        kafka,
        InventoryHandler::new(settings),
    )
    .with_workers(workers);
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    supervisor.participant(consumer)?;
    Ok(supervisor.run().await?)
}

/// Sets a SKU's available stock (inserting the SKU if new). A negative value is
/// refused by the table's check constraint.
pub async fn set_stock(pool: &PgPool, sku: &str, available: i32) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stock (sku, available) VALUES ($1, $2)
         ON CONFLICT (sku) DO UPDATE SET available = EXCLUDED.available, updated_at = now()",
    )
    .bind(sku)
    .bind(available)
    .execute(pool)
    .await?;
    Ok(())
}

/// A SKU's available stock, `None` if the SKU is unknown.
pub async fn stock(pool: &PgPool, sku: &str) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar("SELECT available FROM stock WHERE sku = $1")
        .bind(sku)
        .fetch_optional(pool)
        .await
}
