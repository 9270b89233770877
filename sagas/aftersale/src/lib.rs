//! After-sale sagas: what a customer can do to an order once checkout placed it.
//!
//! - **`order_cancellation`** ([`cancellation`]): cancel the order (the order
//!   service refuses one that is not the customer's, already cancelled, or has a
//!   refund in flight), refund what is left of the payment (the pivot), return
//!   the checkout's stock, notify.
//! - **`order_refund`** ([`refund`]): reserve a refund of some lines against the
//!   order (priced by the order service from the order, never from the request),
//!   refund that amount (the pivot), confirm the refund on the order, notify.
//!
//! Both put the payment refund at the pivot. Before it, the order step is undone
//! by a compensation command (`ReinstateOrder`, `ReleaseRefund`) when the refund
//! is refused. A refund whose outcome is unknown (its attempts timed out) stops
//! the saga for an operator instead of undoing the order step
//! (`sagaflow-saga-engine`'s pivot rule), because the money may have moved;
//! after the pivot, restocking, confirming and notifying only retry forward.
//! Each participant is idempotent by the saga id, and the payment service's
//! provider key is derived from it, so a redelivery never refunds twice.
//!
//! Payloads are built from the contract types of `sagaflow-events` and replies
//! are read back into them, so a renamed field fails to compile here.
//!
//! # Layout
//! - [`names`]: definition, step and result names.
//! - [`cancellation`], [`refund`]: one definition each, with its payload builders.
//! - [`policy`]: timeouts and retry policies shared by both.
//! - [`data`]: typed views of the saga input and step results.
//! - [`notify`]: the customer's e-mail.
//! - [`versions`]: every version ever shipped of each ([`CANCELLATION_VERSIONS`],
//!   [`REFUND_VERSIONS`]), registered by the orchestrator.
//!
//! Diagrams: `docs/sagas/order_cancellation.mmd`, `docs/sagas/order_refund.mmd`
//! (regenerate with `UPDATE_DIAGRAMS=1 cargo test -p sagaflow-saga-aftersale`).

pub mod cancellation;
pub mod data;
pub mod names;
pub mod notify;
pub mod policy;
pub mod refund;
pub mod versions;

pub use versions::{CANCELLATION_VERSIONS, REFUND_VERSIONS};
