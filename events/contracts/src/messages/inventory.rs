//! Stock reservation (`inventory.commands` / `inventory.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{StockItem, uuid_serde};

/// Reserve stock for every item. Topic: `inventory.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveInventory {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub items: Vec<StockItem>,
}

/// Compensation: release the saga's reservation. Topic: `inventory.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseInventory {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// Stock for every item is reserved. Topic: `inventory.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReserved {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub reservation_id: Uuid,
}

/// Stock could not be reserved (v2 adds `sku`). Topic: `inventory.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReservationFailed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
    /// The SKU that could not be reserved, if known (added in v2).
    #[serde(default)]
    pub sku: Option<String>,
}

/// The saga's reservation was released. Topic: `inventory.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReleased {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
}

/// Return a placed order's stock (after-sale cancellation): the checkout saga's
/// reservation goes back to stock, once. Topic: `inventory.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestockOrder {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    /// The checkout saga whose reservation returns to stock.
    #[serde(with = "uuid_serde::id")]
    pub checkout_saga_id: Uuid,
    pub reason: String,
}

/// The reservation is back in stock. Topic: `inventory.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryRestocked {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    /// What went back to stock (empty when nothing was reserved).
    pub items: Vec<StockItem>,
}
