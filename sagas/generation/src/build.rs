//! One build function per command: saga data in, the typed command of
//! `sagaflow_events::messages` (generation) out, as the JSON payload the
//! driver encodes.

use serde_json::Value;

use sagaflow_events::messages::{
    AnalyseJob, CompileProfile, DocumentGenerated, DocumentValidated, ExportDocument,
    GenerateDocument, JobAnalysed, ProfileCompiled, ReleaseTokenBudget, ValidateDocument,
    VoidDraft,
};
use sagaflow_saga_engine::{BuildError, SagaData, payload};

use crate::input::input;
use crate::steps;

/// `AnalyseJob {saga_id, job_description}`.
pub fn analyse_job(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    payload(&AnalyseJob {
        saga_id: data.saga_id,
        job_description: input.job_description,
    })
}

/// `CompileProfile {saga_id, user_id, cv_text, skills, keywords}`, with the
/// skills and keywords of `JobAnalysed`.
pub fn compile_profile(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    let analysed: JobAnalysed = data.result_as(steps::ANALYSE_JOB)?;
    payload(&CompileProfile {
        saga_id: data.saga_id,
        user_id: input.user_id,
        cv_text: input.cv_text,
        skills: analysed.skills,
        keywords: analysed.keywords,
    })
}

/// `GenerateDocument {saga_id, kind, profile_summary, emphasis, keywords,
/// template, token_budget, attempt: 1, feedback: null}`: the first draft
/// (a regeneration with feedback is the validator's business).
pub fn generate_document(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    let analysed: JobAnalysed = data.result_as(steps::ANALYSE_JOB)?;
    let profile: ProfileCompiled = data.result_as(steps::COMPILE_PROFILE)?;
    payload(&GenerateDocument {
        saga_id: data.saga_id,
        kind: input.kind,
        profile_summary: profile.profile_summary,
        emphasis: profile.emphasis,
        keywords: analysed.keywords,
        template: input.template,
        token_budget: input.token_budget,
        attempt: 1,
        feedback: None,
    })
}

/// `ReleaseTokenBudget {saga_id, user_id, tokens, reason}`: gives back the
/// whole budget of the saga (the service releases what is left of it).
pub fn release_token_budget(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    payload(&ReleaseTokenBudget {
        saga_id: data.saga_id,
        user_id: input.user_id,
        tokens: input.token_budget,
        reason: compensation_reason(),
    })
}

/// `ValidateDocument {saga_id, document_id, content, keywords}`: the draft of
/// `DocumentGenerated` against the keywords of `JobAnalysed`.
pub fn validate_document(data: &SagaData) -> Result<Value, BuildError> {
    let analysed: JobAnalysed = data.result_as(steps::ANALYSE_JOB)?;
    let generated: DocumentGenerated = data.result_as(steps::GENERATE)?;
    payload(&ValidateDocument {
        saga_id: data.saga_id,
        document_id: generated.document_id,
        content: generated.content,
        keywords: analysed.keywords,
    })
}

/// `VoidDraft {saga_id, document_id, reason}` with the draft of
/// `DocumentGenerated`. Only sent after `ValidateDocument` was, which needs
/// that result, so `document_id` is null only if the log was tampered with;
/// the compensation still goes out rather than failing to build.
pub fn void_draft(data: &SagaData) -> Result<Value, BuildError> {
    let document_id = data
        .result_as::<DocumentGenerated>(steps::GENERATE)
        .ok()
        .map(|g| g.document_id);
    payload(&VoidDraft {
        saga_id: data.saga_id,
        document_id,
        reason: compensation_reason(),
    })
}

/// `ExportDocument {saga_id, document_id, formats}` for the document of
/// `DocumentValidated` (after a regeneration it is not the generated one).
pub fn export_document(data: &SagaData) -> Result<Value, BuildError> {
    let validated: DocumentValidated = data.result_as(steps::VALIDATE)?;
    payload(&ExportDocument {
        saga_id: data.saga_id,
        document_id: validated.document_id,
        formats: steps::EXPORT_FORMATS.map(str::to_owned).to_vec(),
    })
}

fn compensation_reason() -> String {
    "generation saga compensating".to_owned()
}
