//! The generation saga definition.

use std::time::Duration;

use sagaflow_events::Contract;
use sagaflow_events::messages::{
    AnalyseJob, CompileProfile, DocumentExported, DocumentGenerated, DocumentRejected,
    DocumentValidated, DraftVoided, ExportDocument, ExportFailed, GenerateDocument,
    GenerationFailed, JobAnalysed, JobAnalysisFailed, ProfileCompiled, ReleaseTokenBudget,
    TokenBudgetReleased, ValidateDocument, VoidDraft,
};
use sagaflow_saga_engine::{
    BuildError, CommandSpec, Compensation, Definition, ResultSpec, RetryPolicy, SagaData, Step,
};
use uuid::Uuid;

use crate::build;
use crate::input;
use crate::steps::*;

/// Per-attempt timeout of the quick steps (analyse, compile, export).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Per-attempt timeout of the LLM steps (generate; validate, which may
/// regenerate once).
pub const LLM_STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// Quick steps: 3 attempts, backoff 1 s, 2 s (capped at 30 s).
pub const STEP_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_backoff: Duration::from_secs(1),
    multiplier: 2,
    max_backoff: Duration::from_secs(30),
};

/// LLM steps: 2 attempts (each one may spend tokens), backoff 5 s.
pub const LLM_STEP_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    initial_backoff: Duration::from_secs(5),
    multiplier: 2,
    max_backoff: Duration::from_secs(30),
};

/// Compensations: 5 attempts, backoff 1 s, 2 s, 4 s, 8 s (capped at 60 s).
pub const COMPENSATION_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    initial_backoff: Duration::from_secs(1),
    multiplier: 2,
    max_backoff: Duration::from_secs(60),
};

/// `generation` v1 with the default timeouts (30 s; 120 s for the LLM steps).
pub fn definition() -> Definition {
    build_definition(STEP_TIMEOUT, LLM_STEP_TIMEOUT)
}

/// `generation` v1 with every step's timeout set to `step_timeout` (for tests).
pub fn definition_with_timeout(step_timeout: Duration) -> Definition {
    build_definition(step_timeout, step_timeout)
}

/// The command `T` of the contracts, on its contract's topic (`generation.commands`).
fn command<T: Contract>(
    build: fn(&SagaData) -> Result<serde_json::Value, BuildError>,
) -> CommandSpec {
    CommandSpec {
        message_type: T::MESSAGE_TYPE,
        topic: T::TOPIC,
        build,
    }
}

fn build_definition(quick: Duration, llm: Duration) -> Definition {
    let quick_step = |name, command, completes_on, fails_on, compensation| Step {
        name,
        command,
        completes_on,
        fails_on,
        compensation,
        timeout: quick,
        retry: STEP_RETRY,
    };
    let llm_step = |name, command, completes_on, fails_on, compensation| Step {
        name,
        command,
        completes_on,
        fails_on,
        compensation,
        timeout: llm,
        retry: LLM_STEP_RETRY,
    };
    Definition {
        name: NAME,
        version: 1,
        steps: vec![
            quick_step(
                ANALYSE_JOB,
                command::<AnalyseJob>(build::analyse_job),
                &[JobAnalysed::MESSAGE_TYPE],
                &[JobAnalysisFailed::MESSAGE_TYPE],
                Compensation::NotNeeded {
                    reason: "pure analysis of the job description",
                },
            ),
            quick_step(
                COMPILE_PROFILE,
                command::<CompileProfile>(build::compile_profile),
                &[ProfileCompiled::MESSAGE_TYPE],
                &[],
                Compensation::NotNeeded {
                    reason: "the profile is the user's own data, kept",
                },
            ),
            llm_step(
                GENERATE,
                command::<GenerateDocument>(build::generate_document),
                &[DocumentGenerated::MESSAGE_TYPE],
                &[GenerationFailed::MESSAGE_TYPE],
                Compensation::Command {
                    command: command::<ReleaseTokenBudget>(build::release_token_budget),
                    completes_on: &[TokenBudgetReleased::MESSAGE_TYPE],
                },
            ),
            llm_step(
                VALIDATE,
                command::<ValidateDocument>(build::validate_document),
                &[DocumentValidated::MESSAGE_TYPE],
                &[DocumentRejected::MESSAGE_TYPE],
                Compensation::Command {
                    command: command::<VoidDraft>(build::void_draft),
                    completes_on: &[DraftVoided::MESSAGE_TYPE],
                },
            ),
            quick_step(
                EXPORT,
                command::<ExportDocument>(build::export_document),
                &[DocumentExported::MESSAGE_TYPE],
                &[ExportFailed::MESSAGE_TYPE],
                Compensation::Pivot,
            ),
        ],
        compensation_retry: COMPENSATION_RETRY,
        result: Some(RESULT),
        user: Some(user),
    }
}

/// What a generation produces: the exported document, and until the export
/// completes the validated draft.
pub const RESULT: ResultSpec = ResultSpec {
    name: RESULT_DOCUMENT_ID,
    read: document_id,
};

fn document_id(data: &SagaData) -> Option<Uuid> {
    data.result_as::<DocumentExported>(EXPORT)
        .map(|exported| exported.document_id)
        .or_else(|_| {
            data.result_as::<DocumentValidated>(VALIDATE)
                .map(|v| v.document_id)
        })
        .ok()
}

fn user(data: &SagaData) -> Option<String> {
    input::input(data).ok().map(|input| input.user_id)
}
