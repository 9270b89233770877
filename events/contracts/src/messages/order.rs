//! Orders (`order.commands` / `order.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CheckoutItem, uuid_serde};

/// Persist the order. Topic: `order.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrder {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub customer_id: String,
    pub items: Vec<CheckoutItem>,
    pub total_minor: i64,
    pub currency: String,
    #[serde(with = "uuid_serde::id")]
    pub payment_id: Uuid,
}

/// Compensation: cancel the saga's order. Topic: `order.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOrder {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// The order exists. Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCreated {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
}

/// The order could not be created. Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCreationFailed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// The saga's order was cancelled. Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
}
