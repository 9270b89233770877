//! Saga starts and cancellations (`orchestrator.commands`); what sagas report
//! back is in `progress.rs`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DocumentKind, OrderLine, uuid_serde};

/// Start a checkout saga; checkout_id becomes the saga id. Topic: `orchestrator.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitiateCheckout {
    /// Becomes the saga id.
    #[serde(with = "uuid_serde::id")]
    pub checkout_id: Uuid,
    pub user_id: String,
    #[serde(with = "uuid_serde::id")]
    pub cart_id: Uuid,
    /// What to buy; the pricing step prices each line from the catalogue.
    pub items: Vec<OrderLine>,
    /// ISO 4217 code.
    pub currency: String,
    pub payment_method: String,
    pub customer_email: String,
    #[serde(default)]
    pub discount_code: Option<String>,
    /// ISO 3166-1 alpha-2 code of the shipping address; selects the tax rate.
    #[serde(default)]
    pub shipping_country: Option<String>,
}

/// Start a document generation saga; generation_id becomes the saga id. Topic: `orchestrator.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitiateGeneration {
    /// Becomes the saga id.
    #[serde(with = "uuid_serde::id")]
    pub generation_id: Uuid,
    pub user_id: String,
    pub kind: DocumentKind,
    pub cv_text: String,
    pub job_description: String,
    #[serde(default)]
    pub template: Option<String>,
    /// Maximum LLM tokens the saga may spend.
    pub token_budget: i64,
}

/// Cancel a running saga for its owner: the orchestrator aborts it and compensates the completed steps. Topic: `orchestrator.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelSaga {
    /// The saga to cancel.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// Cancel a placed order for its owner: refund what is left to refund, return the
/// stock, notify; `cancellation_id` becomes the saga id. Topic: `orchestrator.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitiateOrderCancellation {
    /// Becomes the saga id.
    #[serde(with = "uuid_serde::id")]
    pub cancellation_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
    pub user_id: String,
    pub customer_email: String,
    pub reason: String,
}

/// Refund some lines of a placed order for its owner; `refund_id` becomes the saga
/// id. Topic: `orchestrator.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitiateRefund {
    /// Becomes the saga id.
    #[serde(with = "uuid_serde::id")]
    pub refund_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub order_id: Uuid,
    pub user_id: String,
    pub customer_email: String,
    /// The lines to refund: SKU and quantity; the order service prices them from
    /// the order (`io.sagaflow.orchestrator.RefundLine`).
    pub lines: Vec<OrderLine>,
    pub reason: String,
}
