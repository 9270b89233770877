//! The plan follows what it caused, through its consumer (the real inbox
//! transaction, messages crafted as the other services publish them): a child
//! generation saga's finish (`SagaFinished`; its progress is skipped) settles the
//! `generate` step, a failed attachment
//! compensates the generation (a `CancelSaga`, settled at once because the
//! generation had already finished), and step timers retry a silent participant.

use crate::common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{CV, JOB, Planner, TENANT, eventually, finished, incoming_as};
use sagaflow_events::messages::{DocumentAttachFailed, NotificationSent, SagaResult, SagaStatus};
use sagaflow_saga_generation::steps::NAME as GENERATION;
use serde_json::Value;
use uuid::Uuid;

fn id(value: &Value) -> Uuid {
    value
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .expect("a UUID")
}

#[tokio::test]
async fn a_failed_attachment_compensates_the_generation() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let application = Uuid::now_v7();
    planner
        .application_created(TENANT, common::USER, application)
        .await?;
    let (status, view) = planner
        .intent(
            &format!(
                "Write a cover letter for this job and attach it to application {application}.\n\
                 Job: {JOB}\nMy CV: {CV}"
            ),
            false,
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    assert_eq!(view["shape"], "plan.generate_attach");
    let plan_id = id(&view["plan_id"]);
    let generation = id(&view["steps"][0]["command"]["payload"]["generation_id"]);
    let commands = planner.commands().await?;
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].message_type, "InitiateGeneration");
    assert_eq!(commands[0].topic, "orchestrator.commands");

    // The orchestrator runs the generation; the planner follows it.
    let document = Uuid::now_v7();
    // Its progress is skipped; how it finished is what the planner follows.
    let skipped = sagaflow_events::messages::SagaProgressed {
        saga_id: generation,
        definition: GENERATION.into(),
        definition_version: 1,
        seq: 9,
        status: "running".into(),
        step: Some(sagaflow_saga_generation::steps::EXPORT.into()),
        kind: "step_completed".into(),
        detail: String::new(),
        at_ms: 0,
        entries: Vec::new(),
        result: None,
    };
    let outcome = planner
        .consume_outcome(&incoming_as(TENANT, Some(generation), None, &skipped))
        .await;
    assert_eq!(outcome, sagaflow_bus::Outcome::Skipped);
    let inbox: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sagaflow_inbox WHERE message_type = 'SagaProgressed'",
    )
    .fetch_one(planner.pool())
    .await?;
    assert_eq!(inbox, 0, "a skipped message leaves no inbox row");
    let view = planner.plan(&plan_id.to_string()).await?;
    assert_eq!(view["steps"][0]["status"], "running", "{view:#}");
    let result = SagaResult {
        name: sagaflow_saga_generation::steps::RESULT_DOCUMENT_ID.into(),
        id: document,
    };
    let events = [finished(
        generation,
        GENERATION,
        10,
        SagaStatus::Completed,
        Some(result),
    )];
    for event in &events {
        planner
            .consume(&incoming_as(TENANT, Some(generation), None, event))
            .await?;
    }
    let view = planner.plan(&plan_id.to_string()).await?;
    assert_eq!(view["steps"][0]["status"], "completed", "{view:#}");
    assert_eq!(view["steps"][0]["starts_saga"]["status"], "completed");
    assert_eq!(
        view["steps"][0]["starts_saga"]["path"],
        format!("/v1/sagas/{generation}")
    );
    let commands = planner.commands().await?;
    let attach = commands.last().expect("attach");
    assert_eq!(attach.message_type, "AttachDocumentToApplication");
    assert_eq!(attach.payload["generation_id"], generation.to_string());

    // The tracker refuses the attachment: the generation is compensated.
    let failed = DocumentAttachFailed {
        saga_id: plan_id,
        application_id: application,
        generation_id: generation,
        reason: "application archived".into(),
    };
    let cause = Uuid::parse_str(attach.header("message-id"))?;
    planner
        .consume(&incoming_as(TENANT, Some(plan_id), Some(cause), &failed))
        .await?;
    // A redelivered copy (new message id) changes nothing.
    planner
        .consume(&incoming_as(TENANT, Some(plan_id), Some(cause), &failed))
        .await?;

    let view = planner.plan(&plan_id.to_string()).await?;
    assert_eq!(view["status"], "compensated", "{view:#}");
    assert_eq!(view["steps"][0]["status"], "compensated");
    assert_eq!(view["steps"][1]["status"], "failed");
    let types: Vec<&str> = view["emitted"]
        .as_array()
        .expect("emitted")
        .iter()
        .filter_map(|e| e["message_type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "InitiateGeneration",
            "AttachDocumentToApplication",
            "CancelSaga"
        ]
    );
    let cancel = planner.commands().await?.pop().expect("cancel");
    assert_eq!(cancel.message_type, "CancelSaga");
    assert_eq!(cancel.payload["saga_id"], generation.to_string());
    assert_eq!(cancel.header("tenant-id"), TENANT);
    assert_eq!(cancel.header("causation-id"), plan_id.to_string());
    let kinds: Vec<&str> = view["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in [
        "child_saga_progressed",
        "step_completed",
        "step_failed",
        "step_compensated",
        "compensated",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let sagas: Vec<&str> = view["sagas"]
        .as_array()
        .expect("sagas")
        .iter()
        .filter_map(|s| s["definition"].as_str())
        .collect();
    assert_eq!(sagas, ["plan.generate_attach", "generation"]);
    Ok(())
}

#[tokio::test]
async fn a_silent_participant_gets_the_step_again_after_its_timeout() -> anyhow::Result<()> {
    let planner = Planner::start(|s| s.step_timeout_ms = Some(50)).await?;
    let (_, view) = planner
        .intent("Notify me that the build is green", false)
        .await?;
    let plan_id = id(&view["plan_id"]);
    let first = planner.commands().await?;
    assert_eq!(first.len(), 1);

    // Deadline, then the backoff: the second attempt goes out.
    let sends = eventually("a second attempt", Duration::from_secs(15), || async {
        sagaflow_planner::timers::fire_due(planner.pool(), &planner.state.definitions, 10).await?;
        let commands = planner.commands().await?;
        Ok((commands.len() == 2).then_some(commands))
    })
    .await?;
    assert_eq!(
        sends[0].payload, sends[1].payload,
        "the same notification, re-sent"
    );
    assert_ne!(sends[0].header("message-id"), sends[1].header("message-id"));

    // A late answer to the first attempt still settles the step.
    let sent = NotificationSent {
        notification_id: id(&sends[0].payload["notification_id"]),
        saga_id: Some(plan_id),
        channel: sagaflow_events::messages::Channel::Email,
    };
    let cause = Uuid::parse_str(sends[0].header("message-id"))?;
    planner
        .consume(&incoming_as(TENANT, Some(plan_id), Some(cause), &sent))
        .await?;
    let view = planner.plan(&plan_id.to_string()).await?;
    assert_eq!(view["status"], "completed", "{view:#}");
    let kinds = view["log"].to_string();
    assert!(kinds.contains("step_timed_out"));
    Ok(())
}
