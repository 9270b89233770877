use crate::common;

use common::*;
use sagaflow_saga_engine::{BuildError, Compensation, SagaData};
use sagaflow_saga_generation::{build, definition};
use serde_json::{Value, json};

/// The payload is what the contract of `message_type` accepts.
fn assert_encodes(message_type: &str, payload: &Value) {
    if let Err(err) = sagaflow_events::encode_json(message_type, payload) {
        panic!("{message_type} does not encode: {err}\n{payload}");
    }
}

#[test]
fn analyse_job_payload() {
    let p = build::analyse_job(&sample_data()).unwrap();
    assert_eq!(
        p,
        json!({
            "saga_id": SAGA,
            "job_description": "We need a senior Rust engineer to build event-driven systems on Kafka."
        })
    );
    assert_encodes("AnalyseJob", &p);
}

#[test]
fn compile_profile_uses_the_analysed_skills_and_keywords() {
    let p = build::compile_profile(&sample_data()).unwrap();
    assert_eq!(
        p,
        json!({
            "saga_id": SAGA,
            "user_id": USER,
            "cv_text": "Ada Lovelace. Analyst, mathematician, first programmer.",
            "skills": ["rust", "kafka"],
            "keywords": ["event-driven", "sagas"]
        })
    );
    assert_encodes("CompileProfile", &p);
}

#[test]
fn generate_document_payload_is_the_first_attempt() {
    let p = build::generate_document(&sample_data()).unwrap();
    assert_eq!(
        p,
        json!({
            "saga_id": SAGA,
            "kind": "COVER_LETTER",
            "profile_summary": "Mathematician who wrote the first program.",
            "emphasis": ["analytical engine", "algorithms"],
            "keywords": ["event-driven", "sagas"],
            "template": null,
            "token_budget": 4000,
            "attempt": 1,
            "feedback": null
        })
    );
    assert_encodes("GenerateDocument", &p);
    let mut data = sample_data();
    data.input["kind"] = json!("RESUME");
    data.input["template"] = json!("# {{name}}");
    let p = build::generate_document(&data).unwrap();
    assert_eq!(
        (&p["kind"], &p["template"]),
        (&json!("RESUME"), &json!("# {{name}}"))
    );
    assert_encodes("GenerateDocument", &p);
}

#[test]
fn release_token_budget_gives_back_the_whole_budget() {
    let p = build::release_token_budget(&sample_data()).unwrap();
    assert_eq!(
        p,
        json!({
            "saga_id": SAGA,
            "user_id": USER,
            "tokens": 4000,
            "reason": "generation saga compensating"
        })
    );
    assert_encodes("ReleaseTokenBudget", &p);
}

#[test]
fn validate_document_checks_the_generated_draft() {
    let p = build::validate_document(&sample_data()).unwrap();
    assert_eq!(
        p,
        json!({
            "saga_id": SAGA,
            "document_id": DRAFT,
            "content": "Dear hiring team, ...",
            "keywords": ["event-driven", "sagas"]
        })
    );
    assert_encodes("ValidateDocument", &p);
}

#[test]
fn void_draft_names_the_generated_draft() {
    let p = build::void_draft(&sample_data()).unwrap();
    assert_eq!(
        p,
        json!({ "saga_id": SAGA, "document_id": DRAFT, "reason": "generation saga compensating" })
    );
    assert_encodes("VoidDraft", &p);
    let mut data = sample_data();
    data.results.remove("generate");
    let p = build::void_draft(&data).unwrap();
    assert_eq!(p["document_id"], Value::Null);
    assert_encodes("VoidDraft", &p);
}

#[test]
fn export_document_exports_the_validated_document() {
    let p = build::export_document(&sample_data()).unwrap();
    assert_eq!(
        p,
        json!({ "saga_id": SAGA, "document_id": FINAL, "formats": ["markdown", "html", "pdf", "pdf-ats", "pdf-modern"] })
    );
    assert_ne!(FINAL, DRAFT, "the validated document replaces the draft");
    assert_encodes("ExportDocument", &p);
}

#[test]
fn definition_uses_these_builders() {
    let def = definition();
    let data = sample_data();
    let expected = [
        build::analyse_job(&data),
        build::compile_profile(&data),
        build::generate_document(&data),
        build::validate_document(&data),
        build::export_document(&data),
    ];
    for (step, want) in def.steps.iter().zip(expected) {
        assert_eq!((step.command.build)(&data), want, "{}", step.name);
    }
    let compensation = |i: usize| match &def.steps[i].compensation {
        Compensation::Command { command, .. } => (command.build)(&data),
        other => panic!("step {i} is not compensable: {other:?}"),
    };
    assert_eq!(compensation(2), build::release_token_budget(&data));
    assert_eq!(compensation(3), build::void_draft(&data));
}

#[test]
fn missing_or_bad_data_is_a_build_error() {
    let without = |step: &str| {
        let mut data = sample_data();
        data.results.remove(step);
        data
    };
    assert_eq!(
        build::compile_profile(&without("analyse_job")),
        Err(BuildError::MissingResult("analyse_job".into()))
    );
    assert_eq!(
        build::generate_document(&without("compile_profile")),
        Err(BuildError::MissingResult("compile_profile".into()))
    );
    assert_eq!(
        build::validate_document(&without("generate")),
        Err(BuildError::MissingResult("generate".into()))
    );
    assert_eq!(
        build::export_document(&without("validate")),
        Err(BuildError::MissingResult("validate".into()))
    );
    let mut data = sample_data();
    data.input["token_budget"] = json!("lots");
    assert!(matches!(
        build::generate_document(&data),
        Err(BuildError::InvalidInput(_))
    ));
    let mut data: SagaData = sample_data();
    data.results
        .insert("validate".into(), json!({ "document_id": "not-a-uuid" }));
    assert!(matches!(
        build::export_document(&data),
        Err(BuildError::InvalidResult { .. })
    ));
}
