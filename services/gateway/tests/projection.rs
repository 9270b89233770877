//! The read model: `SagaProgressed` fed through the inbox (`sagaflow_bus::inbox::
//! process`) and read back through `GET /v1/checkouts/{id}` and
//! `GET /v1/sagas/{id}/events`.

mod common;

use axum::http::StatusCode;
use sagaflow_bus::{Backoff, Outcome, inbox};
use sagaflow_events::messages::SagaProgressed;
use sagaflow_gateway::{NAME, Projection};
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
    }
}

async fn feed(gw: &Gateway, event: &SagaProgressed) -> anyhow::Result<Outcome> {
    let message = incoming(TENANT, event.saga_id, event);
    Ok(inbox::process(gw.pool(), &Projection, NAME, &message, Backoff::default()).await)
}

#[tokio::test]
async fn progress_shows_status_steps_and_order_id() -> anyhow::Result<()> {
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
            json!({ "reply": { "type": "OrderCreated", "payload": { "saga_id": id, "order_id": order_id } } }),
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

    // The saga log with parsed details.
    let (status, log) = gw
        .get(TENANT, USER, &format!("/v1/sagas/{id}/events"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["saga_id"], json!(id));
    assert_eq!(log["events"].as_array().map(Vec::len), Some(6));
    assert_eq!(
        log["events"][2]["detail"],
        json!({ "reply": { "reservation_id": "r-1" } })
    );
    assert_eq!(
        log["events"][4]["detail"]["reply"]["payload"]["order_id"],
        json!(order_id)
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
        assert_eq!(body["error"]["code"], "not_found");
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
        (status, &body["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("id"))
    );
    Ok(())
}

#[tokio::test]
async fn failure_is_reported_and_status_never_goes_back() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.checkout(TENANT, USER).await?;
    let declined = json!({ "reply": { "reason": "card declined" } });
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
        json!({ "kind": "step_failed", "step": "authorize_payment", "seq": 3, "detail": declined })
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
    assert_eq!(log["events"][0]["detail"], json!("not json"));
    Ok(())
}
