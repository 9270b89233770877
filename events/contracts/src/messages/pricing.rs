//! Order pricing (`pricing.commands` / `pricing.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CheckoutItem, OrderLine, uuid_serde};

/// Compute subtotal, discount, tax and total. Topic: `pricing.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceOrder {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub items: Vec<OrderLine>,
    pub currency: String,
    #[serde(default)]
    pub discount_code: Option<String>,
    /// ISO 3166-1 alpha-2 code of the shipping address; selects the tax rate.
    #[serde(default)]
    pub shipping_country: Option<String>,
}

/// The order's price breakdown, in minor units. Topic: `pricing.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPriced {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub currency: String,
    /// The priced lines, in the order of the request.
    #[serde(default)]
    pub lines: Vec<CheckoutItem>,
}

/// The order could not be priced. Topic: `pricing.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPricingFailed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}
