//! The saga input (from `InitiateCheckout`) and the step results the later
//! commands read, as typed views over `SagaData`.

use serde::Deserialize;
use uuid::Uuid;

use sagaflow_saga_engine::{BuildError, SagaData};

/// `{ checkout_id, user_id, cart_id, items, currency, payment_method,
/// customer_email, discount_code, shipping_country }` (`InitiateCheckout` v2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckoutInput {
    pub checkout_id: Uuid,
    pub user_id: String,
    pub cart_id: Uuid,
    pub items: Vec<Item>,
    pub currency: String,
    pub payment_method: String,
    pub customer_email: String,
    #[serde(default)]
    pub discount_code: Option<String>,
    /// ISO 3166-1 alpha-2; the pricing service picks the tax rate by it.
    #[serde(default)]
    pub shipping_country: Option<String>,
}

/// One line to buy. No price: the pricing step prices it from the catalogue (a
/// `unit_price_minor` left in an old input is ignored, never used).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Item {
    pub sku: String,
    pub quantity: u32,
}

/// The part of `OrderPriced` (v2) later steps use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Priced {
    pub total_minor: i64,
    pub currency: String,
    /// The lines with the unit prices the pricing service took from its table.
    #[serde(default)]
    pub lines: Vec<PricedLine>,
}

/// A line priced by the pricing service; money in integer minor units.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PricedLine {
    pub sku: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
}

/// The part of `PaymentProcessed` later steps use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Paid {
    pub payment_id: Uuid,
}

/// The part of `OrderCreated` later steps use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Created {
    pub order_id: Uuid,
}

/// The saga input, typed.
pub fn input(data: &SagaData) -> Result<CheckoutInput, BuildError> {
    data.input_as()
}
