//! Between contract types and `SagaData`: [`payload`] turns a contract message
//! into the payload the driver encodes, [`refund_id`] reads both sagas' result.
//! The input and step replies are read with `SagaData::input_as` and
//! `SagaData::result_as` as the contract types they were decoded from.

use serde::Serialize;
use serde_json::Value;

use sagaflow_events::messages::PaymentRefundIssued;
use sagaflow_saga_engine::{BuildError, SagaData};
use uuid::Uuid;

use crate::names::REFUND_PAYMENT;

/// A contract message as the payload the driver encodes.
pub fn payload<T: Serialize>(message: &T) -> Result<Value, BuildError> {
    serde_json::to_value(message).map_err(|e| BuildError::InvalidInput(e.to_string()))
}

/// The result of both sagas: the provider's refund, once `refund_payment` completed.
pub fn refund_id(data: &SagaData) -> Option<Uuid> {
    data.result_as::<PaymentRefundIssued>(REFUND_PAYMENT)
        .ok()
        .map(|issued| issued.refund_id)
}
