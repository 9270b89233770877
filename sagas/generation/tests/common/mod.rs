#![allow(dead_code)]

use std::collections::BTreeMap;

use sagaflow_saga_engine::SagaData;
use serde_json::{Value, json};
use uuid::Uuid;

pub const SAGA: Uuid = Uuid::from_u128(0x1111);
pub const USER: &str = "user-42";
pub const DRAFT: &str = "00000000-0000-0000-0000-00000000d001";
/// The document id after the validator regenerated the draft.
pub const FINAL: &str = "00000000-0000-0000-0000-00000000d002";

pub fn sample_input() -> Value {
    json!({
        "generation_id": SAGA,
        "user_id": USER,
        "kind": "COVER_LETTER",
        "cv_text": "Ada Lovelace. Analyst, mathematician, first programmer.",
        "job_description": "We need a senior Rust engineer to build event-driven systems on Kafka.",
        "template": null,
        "token_budget": 4000
    })
}

pub fn job_analysed() -> Value {
    json!({
        "saga_id": SAGA,
        "skills": ["rust", "kafka"],
        "keywords": ["event-driven", "sagas"],
        "seniority": "senior"
    })
}

pub fn profile_compiled() -> Value {
    json!({
        "saga_id": SAGA,
        "match_percent": 87,
        "emphasis": ["analytical engine", "algorithms"],
        "profile_summary": "Mathematician who wrote the first program."
    })
}

pub fn document_generated() -> Value {
    json!({
        "saga_id": SAGA,
        "document_id": DRAFT,
        "provider": "offline",
        "tokens_used": 812,
        "offline": true,
        "content": "Dear hiring team, ..."
    })
}

pub fn document_validated() -> Value {
    json!({ "saga_id": SAGA, "document_id": FINAL, "keyword_coverage": 100, "ats_score": 91 })
}

pub fn document_exported() -> Value {
    json!({
        "saga_id": SAGA,
        "document_id": FINAL,
        "formats": ["markdown", "html", "pdf"],
        "size_bytes": 20480
    })
}

/// Saga data with the results of every step before the pivot.
pub fn sample_data() -> SagaData {
    let mut results = BTreeMap::new();
    results.insert("analyse_job".to_owned(), job_analysed());
    results.insert("compile_profile".to_owned(), profile_compiled());
    results.insert("generate".to_owned(), document_generated());
    results.insert("validate".to_owned(), document_validated());
    SagaData {
        saga_id: SAGA,
        input: sample_input(),
        results,
    }
}
