//! Orders (`order.commands` / `order.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CheckoutItem, OrderLine, uuid_serde};

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

/// Cancel a placed order (after-sale): refused unless it is the customer's and
/// still `created`. Topic: `order.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelPlacedOrder {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
    pub customer_id: String,
    pub reason: String,
}

/// The order is cancelled; what is left to refund and what to restock. Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedOrderCancelled {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
    /// The checkout saga that placed the order (its stock reservation).
    #[serde(with = "uuid_serde::id")]
    pub checkout_saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub payment_id: Uuid,
    /// What is left to refund: the total less earlier refunds.
    pub refund_minor: i64,
    pub currency: String,
    /// The order's lines, as priced at checkout.
    pub items: Vec<CheckoutItem>,
}

/// The order cannot be cancelled (unknown, not the customer's, already cancelled). Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancellationRefused {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
    pub reason: String,
}

/// Compensation: undo this saga's cancellation (the refund failed). Topic: `order.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReinstateOrder {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// The order is `created` again (or this saga never cancelled it). Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReinstated {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
}

/// Reserve a refund of some lines of a placed order, priced from the order. Topic: `order.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveRefund {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
    pub customer_id: String,
    /// SKU and quantity of each line to refund (`io.sagaflow.order.RefundLine`).
    pub lines: Vec<OrderLine>,
    pub reason: String,
}

/// The refund is reserved against the order. Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundReserved {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub payment_id: Uuid,
    /// The lines' quantities at the prices the order was placed at.
    pub amount_minor: i64,
    pub currency: String,
    /// The refunded lines with their order prices.
    pub items: Vec<CheckoutItem>,
}

/// The refund is refused (unknown order, not the customer's, cancelled, more than
/// was bought or is left). Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRefused {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
    pub reason: String,
}

/// Compensation: drop this saga's reserved refund (the payment refund failed). Topic: `order.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRefund {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// The saga's reserved refund is dropped (or there was none). Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundReleased {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
}

/// The payment refund went through: the saga's reserved refund is final. Topic: `order.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmRefund {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// The saga's refund is final. Topic: `order.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundConfirmed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
}
