//! Typed views over `SagaData`: the saga input and the replies that completed
//! earlier steps, as the contract types they were decoded from.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use sagaflow_events::messages::PaymentRefundIssued;
use sagaflow_saga_engine::{BuildError, SagaData};
use uuid::Uuid;

use crate::names::REFUND_PAYMENT;

/// The saga input (the `Initiate*` command that started it), typed.
pub fn input<T: DeserializeOwned>(data: &SagaData) -> Result<T, BuildError> {
    T::deserialize(&data.input).map_err(|e| BuildError::InvalidInput(e.to_string()))
}

/// The completing reply of `step`, typed.
pub fn result<T: DeserializeOwned>(data: &SagaData, step: &str) -> Result<T, BuildError> {
    let value = data
        .results
        .get(step)
        .ok_or_else(|| BuildError::MissingResult(step.to_owned()))?;
    T::deserialize(value).map_err(|e| BuildError::InvalidResult {
        step: step.to_owned(),
        reason: e.to_string(),
    })
}

/// A contract message as the payload the driver encodes.
pub fn payload<T: Serialize>(message: &T) -> Result<Value, BuildError> {
    serde_json::to_value(message).map_err(|e| BuildError::InvalidInput(e.to_string()))
}

/// The result of both sagas: the provider's refund, once `refund_payment` completed.
pub fn refund_id(data: &SagaData) -> Option<Uuid> {
    result::<PaymentRefundIssued>(data, REFUND_PAYMENT)
        .ok()
        .map(|issued| issued.refund_id)
}
