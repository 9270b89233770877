//! The saga input (from `InitiateCheckout`), as a typed view over `SagaData`.
//! Step results are read as the contract types they were decoded from
//! (`SagaData::result_as::<OrderPriced>`).

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

/// The saga input, typed.
pub fn input(data: &SagaData) -> Result<CheckoutInput, BuildError> {
    data.input_as()
}
