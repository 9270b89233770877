use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use sagaflow_saga_engine::{Compensation, check, mermaid};
use sagaflow_saga_generation::definition::{LLM_STEP_TIMEOUT, STEP_TIMEOUT};
use sagaflow_saga_generation::{definition, definition_with_timeout};

#[test]
fn generation_definition_passes_check() {
    assert_eq!(check(&definition()), Ok(()));
    assert_eq!(
        check(&definition_with_timeout(Duration::from_millis(50))),
        Ok(())
    );
}

#[test]
fn generation_definition_shape() {
    let def = definition();
    assert_eq!((def.name, def.version), ("generation", 1));
    let names: Vec<_> = def.steps.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "analyse_job",
            "compile_profile",
            "generate",
            "validate",
            "export"
        ]
    );
    assert_eq!(def.pivot(), Some(4));
    assert!(matches!(
        def.steps[0].compensation,
        Compensation::NotNeeded { .. }
    ));
    assert!(matches!(
        def.steps[1].compensation,
        Compensation::NotNeeded { reason } if reason.contains("user's own data")
    ));
    let undo: Vec<_> = (0..5)
        .filter_map(|i| {
            def.compensation_of(i)
                .map(|(c, done)| (i, c.message_type, c.topic, done))
        })
        .collect();
    assert_eq!(
        undo,
        [
            (
                2,
                "ReleaseTokenBudget",
                "generation.commands",
                &["TokenBudgetReleased"][..]
            ),
            (3, "VoidDraft", "generation.commands", &["DraftVoided"][..]),
        ]
    );
    let wire: Vec<_> = def
        .steps
        .iter()
        .map(|s| {
            (
                s.command.message_type,
                s.command.topic,
                s.completes_on,
                s.fails_on,
            )
        })
        .collect();
    let empty: &[&str] = &[];
    assert_eq!(
        wire,
        [
            (
                "AnalyseJob",
                "generation.commands",
                &["JobAnalysed"][..],
                &["JobAnalysisFailed"][..]
            ),
            (
                "CompileProfile",
                "generation.commands",
                &["ProfileCompiled"][..],
                empty
            ),
            (
                "GenerateDocument",
                "generation.commands",
                &["DocumentGenerated"][..],
                &["GenerationFailed"][..]
            ),
            (
                "ValidateDocument",
                "generation.commands",
                &["DocumentValidated"][..],
                &["DocumentRejected"][..]
            ),
            (
                "ExportDocument",
                "generation.commands",
                &["DocumentExported"][..],
                &["ExportFailed"][..]
            ),
        ]
    );
}

#[test]
fn llm_steps_are_slow_and_retried_once() {
    let def = definition();
    let timing: Vec<_> = def
        .steps
        .iter()
        .map(|s| (s.name, s.timeout, s.retry.max_attempts))
        .collect();
    assert_eq!(
        timing,
        [
            ("analyse_job", STEP_TIMEOUT, 3),
            ("compile_profile", STEP_TIMEOUT, 3),
            ("generate", Duration::from_secs(120), 2),
            ("validate", LLM_STEP_TIMEOUT, 2),
            ("export", STEP_TIMEOUT, 3),
        ]
    );
    let fast = definition_with_timeout(Duration::from_millis(50));
    assert!(
        fast.steps
            .iter()
            .all(|s| s.timeout == Duration::from_millis(50))
    );
}

#[test]
fn every_wire_type_is_a_known_contract_on_the_right_topic() {
    for def in sagaflow_saga_generation::VERSIONS.build(None) {
        every_wire_type_is_known(&def);
    }
}

fn every_wire_type_is_known(def: &sagaflow_saga_engine::Definition) {
    for step in &def.steps {
        assert_eq!(
            sagaflow_events::topic_of(step.command.message_type),
            Some("generation.commands"),
            "{}",
            step.command.message_type
        );
        for reply in step.completes_on.iter().chain(step.fails_on) {
            assert_eq!(
                sagaflow_events::topic_of(reply),
                Some("generation.events"),
                "{reply}"
            );
        }
    }
    for i in 0..def.steps.len() {
        if let Some((command, done)) = def.compensation_of(i) {
            assert_eq!(
                sagaflow_events::topic_of(command.message_type),
                Some("generation.commands")
            );
            for reply in done {
                assert_eq!(sagaflow_events::topic_of(reply), Some("generation.events"));
            }
        }
    }
}

#[test]
fn committed_diagram_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/sagas/generation.mmd");
    let expected = mermaid(&definition());
    if std::env::var_os("UPDATE_DIAGRAMS").is_some() {
        std::fs::write(&path, &expected).expect("write diagram");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "{} is out of date with the generation definition; regenerate it with \
         `UPDATE_DIAGRAMS=1 cargo test -p sagaflow-saga-generation` and commit it.\n--- expected ---\n{expected}",
        path.display()
    );
}

#[test]
fn the_result_is_the_validated_draft_until_the_export_names_the_document() {
    use sagaflow_saga_generation::steps::{EXPORT, RESULT_DOCUMENT_ID, VALIDATE};
    let def = definition();
    let mut data = common::sample_data();
    let exported = uuid::Uuid::now_v7();
    let validated = uuid::Uuid::parse_str(common::FINAL).unwrap();
    assert_eq!(def.result_of(&data), Some((RESULT_DOCUMENT_ID, validated)));
    data.results.insert(
        EXPORT.to_owned(),
        serde_json::json!({ "saga_id": common::SAGA, "document_id": exported, "formats": [], "size_bytes": 1 }),
    );
    assert_eq!(def.result_of(&data), Some((RESULT_DOCUMENT_ID, exported)));
    data.results.remove(EXPORT);
    data.results.remove(VALIDATE);
    assert_eq!(def.result_of(&data), None);
    assert_eq!(def.user_of(&data).as_deref(), Some(common::USER));
}
