//! Parked timers through the operator API: `GET /timers/parked` lists them with
//! their reasons, `POST /sagas/{id}/timers/unpark` puts them back on the due
//! list; both need an operator token, and a tenant-limited one sees and unparks
//! its own tenant's only.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration as Delta, Utc};
use http_body_util::BodyExt;
use sagaflow_orchestrator::api::{ApiState, router};
use sagaflow_saga_store::{Definitions, SagaContext, start, timeouts};
use sagaflow_test_support::TestDb;
use sagaflow_test_support::service_auth::{
    OPERATOR_JWT_SECRET, operator_bearer, operator_verifier,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

async fn call(
    app: &axum::Router,
    authorization: Option<&str>,
    method: &str,
    uri: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
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

fn tenant_operator(tenant: &str) -> String {
    format!(
        "Bearer {}",
        sagaflow_service_auth::operator::mint(
            OPERATOR_JWT_SECRET,
            "ops-tenant",
            Some(tenant),
            &["operator"],
            Duration::from_secs(600)
        )
    )
}

#[tokio::test]
async fn operators_list_and_unpark_parked_timers() -> anyhow::Result<()> {
    let db = TestDb::create("parked_api").await?;
    sagaflow_orchestrator::migrate(&db.pool).await?;
    let v1 = sagaflow_saga_checkout::definition_with_timeout(Duration::from_millis(1));
    let saga = Uuid::now_v7();
    let mut tx = db.pool.begin().await?;
    start(
        &mut tx,
        &v1,
        saga,
        json!({
            "checkout_id": saga, "user_id": "u", "cart_id": Uuid::now_v7(),
            "items": [{"sku": "MUG", "quantity": 1, "unit_price_minor": 100}],
            "currency": "EUR", "payment_method": "card", "customer_email": "a@b.c",
            "discount_code": null
        }),
        &SagaContext {
            tenant_id: "acme".into(),
            correlation_id: Uuid::now_v7(),
            traceparent: None,
        },
        None,
        Utc::now() - Delta::seconds(5),
    )
    .await?;
    tx.commit().await?;
    // An orchestrator that lost v1 parks the saga's due timer.
    let mut v2 = v1.clone();
    v2.version = 2;
    let without_v1 = Definitions::try_new(vec![v2])?;
    assert_eq!(
        timeouts::fire_due(&db.pool, &without_v1, 10).await?.parked,
        1
    );

    let app = router(ApiState::new(
        db.pool.clone(),
        Arc::new(Definitions::try_new(vec![v1])?),
        operator_verifier(),
    ));
    let ops = operator_bearer("ops", &["operator"]);
    let unpark = format!("/sagas/{saga}/timers/unpark");

    // Without an operator token: 401 / 403.
    for (method, uri) in [("GET", "/timers/parked"), ("POST", unpark.as_str())] {
        assert_eq!(
            call(&app, None, method, uri).await.0,
            StatusCode::UNAUTHORIZED
        );
        let user = operator_bearer("ada", &["user"]);
        assert_eq!(
            call(&app, Some(&user), method, uri).await.0,
            StatusCode::FORBIDDEN
        );
    }

    let (status, listed) = call(&app, Some(&ops), "GET", "/timers/parked").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["parked"][0]["saga_id"], json!(saga));
    assert_eq!(listed["parked"][0]["reason_kind"], "unknown_definition");
    assert_eq!(listed["parked"][0]["version"], 1);

    // Another tenant's operator sees none of it and cannot unpark it.
    let globex = tenant_operator("globex");
    let (_, theirs) = call(&app, Some(&globex), "GET", "/timers/parked").await;
    assert_eq!(theirs["parked"], json!([]), "{theirs}");
    assert_eq!(
        call(&app, Some(&globex), "POST", &unpark).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, mine) = call(
        &app,
        Some(&tenant_operator("acme")),
        "GET",
        "/timers/parked",
    )
    .await;
    assert_eq!(mine["parked"].as_array().map(Vec::len), Some(1), "{mine}");

    // v1 is deployed again: unpark, and the timer fires on the next round.
    let (status, body) = call(&app, Some(&ops), "POST", &unpark).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["unparked"], 1);
    let (_, listed) = call(&app, Some(&ops), "GET", "/timers/parked").await;
    assert_eq!(listed["parked"], json!([]));
    let with_v1 = Definitions::try_new(vec![sagaflow_saga_checkout::definition_with_timeout(
        Duration::from_millis(1),
    )])?;
    assert_eq!(timeouts::fire_due(&db.pool, &with_v1, 10).await?.fired, 1);
    let timed_out: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM saga_events WHERE saga_id = $1 AND kind = 'step_timed_out'",
    )
    .bind(saga)
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(timed_out, 1);
    Ok(())
}
