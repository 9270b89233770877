//! The operator API against a real saga store: find, inspect, pause, resume,
//! abort, with an operator token; without one it is refused (401 / 403).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use http_body_util::BodyExt;
use sagaflow_bus::probe::BrokerHealth;
use sagaflow_orchestrator::api::{ApiState, router};
use sagaflow_orchestrator::{Settings, definitions};
use sagaflow_saga_store::{SagaContext, start};
use sagaflow_test_support::TestDb;
use sagaflow_test_support::service_auth::{
    OPERATOR_JWT_SECRET, operator_bearer, operator_verifier,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

async fn call(app: &axum::Router, method: &str, uri: &str) -> (StatusCode, Value) {
    call_as(
        app,
        Some(&operator_bearer("ops", &["operator"])),
        method,
        uri,
    )
    .await
}

async fn call_as(
    app: &axum::Router,
    authorization: Option<&str>,
    method: &str,
    uri: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
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
    let app = router(ApiState::new(db.pool.clone(), defs, operator_verifier()));

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
    assert!(again["detail"].as_str().is_some_and(|m| !m.is_empty()));
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

/// A started checkout saga of `tenant`.
async fn started(db: &TestDb, tenant: &str) -> anyhow::Result<Uuid> {
    let defs = definitions(&Settings::default());
    let saga = Uuid::now_v7();
    let input = json!({
        "checkout_id": saga, "user_id": "u", "cart_id": Uuid::now_v7(),
        "items": [{"sku": "MUG", "quantity": 1, "unit_price_minor": 100}],
        "currency": "EUR", "payment_method": "card", "customer_email": "a@b.c", "discount_code": null
    });
    let context = SagaContext {
        tenant_id: tenant.into(),
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
    Ok(saga)
}

#[tokio::test]
async fn the_operator_api_needs_an_operator_token() -> anyhow::Result<()> {
    let db = TestDb::create("operator_auth").await?;
    sagaflow_orchestrator::migrate(&db.pool).await?;
    let saga = started(&db, "acme").await?;
    let app = router(ApiState::new(
        db.pool.clone(),
        Arc::new(definitions(&Settings::default())),
        operator_verifier(),
    ));
    let show = format!("/sagas/{saga}");
    let abort = format!("/sagas/{saga}/abort");

    // Probes stay open.
    assert_eq!(
        call_as(&app, None, "GET", "/healthz").await.0,
        StatusCode::OK
    );
    assert_eq!(
        call_as(&app, None, "GET", "/readyz").await.0,
        StatusCode::OK
    );

    // No token, a garbage one, one signed with another secret: 401.
    for auth in [
        None,
        Some("Bearer nonsense".to_owned()),
        Some(format!(
            "Bearer {}",
            sagaflow_service_auth::operator::mint(
                "not-the-operator-secret-0123456789abcdef",
                "ops",
                None,
                &["operator"],
                std::time::Duration::from_secs(600)
            )
        )),
    ] {
        for (method, uri) in [
            ("GET", "/sagas"),
            ("GET", show.as_str()),
            ("POST", abort.as_str()),
        ] {
            let (status, body) = call_as(&app, auth.as_deref(), method, uri).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {auth:?}: {body}"
            );
            assert_eq!(body["code"], "unauthenticated", "{body}");
        }
    }
    // A valid token of a user who is not an operator: 403.
    let user = operator_bearer("ada", &["user"]);
    for (method, uri) in [
        ("GET", "/sagas"),
        ("GET", show.as_str()),
        ("POST", abort.as_str()),
    ] {
        let (status, body) = call_as(&app, Some(&user), method, uri).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {body}");
    }
    let status: String = sqlx::query_scalar("SELECT status FROM sagas WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(status, "running", "no refused call changed the saga");

    // An operator: 200.
    let (status, shown) = call(&app, "GET", &show).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["state"]["status"], "running");

    // An operator limited to another tenant sees nothing of this one.
    let other = format!(
        "Bearer {}",
        sagaflow_service_auth::operator::mint(
            OPERATOR_JWT_SECRET,
            "ops-globex",
            Some("globex"),
            &["operator"],
            std::time::Duration::from_secs(600)
        )
    );
    assert_eq!(
        call_as(&app, Some(&other), "GET", &show).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call_as(&app, Some(&other), "POST", &abort).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, listed) = call_as(&app, Some(&other), "GET", "/sagas").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["sagas"], json!([]), "{listed}");
    Ok(())
}

/// `/readyz` follows the broker probe's handle: 503 naming the broker while the
/// last probe failed, 200 again once one passes. No token needed.
#[tokio::test]
async fn readiness_follows_the_broker_probe() -> anyhow::Result<()> {
    let db = TestDb::create("orch_ready").await?;
    sagaflow_orchestrator::migrate(&db.pool).await?;
    let health = BrokerHealth::default();
    let app = router(
        ApiState::new(
            db.pool.clone(),
            Arc::new(definitions(&Settings::default())),
            operator_verifier(),
        )
        .with_broker_health(health.clone()),
    );
    assert_eq!(
        call_as(&app, None, "GET", "/readyz").await,
        (StatusCode::OK, json!({"status": "ready"})),
        "a health that has not probed yet counts as serving"
    );

    health.set(false);
    let (status, body) = call_as(&app, None, "GET", "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "unavailable");
    assert_eq!(body["type"], "urn:sagaflow:problem:unavailable");
    assert_eq!(body["title"], "Service Unavailable");
    assert_eq!(body["status"], 503);
    let message = body["detail"].as_str().unwrap_or_default();
    assert!(message.contains("broker"), "{message}");
    assert_eq!(
        call_as(&app, None, "GET", "/healthz").await.0,
        StatusCode::OK,
        "liveness does not depend on the broker"
    );

    health.set(true);
    assert_eq!(
        call_as(&app, None, "GET", "/readyz").await.0,
        StatusCode::OK
    );
    Ok(())
}

/// Operator API errors are RFC 9457 problems with `application/problem+json` (no
/// database needed: a failed broker probe answers before any query).
#[tokio::test]
async fn errors_are_problem_json() -> anyhow::Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://127.0.0.1:1/none")?;
    let health = BrokerHealth::default();
    health.set(false);
    let app = router(
        ApiState::new(
            pool,
            Arc::new(definitions(&Settings::default())),
            operator_verifier(),
        )
        .with_broker_health(health),
    );
    let response = app
        .oneshot(Request::builder().uri("/readyz").body(Body::empty())?)
        .await?;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    let body: Value = serde_json::from_slice(&bytes)?;
    assert_eq!(
        body,
        json!({
            "type": "urn:sagaflow:problem:unavailable",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "broker: the last probe could not produce and consume a record",
            "code": "unavailable",
        })
    );
    Ok(())
}
