//! The saga input, read as the `InitiateGeneration` that started the saga.
//! Step results are read as the contract types they were decoded from
//! (`SagaData::result_as::<JobAnalysed>`).

use sagaflow_events::messages::InitiateGeneration;
use sagaflow_saga_engine::{BuildError, SagaData};

/// The saga input, typed.
pub fn input(data: &SagaData) -> Result<InitiateGeneration, BuildError> {
    data.input_as()
}
