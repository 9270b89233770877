//! The data a saga's commands are built from, its typed readers
//! ([`SagaData::input_as`], [`SagaData::result_as`]), and [`payload`], which
//! turns a typed command into the JSON payload a build function returns.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::BuildError;

/// The saga input plus the completing reply payload of every completed step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SagaData {
    pub saga_id: Uuid,
    pub input: Value,
    /// Step name -> payload of the reply that completed it.
    pub results: BTreeMap<String, Value>,
}

impl SagaData {
    /// The saga input as `T` (a definition's input type or the `Initiate*` command
    /// that started it).
    pub fn input_as<T: DeserializeOwned>(&self) -> Result<T, BuildError> {
        T::deserialize(&self.input).map_err(|e| BuildError::InvalidInput(e.to_string()))
    }

    /// The payload of the reply that completed `step`, as `T`.
    pub fn result_as<T: DeserializeOwned>(&self, step: &str) -> Result<T, BuildError> {
        let value = self
            .results
            .get(step)
            .ok_or_else(|| BuildError::MissingResult(step.to_owned()))?;
        T::deserialize(value).map_err(|e| BuildError::InvalidResult {
            step: step.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// A typed command (a contract message) as the JSON payload a
/// [`CommandSpec::build`](crate::CommandSpec::build) returns; the driver
/// encodes that JSON with the command's schema.
pub fn payload<T: Serialize>(command: &T) -> Result<Value, BuildError> {
    serde_json::to_value(command).map_err(|e| BuildError::Payload(e.to_string()))
}
