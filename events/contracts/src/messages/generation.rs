//! AI cover-letter / resume pipeline steps (`generation.commands` / `generation.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DocumentKind, uuid_serde};

/// Extract skills, keywords and seniority from a job description. Topic: `generation.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyseJob {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub job_description: String,
}

/// Match the candidate's CV against the analysed job. Topic: `generation.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileProfile {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub user_id: String,
    pub cv_text: String,
    pub skills: Vec<String>,
    pub keywords: Vec<String>,
}

/// Generate (or regenerate, with feedback) a draft. Topic: `generation.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateDocument {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub kind: DocumentKind,
    pub profile_summary: String,
    pub emphasis: Vec<String>,
    pub keywords: Vec<String>,
    #[serde(default)]
    pub template: Option<String>,
    /// Tokens still available to this saga.
    pub token_budget: i64,
    /// 1 for the first draft, incremented on each bounded regeneration.
    pub attempt: i32,
    /// Validator feedback for a regeneration.
    #[serde(default)]
    pub feedback: Option<String>,
}

/// Check a draft for keyword coverage and ATS friendliness. Topic: `generation.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateDocument {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub document_id: Uuid,
    pub content: String,
    pub keywords: Vec<String>,
}

/// Render a validated draft to output formats. Topic: `generation.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportDocument {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub document_id: Uuid,
    /// e.g. pdf, docx, md.
    pub formats: Vec<String>,
}

/// Compensation: give the saga's unspent token reservation back. Topic: `generation.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseTokenBudget {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub user_id: String,
    pub tokens: i64,
    pub reason: String,
}

/// Compensation: discard the saga's draft. Topic: `generation.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidDraft {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::opt_id", default)]
    pub document_id: Option<Uuid>,
    pub reason: String,
}

/// Skills, keywords and seniority extracted from the job description. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobAnalysed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub skills: Vec<String>,
    pub keywords: Vec<String>,
    /// e.g. junior, mid, senior, lead.
    pub seniority: String,
}

/// The job description could not be analysed. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobAnalysisFailed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
}

/// How well the CV matches the job, and what to emphasise. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileCompiled {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    /// 0..=100.
    pub match_percent: i32,
    /// Strengths to emphasise.
    pub emphasis: Vec<String>,
    pub profile_summary: String,
}

/// A draft was generated. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentGenerated {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub document_id: Uuid,
    pub provider: String,
    pub tokens_used: i64,
    /// True when produced by the offline fallback generator.
    pub offline: bool,
    pub content: String,
}

/// No draft could be generated. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationFailed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub reason: String,
    pub tokens_used: i64,
}

/// The draft passed validation. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentValidated {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub document_id: Uuid,
    /// Percent of keywords present, 0..=100.
    pub keyword_coverage: i32,
    /// 0..=100.
    pub ats_score: i32,
}

/// The draft failed validation; `feedback` drives a bounded regeneration. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRejected {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub document_id: Uuid,
    pub reasons: Vec<String>,
    /// Guidance for the next attempt.
    pub feedback: String,
}

/// The draft was rendered to every requested format. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentExported {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub document_id: Uuid,
    pub formats: Vec<String>,
    /// Total size of all exported files.
    pub size_bytes: i64,
}

/// The draft could not be exported. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFailed {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub document_id: Uuid,
    pub reason: String,
}

/// The unspent token reservation was returned. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBudgetReleased {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub tokens_released: i64,
}

/// The draft was discarded. Topic: `generation.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftVoided {
    /// Saga instance id; with the step, the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::opt_id", default)]
    pub document_id: Option<Uuid>,
}

/// Delete everything the generation service keeps about a user. No reply. Topic: `generation.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseUserData {
    pub user_id: String,
    pub reason: String,
}
