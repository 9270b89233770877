//! Carts (`cart.commands` / `cart.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::uuid_serde;

/// Empty the cart after a successful checkout. Topic: `cart.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearCart {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
    pub user_id: String,
}

/// The cart is empty. Topic: `cart.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartCleared {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
}
