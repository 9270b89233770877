//! The read model: `SagaProgressed` fed through the inbox (`sagaflow_bus::inbox::
//! process`) and read back through `GET /v1/checkouts/{id}` and
//! `GET /v1/sagas/{id}/events`: v2 messages (one per decision, typed entries and
//! result) and v1 ones (one entry, JSON detail), which are still read.

use crate::common;

use axum::http::StatusCode;
use sagaflow_bus::{Backoff, Outcome, inbox};
use sagaflow_events::messages::{
    ProgressEntry, ProgressKind, SagaProgressed, SagaResult, SagaStatus, StepPhase,
};
use sagaflow_gateway::{NAME, Projection};
use sagaflow_saga_checkout::steps as checkout;
use serde_json::{Value, json};
use uuid::Uuid;

use common::{Gateway, TENANT, USER, count, incoming};

const AT_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn progress(
    saga_id: Uuid,
    seq: i64,
    kind: &str,
    step: Option<&str>,
    status: &str,
    detail: Value,
) -> SagaProgressed {
    SagaProgressed {
        saga_id,
        definition: "checkout".into(),
        definition_version: 1,
        seq,
        status: status.into(),
        step: step.map(str::to_owned),
        kind: kind.into(),
        detail: detail.to_string(),
        at_ms: AT_MS + seq * 1000,
        entries: Vec::new(),
        result: None,
    }
}

async fn feed(gw: &Gateway, event: &SagaProgressed) -> anyhow::Result<Outcome> {
    let message = incoming(TENANT, event.saga_id, event);
    Ok(inbox::process(gw.pool(), &Projection, NAME, &message, Backoff::default()).await)
}

#[tokio::test]
async fn v1_progress_shows_status_steps_and_order_id() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.checkout(TENANT, USER).await?;
    let order_id = Uuid::now_v7();
    let events = [
        progress(id, 1, "started", None, "running", json!({})),
        progress(
            id,
            2,
            "command_sent",
            Some("reserve_inventory"),
            "running",
            json!({ "command": "ReserveInventory" }),
        ),
        progress(
            id,
            3,
            "step_completed",
            Some("reserve_inventory"),
            "running",
            json!({ "reply": { "reservation_id": "r-1" } }),
        ),
        progress(
            id,
            4,
            "command_sent",
            Some("create_order"),
            "running",
            json!({ "command": "CreateOrder" }),
        ),
        progress(
            id,
            5,
            "step_completed",
            Some("create_order"),
            "running",
            json!({ "type": "step_completed", "step_name": "create_order", "reply_type": "OrderCreated",
                    "reply": { "saga_id": id, "order_id": order_id } }),
        ),
    ];
    for event in &events {
        assert_eq!(feed(&gw, event).await?, Outcome::Handled);
    }

    let uri = format!("/v1/checkouts/{id}");
    let (status, view) = gw.get(TENANT, USER, &uri).await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "running");
    assert_eq!(view["order_id"], json!(order_id));
    assert_eq!(view["failure"], Value::Null);
    assert_eq!(
        view["steps"][1],
        json!({ "seq": 2, "kind": "command_sent", "step": "reserve_inventory", "status": "running", "at": "2026-01-01T00:00:02Z" })
    );
    let seqs: Vec<i64> = view["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["seq"].as_i64())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);

    // The same message again (inbox) and the same seq in a new message (projection):
    // neither adds a step.
    let again = incoming(TENANT, id, &events[2]);
    assert_eq!(
        inbox::process(gw.pool(), &Projection, NAME, &again, Backoff::default()).await,
        Outcome::Handled
    );
    assert_eq!(
        inbox::process(gw.pool(), &Projection, NAME, &again, Backoff::default()).await,
        Outcome::Duplicate
    );
    assert_eq!(feed(&gw, &events[4]).await?, Outcome::Handled);
    assert_eq!(count(gw.pool(), "saga_progress").await?, 5);

    assert_eq!(
        feed(
            &gw,
            &progress(id, 6, "completed", None, "completed", json!({}))
        )
        .await?,
        Outcome::Handled
    );
    let (_, view) = gw.get(TENANT, USER, &uri).await?;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["steps"].as_array().map(Vec::len), Some(6));
    assert_eq!(view["steps"][5]["kind"], "completed");

    // The saga log, with the typed detail lifted from each v1 entry.
    let (status, log) = gw
        .get(TENANT, USER, &format!("/v1/sagas/{id}/events"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["saga_id"], json!(id));
    assert_eq!(log["events"].as_array().map(Vec::len), Some(6));
    assert_eq!(log["events"][2]["detail"], json!({}));
    assert_eq!(
        log["events"][4]["detail"],
        json!({ "message_type": "OrderCreated" })
    );
    assert_eq!(log["events"][0]["step"], Value::Null);
    Ok(())
}

#[tokio::test]
async fn other_callers_get_404() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.checkout(TENANT, USER).await?;
    feed(&gw, &progress(id, 1, "started", None, "running", json!({}))).await?;
    let checkout = format!("/v1/checkouts/{id}");
    let log = format!("/v1/sagas/{id}/events");
    assert_eq!(gw.get(TENANT, USER, &checkout).await?.0, StatusCode::OK);
    for (tenant, user, uri) in [
        ("tenant-b", USER, &checkout),
        (TENANT, "user-2", &checkout),
        ("tenant-b", USER, &log),
    ] {
        let (status, body) = gw.get(tenant, user, uri).await?;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{tenant}/{user} {uri}: {body}"
        );
        assert_eq!(body["code"], "not_found");
        assert!(body.get("events").is_none() && body.get("steps").is_none());
    }
    // The log is its owner's (and an operator's of its tenant: saga_access.rs),
    // not every user's of the tenant.
    assert_eq!(
        gw.get(TENANT, "user-2", &log).await?.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(gw.get(TENANT, USER, &log).await?.0, StatusCode::OK);
    // Unknown ids and malformed ids.
    assert_eq!(
        gw.get(TENANT, USER, &format!("/v1/checkouts/{}", Uuid::now_v7()))
            .await?
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = gw.get(TENANT, USER, "/v1/checkouts/not-a-uuid").await?;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("id"))
    );
    Ok(())
}

#[tokio::test]
async fn failure_is_reported_and_status_never_goes_back() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.checkout(TENANT, USER).await?;
    let declined = json!({ "type": "step_failed", "reason": "card declined" });
    for event in [
        progress(id, 1, "started", None, "running", json!({})),
        progress(
            id,
            2,
            "step_completed",
            Some("reserve_inventory"),
            "running",
            json!({}),
        ),
        progress(
            id,
            3,
            "step_failed",
            Some("authorize_payment"),
            "compensating",
            declined.clone(),
        ),
        progress(id, 5, "compensated", None, "compensated", json!({})),
        // Late: seq 4 arrives after seq 5.
        progress(
            id,
            4,
            "step_compensated",
            Some("reserve_inventory"),
            "compensating",
            json!({}),
        ),
    ] {
        assert_eq!(feed(&gw, &event).await?, Outcome::Handled);
    }
    let (_, view) = gw.get(TENANT, USER, &format!("/v1/checkouts/{id}")).await?;
    assert_eq!(view["status"], "compensated", "{view}");
    assert_eq!(view["order_id"], Value::Null);
    assert_eq!(
        view["failure"],
        json!({ "kind": "step_failed", "step": "authorize_payment", "seq": 3,
                "detail": { "reason": "card declined" } })
    );
    let kinds: Vec<&str> = view["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "started",
            "step_completed",
            "step_failed",
            "step_compensated",
            "compensated"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn progress_of_unknown_sagas_and_bad_details_do_not_break() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    // A saga without a row (its start has not arrived, or never will): the
    // progress is kept for when it does, not poison, and shown to nobody.
    let stranger = Uuid::now_v7();
    assert_eq!(
        feed(
            &gw,
            &progress(stranger, 1, "started", None, "running", json!({}))
        )
        .await?,
        Outcome::Handled
    );
    assert_eq!(count(gw.pool(), "saga_progress").await?, 1);
    let (status, _) = gw
        .get(TENANT, USER, &format!("/v1/sagas/{stranger}/events"))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A detail that is not JSON and a create_order completion without an order id.
    let id = gw.checkout(TENANT, USER).await?;
    let mut odd = progress(
        id,
        1,
        "step_completed",
        Some("create_order"),
        "running",
        json!({}),
    );
    odd.detail = "not json".into();
    assert_eq!(feed(&gw, &odd).await?, Outcome::Handled);
    let (_, view) = gw.get(TENANT, USER, &format!("/v1/checkouts/{id}")).await?;
    assert_eq!(
        (&view["status"], &view["order_id"]),
        (&json!("running"), &Value::Null)
    );
    let (_, log) = gw
        .get(TENANT, USER, &format!("/v1/sagas/{id}/events"))
        .await?;
    assert_eq!(log["events"][0]["detail"], json!({}));
    Ok(())
}

/// A v2 message of `id`: the decision's `entries` (kind, step, status) and its result.
fn decision(
    id: Uuid,
    entries: &[(i64, ProgressKind, Option<&str>, SagaStatus)],
    result: Option<Uuid>,
) -> SagaProgressed {
    let entries: Vec<ProgressEntry> = entries
        .iter()
        .map(|(seq, kind, step, status)| ProgressEntry {
            seq: *seq,
            kind: *kind,
            step: step.map(str::to_owned),
            phase: step.map(|_| StepPhase::Forward),
            attempt: None,
            message_type: None,
            reason: (*kind == ProgressKind::StepFailed).then(|| "card declined".to_owned()),
            status: *status,
            at_ms: AT_MS + seq * 1000,
        })
        .collect();
    let last = entries.last().cloned().expect("a decision has entries");
    SagaProgressed {
        saga_id: id,
        definition: checkout::NAME.into(),
        definition_version: 1,
        seq: last.seq,
        status: last.status.as_str().into(),
        step: last.step.clone(),
        kind: last.kind.as_str().into(),
        detail: String::new(),
        at_ms: last.at_ms,
        entries,
        result: result.map(|id| SagaResult {
            name: checkout::RESULT_ORDER_ID.into(),
            id,
        }),
    }
}

#[tokio::test]
async fn v2_decisions_project_each_entry_the_result_and_the_first_failure() -> anyhow::Result<()> {
    use ProgressKind as K;
    use SagaStatus as S;
    let gw = Gateway::start().await?;
    let id = gw.checkout(TENANT, USER).await?;
    let order_id = Uuid::now_v7();
    let started = decision(
        id,
        &[
            (1, K::Started, None, S::Running),
            (
                2,
                K::CommandSent,
                Some(checkout::RESERVE_INVENTORY),
                S::Running,
            ),
        ],
        None,
    );
    let ordered = decision(
        id,
        &[
            (
                3,
                K::StepCompleted,
                Some(checkout::CREATE_ORDER),
                S::Running,
            ),
            (4, K::CommandSent, Some(checkout::CLEAR_CART), S::Running),
        ],
        Some(order_id),
    );
    // A later decision that no longer carries the result keeps it.
    let finished = decision(
        id,
        &[
            (5, K::StepCompleted, Some(checkout::CLEAR_CART), S::Running),
            (6, K::Completed, None, S::Completed),
        ],
        None,
    );
    for event in [&started, &ordered, &finished] {
        assert_eq!(feed(&gw, event).await?, Outcome::Handled);
    }
    // A redelivered older decision (a new message id) changes nothing.
    assert_eq!(feed(&gw, &started).await?, Outcome::Handled);

    let (status, view) = gw.get(TENANT, USER, &format!("/v1/checkouts/{id}")).await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["order_id"], json!(order_id));
    assert_eq!(view["failure"], Value::Null);
    assert_eq!(view["steps"].as_array().map(Vec::len), Some(6));
    assert_eq!(count(gw.pool(), "saga_progress").await?, 6);
    let (_, log) = gw
        .get(TENANT, USER, &format!("/v1/sagas/{id}/events"))
        .await?;
    assert_eq!(log["events"][1]["kind"], "command_sent");
    assert_eq!(log["events"][1]["step"], checkout::RESERVE_INVENTORY);
    assert_eq!(log["events"][1]["detail"], json!({ "phase": "forward" }));

    // Progress that arrives before the saga's row is replayed onto it, result included.
    let early = Uuid::now_v7();
    let failed = decision(
        early,
        &[
            (1, K::Started, None, S::Running),
            (
                2,
                K::StepFailed,
                Some(checkout::TAKE_PAYMENT),
                S::Compensating,
            ),
            (3, K::Compensated, None, S::Compensated),
        ],
        None,
    );
    assert_eq!(feed(&gw, &failed).await?, Outcome::Handled);
    let start = sagaflow_events::messages::InitiateCheckout {
        checkout_id: early,
        user_id: USER.into(),
        cart_id: Uuid::now_v7(),
        items: Vec::new(),
        currency: "EUR".into(),
        payment_method: "card".into(),
        customer_email: "a@example.com".into(),
        discount_code: None,
        shipping_country: None,
    };
    let message = incoming(TENANT, early, &start);
    assert_eq!(
        inbox::process(gw.pool(), &Projection, NAME, &message, Backoff::default()).await,
        Outcome::Handled
    );
    let (status, view) = gw
        .get(TENANT, USER, &format!("/v1/checkouts/{early}"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "compensated");
    assert_eq!(
        view["failure"],
        json!({ "kind": "step_failed", "step": checkout::TAKE_PAYMENT, "seq": 2,
                "detail": { "phase": "forward", "reason": "card declined" } })
    );
    Ok(())
}
