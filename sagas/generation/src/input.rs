//! The saga input (from `InitiateGeneration`) and the step results the later
//! commands read, as typed views over `SagaData`.

use serde::Deserialize;
use uuid::Uuid;

use sagaflow_saga_engine::{BuildError, SagaData};

/// `{ generation_id, user_id, kind, cv_text, job_description, template,
/// token_budget }` (the `InitiateGeneration` JSON).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GenerationInput {
    pub generation_id: Uuid,
    pub user_id: String,
    /// `COVER_LETTER` or `RESUME`, passed through as is.
    pub kind: String,
    pub cv_text: String,
    pub job_description: String,
    #[serde(default)]
    pub template: Option<String>,
    pub token_budget: i64,
}

/// The part of `JobAnalysed` later steps use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Analysed {
    pub skills: Vec<String>,
    pub keywords: Vec<String>,
}

/// The part of `ProfileCompiled` later steps use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Profile {
    pub emphasis: Vec<String>,
    pub profile_summary: String,
}

/// The part of `DocumentGenerated` later steps use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Generated {
    pub document_id: Uuid,
    pub content: String,
}

/// The part of `DocumentValidated` later steps use. Its `document_id` may
/// differ from the generated one when the validator regenerated the draft.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Validated {
    pub document_id: Uuid,
}

/// The part of `DocumentExported` the saga reports as its result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Exported {
    pub document_id: Uuid,
}

/// The saga input, typed.
pub fn input(data: &SagaData) -> Result<GenerationInput, BuildError> {
    data.input_as()
}
