//! `POST /v1/orders/{id}/cancel` and `/refunds`: only the caller's own order (the
//! same user id in another tenant gets 404), the e-mail from the checkout, no
//! prices, idempotency, 409 while a change runs or after a cancellation, and the
//! changes' progress in `GET /v1/sagas`.

use crate::common;

use axum::http::StatusCode;
use common::*;
use sagaflow_events::messages::{InitiateOrderCancellation, InitiateRefund, SagaResult};
use serde_json::{Value, json};
use uuid::Uuid;

const TENANT_B: &str = "tenant-b";

/// A checkout of `tenant`/`USER` whose saga created order `order_id`.
async fn placed_order(gw: &Gateway, tenant: &str) -> anyhow::Result<Uuid> {
    let checkout = gw.checkout(tenant, USER).await?;
    let order_id = Uuid::now_v7();
    let mut event = progress_of(
        "checkout",
        checkout,
        1,
        "step_completed",
        Some("create_order"),
        "running",
        json!({}),
    );
    event.result = Some(SagaResult {
        name: "order_id".into(),
        id: order_id,
    });
    feed_event(gw, tenant, &event).await?;
    Ok(order_id)
}

async fn post(
    gw: &Gateway,
    tenant: &str,
    uri: &str,
    key: &str,
    body: Value,
) -> anyhow::Result<(StatusCode, Value)> {
    gw.send(post_request_to(
        uri,
        Some(tenant),
        Some(USER),
        Some(key),
        body.to_string(),
    ))
    .await
}

fn saga_id(body: &Value) -> Uuid {
    body["saga_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("saga_id")
}

#[tokio::test]
async fn a_cancellation_is_started_for_the_owner_only_and_replayed_by_its_key() -> anyhow::Result<()>
{
    let gw = Gateway::start().await?;
    seed_products(gw.pool()).await?;
    let order_a = placed_order(&gw, TENANT).await?;
    let order_b = placed_order(&gw, TENANT_B).await?;
    let cancel = |order: Uuid| format!("/v1/orders/{order}/cancel");

    // The same user id in another tenant: as if the order did not exist.
    let (status, body) = post(&gw, TENANT_B, &cancel(order_a), "k1", json!({})).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = post(&gw, TENANT, &cancel(Uuid::now_v7()), "k1", json!({})).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(count(gw.pool(), "order_changes").await?, 0);

    let (status, first) = post(
        &gw,
        TENANT,
        &cancel(order_a),
        "k1",
        json!({"reason": "found it cheaper"}),
    )
    .await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let saga = saga_id(&first);
    assert_eq!(first["kind"], "cancellation");
    assert_eq!(first["links"]["order"], format!("/v1/orders/{order_a}"));

    // A retry with the key gets the same answer and starts nothing more.
    let (status, again) = post(
        &gw,
        TENANT,
        &cancel(order_a),
        "k1",
        json!({"reason": "found it cheaper"}),
    )
    .await?;
    assert_eq!((status, &again), (StatusCode::ACCEPTED, &first));
    let sent: Vec<_> = outbox(gw.pool())
        .await?
        .into_iter()
        .filter(|r| r.message_type == "InitiateOrderCancellation")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].topic, "orchestrator.commands");
    assert_eq!(sent[0].key, saga.to_string());
    assert_eq!(
        sent[0].headers.get("tenant-id").map(String::as_str),
        Some(TENANT)
    );
    let command: InitiateOrderCancellation = sagaflow_events::decode(&sent[0].payload)?;
    assert_eq!(command.cancellation_id, saga);
    assert_eq!(command.order_id, order_a);
    assert_eq!(command.user_id, USER);
    // The checkout's e-mail, never one from the request.
    assert_eq!(command.customer_email, "ada@example.com");
    assert_eq!(command.reason, "found it cheaper");

    // Another change while this one runs: 409, and the key stays free.
    let (status, body) = post(&gw, TENANT, &cancel(order_a), "k2", json!({})).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.to_string().contains(&saga.to_string()), "{body}");

    // Tenant B's own order is theirs to cancel.
    let (status, body) = post(&gw, TENANT_B, &cancel(order_b), "k1", json!({})).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    // The saga completes: it is listed with its refund, and the order is cancelled.
    let refund_id = Uuid::now_v7();
    let mut done = progress_of(
        "order_cancellation",
        saga,
        4,
        "completed",
        None,
        "completed",
        json!({}),
    );
    done.result = Some(SagaResult {
        name: "refund_id".into(),
        id: refund_id,
    });
    feed_event(&gw, TENANT, &done).await?;
    let (status, page) = gw
        .get(TENANT, USER, "/v1/sagas?definition=order_cancellation")
        .await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["saga_id"], saga.to_string());
    assert_eq!(items[0]["status"], "completed");
    assert_eq!(items[0]["result_id"], refund_id.to_string());
    assert_eq!(items[0]["links"]["order"], format!("/v1/orders/{order_a}"));
    let (status, _) = gw
        .get(TENANT, USER, &format!("/v1/sagas/{saga}/events"))
        .await?;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = gw
        .get(TENANT_B, USER, &format!("/v1/sagas/{saga}/events"))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = post(&gw, TENANT, &cancel(order_a), "k3", json!({})).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.to_string().contains("already cancelled"), "{body}");
    Ok(())
}

#[tokio::test]
async fn a_refund_names_bought_lines_without_prices() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    seed_products(gw.pool()).await?;
    let order = placed_order(&gw, TENANT).await?;
    let refunds = format!("/v1/orders/{order}/refunds");
    let refused = [
        (
            json!({"lines": [{"sku": "SKU-RED-M", "quantity": 1, "unit_price_minor": 1}]}),
            "lines[0].unit_price_minor",
        ),
        (
            json!({"lines": [{"sku": "SKU-NOPE", "quantity": 1}]}),
            "lines[0].sku",
        ),
        (
            json!({"lines": [{"sku": "SKU-RED-M", "quantity": 2}, {"sku": "SKU-RED-M", "quantity": 1}]}),
            "lines[1].quantity",
        ),
        (json!({"lines": []}), "lines"),
        (json!({"reason": "no lines"}), "lines"),
    ];
    for (body, field) in refused {
        let (status, answer) = post(&gw, TENANT, &refunds, "r1", body.clone()).await?;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} -> {answer}"
        );
        assert_eq!(answer["field"], field, "{answer}");
    }
    assert_eq!(count(gw.pool(), "order_changes").await?, 0);

    let body = json!({"lines": [{"sku": "SKU-RED-M", "quantity": 1}], "reason": "torn seam"});
    let (status, started) = post(&gw, TENANT, &refunds, "r1", body).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["kind"], "refund");
    let row = outbox(gw.pool())
        .await?
        .into_iter()
        .find(|r| r.message_type == "InitiateRefund")
        .expect("InitiateRefund sent");
    let command: InitiateRefund = sagaflow_events::decode(&row.payload)?;
    assert_eq!(command.refund_id, saga_id(&started));
    assert_eq!(command.lines.len(), 1);
    assert_eq!(
        (command.lines[0].sku.as_str(), command.lines[0].quantity),
        ("SKU-RED-M", 1)
    );
    assert_eq!(command.reason, "torn seam");

    // The same user id in another tenant cannot refund it.
    let (status, _) = post(
        &gw,
        TENANT_B,
        &refunds,
        "r1",
        json!({"lines": [{"sku": "SKU-RED-M", "quantity": 1}]}),
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}
