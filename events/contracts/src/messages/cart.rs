//! Carts (`cart.commands` / `cart.events`): `ClearCart` for the checkout saga,
//! `AddCartItem` / `RemoveCartItem` (a step and its compensation) for the planner.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{OrderLine, uuid_serde};

/// Take the lines bought out of the cart after a successful checkout; lines added
/// later stay. Topic: `cart.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearCart {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
    pub user_id: String,
    /// The lines bought: only these units leave the cart.
    #[serde(default)]
    pub items: Vec<OrderLine>,
}

/// The lines bought left the cart. Topic: `cart.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartCleared {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
}

/// Add units of a SKU to a user's cart (the cart is created for the user if new).
/// One addition per saga: a repeat gets the same reply. Topic: `cart.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddCartItem {
    /// Saga instance id; the idempotency key (one addition per saga).
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
    /// The cart's owner; a cart owned by someone else is refused.
    pub user_id: String,
    pub sku: String,
    /// Units to add to the line (at least 1).
    pub quantity: i32,
}

/// Compensation: take back the units `AddCartItem` added for this saga; with no
/// addition, leave a tombstone so a late `AddCartItem` is refused. Topic: `cart.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveCartItem {
    /// Saga instance id; the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
    pub user_id: String,
    pub sku: String,
    pub reason: String,
}

/// The units were added to the cart. Topic: `cart.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItemAdded {
    /// Saga instance id; the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
    pub sku: String,
    pub quantity_added: i32,
    /// The line's quantity after the addition.
    pub line_quantity: i32,
}

/// Nothing was added (invalid line, cart of another user, or removed first).
/// Topic: `cart.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItemAddFailed {
    /// Saga instance id; the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
    pub sku: String,
    pub reason: String,
}

/// The saga's addition is undone (or was never made and is now refused).
/// Topic: `cart.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItemRemoved {
    /// Saga instance id; the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
    pub sku: String,
    /// Units taken back (0 when nothing had been added).
    pub quantity_removed: i32,
}
