//! The product catalogue (`catalog.events`): the catalogue service publishes the
//! whole product on every change; pricing, the gateway and the planner keep
//! their own read models from it.

use serde::{Deserialize, Serialize};

/// A unit price in one currency (`io.sagaflow.catalog.ProductPrice`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPrice {
    /// ISO 4217 code.
    pub currency: String,
    /// Unit price in minor units.
    pub amount_minor: i64,
}

/// A product was created or changed; the latest version per SKU is its state.
/// Topic: `catalog.events`, key: the SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductChanged {
    pub sku: String,
    pub name: String,
    pub description: String,
    /// An inactive product cannot be bought.
    pub active: bool,
    pub prices: Vec<ProductPrice>,
    /// Increases with every change of the SKU; readers keep the highest.
    pub version: i64,
    pub at_ms: i64,
}
