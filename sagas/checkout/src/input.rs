//! The saga input (from `InitiateCheckout`) and the step results the later
//! commands read, as typed views over `SagaData`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use sagaflow_saga_engine::{BuildError, SagaData};

/// `{ checkout_id, user_id, cart_id, items, currency, payment_method,
/// customer_email, discount_code }`.
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
}

/// One cart line; money in integer minor units.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Item {
    pub sku: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
}

/// The part of `OrderPriced` later steps use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Priced {
    pub total_minor: i64,
    pub currency: String,
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
    CheckoutInput::deserialize(&data.input).map_err(|e| BuildError::InvalidInput(e.to_string()))
}

/// The completing reply of `step`, typed.
pub fn result<T: DeserializeOwned>(data: &SagaData, step: &str) -> Result<T, BuildError> {
    let value = data
        .results
        .get(step)
        .ok_or_else(|| BuildError::MissingResult(step.to_owned()))?;
    T::deserialize(value).map_err(|e| BuildError::InvalidResult {
        step: step.to_owned(),
        reason: e.to_string(),
    })
}
