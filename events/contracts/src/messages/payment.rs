//! Payments and refunds (`payment.commands` / `payment.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::uuid_serde;

/// Charge the customer. Topic: `payment.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessPayment {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub customer_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub payment_method: String,
}

/// Compensation: refund the saga's payment. Topic: `payment.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompensatePayment {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// The customer was charged. Topic: `payment.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentProcessed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub payment_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
}

/// The charge was declined or failed. Topic: `payment.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFailed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// The saga's payment was refunded. Topic: `payment.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRefunded {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    /// Absent when nothing had been charged.
    #[serde(with = "uuid_serde::opt_id", default)]
    pub payment_id: Option<Uuid>,
    pub amount_minor: i64,
}

/// Refund part or all of a captured payment, after the sale. Topic: `payment.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundPayment {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub payment_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
}

/// The provider refunded the amount. Topic: `payment.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRefundIssued {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub payment_id: Uuid,
    /// The provider's refund.
    #[serde(with = "uuid_serde::id")]
    pub refund_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
}

/// The refund was refused (unknown payment, more than is left, provider refusal). Topic: `payment.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRefundFailed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}
