//! [`StartsSaga`]: the commands on `orchestrator.commands` that start a saga, and
//! the id each one gives its saga.
//!
//! A producer outside the gateway (another Rust service, the planner) starts a
//! saga by publishing one of these, keyed by and headed with that id; the
//! orchestrator starts the saga under it, so a redelivered start is the same saga.
//! `sagaflow_bus::Outgoing::start` builds the whole message.

use uuid::Uuid;

use crate::Contract;
use crate::messages::{
    InitiateCheckout, InitiateGeneration, InitiateOrderCancellation, InitiateRefund,
};

/// A command that starts a saga whose id it carries.
pub trait StartsSaga: Contract {
    /// The id the saga will have (the message's key and `saga-id` header).
    fn saga_id(&self) -> Uuid;
}

impl StartsSaga for InitiateCheckout {
    fn saga_id(&self) -> Uuid {
        self.checkout_id
    }
}

impl StartsSaga for InitiateGeneration {
    fn saga_id(&self) -> Uuid {
        self.generation_id
    }
}

impl StartsSaga for InitiateOrderCancellation {
    fn saga_id(&self) -> Uuid {
        self.cancellation_id
    }
}

impl StartsSaga for InitiateRefund {
    fn saga_id(&self) -> Uuid {
        self.refund_id
    }
}
