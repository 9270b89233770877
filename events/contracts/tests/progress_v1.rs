//! `SagaProgressed` v1 (one message per log entry, the entry as JSON `detail`)
//! written by an orchestrator from before v2 still reads: it decodes with the v2
//! reader and lifts into one typed entry, its result taken from the reply it
//! carried.

use apache_avro::types::Value;
use sagaflow_events::messages::{ProgressKind, SagaProgressed, SagaResult, SagaStatus, StepPhase};
use sagaflow_events::{Contract, codec, decode, registry};
use uuid::Uuid;

/// Bytes as a v1 orchestrator wrote them.
fn v1_bytes(
    saga_id: Uuid,
    seq: i64,
    kind: &str,
    step: Option<&str>,
    status: &str,
    detail: &str,
) -> Vec<u8> {
    let v1 = registry::builtin()
        .version(SagaProgressed::MESSAGE_TYPE, 1)
        .expect("v1 registered");
    let step = match step {
        Some(step) => Value::Union(1, Box::new(Value::String(step.into()))),
        None => Value::Union(0, Box::new(Value::Null)),
    };
    let value = Value::Record(vec![
        ("saga_id".into(), Value::Uuid(saga_id)),
        ("definition".into(), Value::String("checkout".into())),
        ("definition_version".into(), Value::Int(1)),
        ("seq".into(), Value::Long(seq)),
        ("status".into(), Value::String(status.into())),
        ("step".into(), step),
        ("kind".into(), Value::String(kind.into())),
        ("detail".into(), Value::String(detail.into())),
        ("at_ms".into(), Value::TimestampMillis(1_767_225_600_000)),
    ]);
    let datum = apache_avro::to_avro_datum(&v1.schema, value).expect("valid v1 datum");
    codec::frame(v1.id, &datum)
}

#[test]
fn a_v1_step_completed_lifts_into_one_typed_entry_with_its_result() {
    let (saga, order) = (Uuid::now_v7(), Uuid::now_v7());
    let detail = format!(
        r#"{{"type":"step_completed","step":3,"step_name":"create_order","reply_type":"OrderCreated","reply":{{"saga_id":"{saga}","order_id":"{order}"}},"at":"2026-01-01T00:00:00Z"}}"#
    );
    let bytes = v1_bytes(
        saga,
        12,
        "step_completed",
        Some("create_order"),
        "running",
        &detail,
    );
    let message: SagaProgressed = decode(&bytes).expect("v1 decodes with the v2 reader");
    assert!(message.entries.is_empty());
    let entries = message.typed_entries();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.seq, 12);
    assert_eq!(entry.kind, ProgressKind::StepCompleted);
    assert_eq!(entry.step.as_deref(), Some("create_order"));
    assert_eq!(entry.message_type.as_deref(), Some("OrderCreated"));
    assert_eq!(entry.status, SagaStatus::Running);
    assert_eq!(entry.at_ms, 1_767_225_600_000);
    assert_eq!(
        message.result(),
        Some(SagaResult {
            name: "order_id".into(),
            id: order
        })
    );
}

#[test]
fn a_v1_failure_keeps_its_reason_phase_and_attempt() {
    let saga = Uuid::now_v7();
    let timed_out = r#"{"type":"step_timed_out","step":2,"step_name":"take_payment","phase":"compensation","attempt":3,"at":"2026-01-01T00:00:00Z"}"#;
    let message: SagaProgressed = decode(&v1_bytes(
        saga,
        7,
        "step_timed_out",
        Some("take_payment"),
        "compensating",
        timed_out,
    ))
    .expect("decodes");
    let entry = &message.typed_entries()[0];
    assert_eq!(entry.kind, ProgressKind::StepTimedOut);
    assert_eq!(entry.phase, Some(StepPhase::Compensation));
    assert_eq!(entry.attempt, Some(3));
    assert_eq!(entry.status, SagaStatus::Compensating);
    assert_eq!(message.result(), None);

    let failed = r#"{"type":"failed","reason":"the pivot timed out","at":"2026-01-01T00:00:00Z"}"#;
    let message: SagaProgressed =
        decode(&v1_bytes(saga, 8, "failed", None, "failed", failed)).expect("decodes");
    let entry = &message.typed_entries()[0];
    assert_eq!(entry.kind, ProgressKind::Failed);
    assert_eq!(entry.reason.as_deref(), Some("the pivot timed out"));
    assert!(entry.kind.is_failure());
    assert_eq!(message.status(), SagaStatus::Failed);
}

#[test]
fn kinds_and_statuses_unknown_to_this_reader_are_unknown_not_errors() {
    let saga = Uuid::now_v7();
    let message: SagaProgressed = decode(&v1_bytes(
        saga,
        1,
        "teleported",
        None,
        "levitating",
        "not json",
    ))
    .expect("decodes");
    let entry = &message.typed_entries()[0];
    assert_eq!(entry.kind, ProgressKind::Unknown);
    assert_eq!(entry.status, SagaStatus::Unknown);
    assert_eq!(entry.reason, None);
}
