//! The operator API for discount codes (router driven with `oneshot`, real
//! PostgreSQL): operator tokens only, bad input named, and a code put over the
//! API is what `PriceOrder` applies.

use crate::common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{db, feed, go, price_order, product};
use sagaflow_events::messages::{OrderPriced, OrderPricingFailed};
use sagaflow_pricing::PricingHandler;
use sagaflow_pricing::http::{ApiState, router};
use sagaflow_test_support::service_auth::{
    OPERATOR_JWT_SECRET, operator_bearer, operator_verifier,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", token);
    }
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

#[tokio::test]
async fn only_operators_manage_codes() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(ApiState {
        pool: db.pool.clone(),
        operators: operator_verifier(),
    });
    let body = json!({ "percent_off": 10 });
    let (status, _) = call(&app, "PUT", "/discounts/TEN", None, Some(body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&app, "GET", "/discounts", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let customer = operator_bearer("ada", &["customer"]);
    let (status, _) = call(
        &app,
        "PUT",
        "/discounts/TEN",
        Some(&customer),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let forged = format!(
        "Bearer {}",
        sagaflow_service_auth::operator::mint(
            "another-secret-another-secret-another-secret",
            "mallory",
            None,
            &["operator"],
            Duration::from_secs(60)
        )
    );
    let (status, _) = call(
        &app,
        "PUT",
        "/discounts/TEN",
        Some(&forged),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An operator of one tenant cannot change platform-wide codes.
    let tenant_operator = format!(
        "Bearer {}",
        sagaflow_service_auth::operator::mint(
            OPERATOR_JWT_SECRET,
            "ops-acme",
            Some("acme"),
            &["operator"],
            Duration::from_secs(60)
        )
    );
    let (status, _) = call(
        &app,
        "PUT",
        "/discounts/TEN",
        Some(&tenant_operator),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM discount_codes")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(count, 0, "nothing was written");
    Ok(())
}

#[tokio::test]
async fn bad_input_is_422_naming_the_field() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(ApiState {
        pool: db.pool.clone(),
        operators: operator_verifier(),
    });
    let ops = operator_bearer("ops", &["operator"]);
    for (uri, body, field) in [
        ("/discounts/TEN", json!({ "percent_off": 0 }), "percent_off"),
        (
            "/discounts/TEN",
            json!({ "percent_off": 101 }),
            "percent_off",
        ),
        ("/discounts/TEN", json!({}), "percent_off"),
        (
            "/discounts/TEN",
            json!({ "amount_minor": -5, "currency": "EUR" }),
            "amount_minor",
        ),
        (
            "/discounts/TEN",
            json!({ "amount_minor": 500, "currency": "euro" }),
            "currency",
        ),
        ("/discounts/TEN", json!({ "amount_minor": 500 }), "currency"),
        ("/discounts/NOT%20OK", json!({ "percent_off": 10 }), "code"),
    ] {
        let (status, error) = call(&app, "PUT", uri, Some(&ops), Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error["field"], field, "{body}: {error}");
        assert!(
            error["detail"]
                .as_str()
                .unwrap_or_default()
                .starts_with(field),
            "{error}"
        );
    }
    let (status, error) = call(
        &app,
        "PUT",
        "/discounts/TEN",
        Some(&ops),
        Some(json!({ "percent_of": 10 })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("percent_of"),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn a_code_put_over_the_api_prices_orders_until_deactivated() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(ApiState {
        pool: db.pool.clone(),
        operators: operator_verifier(),
    });
    let ops = operator_bearer("ops", &["operator"]);
    let (status, stored) = call(
        &app,
        "PUT",
        "/discounts/welcome10",
        Some(&ops),
        Some(json!({ "percent_off": 10, "expires_at": "2999-01-01T00:00:00Z" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["code"], "WELCOME10");
    assert_eq!(stored["active"], true);
    let (status, _) = call(
        &app,
        "PUT",
        "/discounts/FIVER",
        Some(&ops),
        Some(json!({ "amount_minor": 500, "currency": "EUR" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, listed) = call(&app, "GET", "/discounts", Some(&ops), None).await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<&str> = listed["discounts"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert_eq!(codes, ["FIVER", "WELCOME10"]);
    assert_eq!(listed["discounts"][0]["amount_minor"], 500);
    let (status, rates) = call(&app, "GET", "/tax-rates", Some(&ops), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        rates["tax_rates"]
            .as_array()
            .expect("rates")
            .iter()
            .any(|r| r["country"] == "DE" && r["basis_points"] == 1900)
    );

    let handler = PricingHandler::default();
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 1, true, &[("EUR", 1250)]),
    )
    .await;
    let order = |code| {
        price_order(
            Uuid::now_v7(),
            &[("MUG-BLUE", 2)],
            "EUR",
            Some(code),
            Some("DE"),
        )
    };
    // 2500 − 10% = 2250; 19% = 427.5 → 428.
    let priced: OrderPriced = go(&db.pool, &handler, &order("WELCOME10")).await.expect();
    assert_eq!(
        (priced.discount_minor, priced.tax_minor, priced.total_minor),
        (250, 428, 2678)
    );

    let (status, _) = call(
        &app,
        "PUT",
        "/discounts/WELCOME10",
        Some(&ops),
        Some(json!({ "percent_off": 10, "active": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let failed: OrderPricingFailed = go(&db.pool, &handler, &order("WELCOME10")).await.expect();
    assert_eq!(failed.reason, "discount code WELCOME10 is inactive");
    Ok(())
}
