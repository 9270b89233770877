//! The checkout saga: reserve inventory, price the order, take payment,
//! create the order (the pivot), then clear the cart and notify the customer.
//!
//! A failure up to and including order creation compensates in reverse
//! (refund the payment, release the inventory; pricing needs no undo). After
//! the order exists, clearing the cart and notifying are only retried forward.
//! The definition is data for `sagaflow-saga-engine`; its diagram is committed
//! as `docs/sagas/checkout.mmd` (regenerate with
//! `UPDATE_DIAGRAMS=1 cargo test -p sagaflow-checkout`).
//!
//! # Layout
//! - [`definition`](mod@definition): `definition()`, `definition_with_timeout()`, timing policies.
//! - [`steps`]: step names and topics.
//! - [`build`]: one payload builder per command.
//! - [`input`]: typed views of the saga input and step results.

pub mod build;
pub mod definition;
pub mod input;
pub mod steps;

pub use definition::{definition, definition_with_timeout};
