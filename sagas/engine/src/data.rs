//! The data a saga's commands are built from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The saga input plus the completing reply payload of every completed step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SagaData {
    pub saga_id: Uuid,
    pub input: Value,
    /// Step name -> payload of the reply that completed it.
    pub results: BTreeMap<String, Value>,
}
