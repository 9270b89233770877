//! Between contract types and `SagaData`: [`payload`] turns a contract message
//! into the payload the driver encodes, [`refund_id`] reads both sagas' result.
//! The input and step replies are read with `SagaData::input_as` and
//! `SagaData::result_as` as the contract types they were decoded from.

use sagaflow_events::messages::PaymentRefundIssued;
use sagaflow_saga_engine::SagaData;
use uuid::Uuid;

use crate::names::REFUND_PAYMENT;

/// A contract message as the payload the driver encodes (the engine's helper,
/// shared by every definition crate).
pub use sagaflow_saga_engine::payload;

/// The result of both sagas: the provider's refund, once `refund_payment` completed.
pub fn refund_id(data: &SagaData) -> Option<Uuid> {
    data.result_as::<PaymentRefundIssued>(REFUND_PAYMENT)
        .ok()
        .map(|issued| issued.refund_id)
}
