//! The checkout saga: reserve inventory, price the order, take payment,
//! create the order (the pivot), then clear the cart and notify the customer.
//!
//! A failure up to and including order creation compensates in reverse
//! (refund the payment, release the inventory; pricing needs no undo). A step
//! the saga gives up on without an answer (its retries time out, or an
//! operator aborts while it is in flight) is compensated too, first: a slow
//! payment service may have charged the card after all, so `CompensatePayment`
//! is sent before `ReleaseInventory`. The payment and inventory services treat
//! a compensation for something they never did as a no-op that leaves a
//! tombstone, so the late command is refused. After the order exists,
//! clearing the cart and notifying are only retried forward.
//! The definition is data for `sagaflow-saga-engine`; its diagram is committed
//! as `docs/sagas/checkout.mmd` (regenerate with
//! `UPDATE_DIAGRAMS=1 cargo test -p sagaflow-saga-checkout`).
//!
//! # Layout
//! - [`definition`](mod@definition): `definition()`, `definition_with_timeout()`, timing policies.
//! - [`versions`]: every version ever shipped ([`VERSIONS`]), all registered by the orchestrator.
//! - [`steps`]: step names and topics.
//! - [`build`]: one payload builder per command, each making the command's contract type.
//! - [`input`]: the typed view of the saga input (step results are read as contract types).

pub mod build;
pub mod definition;
pub mod input;
pub mod steps;
pub mod versions;

pub use definition::{definition, definition_with_timeout};
pub use versions::VERSIONS;
