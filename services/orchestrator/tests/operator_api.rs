//! The operator API against a real saga store: find, inspect, pause, resume, abort.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use http_body_util::BodyExt;
use sagaflow_orchestrator::api::{ApiState, router};
use sagaflow_orchestrator::{Settings, definitions};
use sagaflow_saga_store::{SagaContext, start};
use sagaflow_test_support::TestDb;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

async fn call(app: &axum::Router, method: &str, uri: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    let body = if method == "POST" {
        Body::from("{\"reason\":\"drill\"}")
    } else {
        Body::empty()
    };
    let response = app
        .clone()
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn operators_find_inspect_and_steer_sagas() -> anyhow::Result<()> {
    let db = TestDb::create("operator").await?;
    sagaflow_orchestrator::migrate(&db.pool).await?;
    let defs = Arc::new(definitions(&Settings::default()));
    let saga = Uuid::now_v7();
    let input = json!({
        "checkout_id": saga, "user_id": "u", "cart_id": Uuid::now_v7(),
        "items": [{"sku": "MUG", "quantity": 1, "unit_price_minor": 100}],
        "currency": "EUR", "payment_method": "card", "customer_email": "a@b.c", "discount_code": null
    });
    let context = SagaContext {
        tenant_id: "t".into(),
        correlation_id: Uuid::now_v7(),
        traceparent: None,
    };
    let mut tx = db.pool.begin().await?;
    start(
        &mut tx,
        defs.latest("checkout").expect("checkout"),
        saga,
        input,
        &context,
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    let app = router(ApiState {
        pool: db.pool.clone(),
        definitions: defs,
    });

    let (status, listed) = call(&app, "GET", "/sagas?status=running").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["sagas"][0]["saga_id"], json!(saga));
    assert_eq!(listed["counts"]["running"], 1);
    let (_, idle) = call(&app, "GET", "/sagas?status=running&idle_secs=3600").await;
    assert_eq!(
        idle["sagas"].as_array().map(Vec::len),
        Some(0),
        "not idle for an hour yet"
    );

    let (status, shown) = call(&app, "GET", &format!("/sagas/{saga}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["history"][0]["event"]["type"], "started");
    assert_eq!(shown["history"][1]["event"]["type"], "command_sent");
    assert_eq!(shown["state"]["status"], "running");

    let (status, paused) = call(&app, "POST", &format!("/sagas/{saga}/pause")).await;
    assert_eq!(
        (status, paused["paused"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, again) = call(&app, "POST", &format!("/sagas/{saga}/pause")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(
        again["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let (status, _) = call(&app, "POST", &format!("/sagas/{saga}/resume")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, aborted) = call(&app, "POST", &format!("/sagas/{saga}/abort")).await;
    assert_eq!(status, StatusCode::OK, "{aborted}");
    assert_eq!(
        aborted["status"], "compensating",
        "the in-flight reservation is undone"
    );
    let released: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sagaflow_outbox WHERE message_type = 'ReleaseInventory'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(released, 1);

    let (status, _) = call(&app, "POST", &format!("/sagas/{saga}/explode")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, "GET", &format!("/sagas/{}", Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, versions) = call(&app, "GET", "/sagas/versions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(versions["in_flight"][0]["definition"], "checkout");
    Ok(())
}
