//! One serde struct per message type, grouped by owning service, plus the
//! shared nested records and enums. Field names and types mirror the
//! current `.avsc` of each type; ids are [`uuid::Uuid`] (hyphenated strings
//! on the wire), money is `i64` minor units plus a `currency` code.
//!
//! Everything is re-exported here, so `sagaflow_events::messages::OrderPriced`
//! works whatever module defines it.

mod applications;
mod cart;
mod catalog;
mod common;
mod gateway;
mod generation;
mod inventory;
mod notification;
mod orchestrator;
mod order;
mod payment;
mod planner;
mod pricing;
mod progress;
pub mod uuid_serde;

pub use applications::*;
pub use cart::*;
pub use catalog::*;
pub use common::*;
pub use gateway::*;
pub use generation::*;
pub use inventory::*;
pub use notification::*;
pub use orchestrator::*;
pub use order::*;
pub use payment::*;
pub use planner::*;
pub use pricing::*;
pub use progress::*;
