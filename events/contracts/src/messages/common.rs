//! Records and enums shared by several messages. Each Avro schema defines
//! its own copy inline (in its own namespace); serde only sees fields.

use serde::{Deserialize, Serialize};

/// A line to buy: SKU and quantity, no price (`io.sagaflow.{orchestrator,pricing}.CheckoutItem`
/// since v2). Prices come from the pricing service, never from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Stock keeping unit.
    pub sku: String,
    /// Number of units.
    pub quantity: i32,
}

/// A line with the unit price the pricing service took from the catalogue
/// (`io.sagaflow.pricing.PricedLine`, `io.sagaflow.order.CheckoutItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutItem {
    /// Stock keeping unit.
    pub sku: String,
    /// Number of units.
    pub quantity: i32,
    /// Unit price in minor units of the message's `currency`.
    pub unit_price_minor: i64,
}

/// A SKU and a quantity to reserve (`io.sagaflow.inventory.StockItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockItem {
    /// Stock keeping unit.
    pub sku: String,
    /// Number of units.
    pub quantity: i32,
}

/// Notification channel (`io.sagaflow.notification.Channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    /// E-mail.
    Email,
    /// Text message.
    Sms,
    /// Mobile push.
    Push,
}

/// Kind of generated document (`io.sagaflow.*.DocumentKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentKind {
    /// A cover letter for one job.
    CoverLetter,
    /// A resume tailored to one job.
    Resume,
    /// Likely interview questions for one job, from the ad and the CV, with talking
    /// points (schema v2 of `GenerateDocument` and `InitiateGeneration`).
    InterviewPrep,
}
