//! The order read API through the router as `sagaflow serve order` composes it
//! (customer routes behind the internal token guard, operator routes beside
//! them), with the same user id in two tenants.

use crate::common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{A, B, USER, cancel_placed, confirm, db, go, place, reserve};
use sagaflow_events::messages::{PlacedOrderCancelled, RefundConfirmed, RefundReserved};
use sagaflow_test_support::service_auth::{
    OPERATOR_JWT_SECRET, internal_bearer, internal_verifier, operator_bearer, operator_verifier,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

/// The API as `sagaflow serve order` serves it.
fn app(pool: sqlx::PgPool) -> axum::Router {
    sagaflow_service_auth::internal::guard(
        sagaflow_order::router(pool.clone()),
        internal_verifier("order"),
    )
    .merge(sagaflow_order::operator_router(pool, operator_verifier()))
}

async fn call(
    app: &axum::Router,
    uri: &str,
    bearer: Option<String>,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut request = Request::builder().method("GET").uri(uri);
    if let Some(bearer) = bearer {
        request = request.header("authorization", bearer);
    }
    let response = app.clone().oneshot(request.body(Body::empty())?).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((status, serde_json::from_slice(&bytes)?))
}

fn as_user(tenant: &str, user: &str) -> Option<String> {
    Some(internal_bearer("order", tenant, user))
}

fn ids(body: &Value) -> Vec<String> {
    body["orders"]
        .as_array()
        .map(|orders| {
            orders
                .iter()
                .map(|o| o["order_id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_customer_reads_their_own_orders_only() -> anyhow::Result<()> {
    let db = db().await?;
    let app = app(db.pool.clone());
    let first = place(&db.pool, A, USER, &[("SKU-1", 2, 1000), ("SKU-2", 1, 500)]).await?;
    let second = place(&db.pool, A, USER, &[("SKU-3", 1, 300)]).await?;
    let in_b = place(&db.pool, B, USER, &[("SKU-1", 1, 1000)]).await?;
    let bobs = place(&db.pool, A, "bob", &[("SKU-1", 1, 1000)]).await?;

    // A confirmed refund of the first order, a cancellation of the second.
    let refund = Uuid::now_v7();
    let _: RefundReserved = go(
        &db.pool,
        &reserve(A, refund, first.order_id, USER, &[("SKU-1", 1)]),
    )
    .await?
    .expect();
    let _: RefundConfirmed = go(&db.pool, &confirm(refund)).await?.expect();
    let cancel = Uuid::now_v7();
    let _: PlacedOrderCancelled = go(&db.pool, &cancel_placed(A, cancel, second.order_id, USER))
        .await?
        .expect();

    let (status, body) = call(&app, "/orders", as_user(A, USER)).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        ids(&body),
        vec![second.order_id.to_string(), first.order_id.to_string()],
        "newest first, tenant A's and ada's only"
    );
    assert_eq!(body["next_before"], Value::Null);
    let one = &body["orders"][1];
    let created_at = one["created_at"].clone();
    let refund_at = one["refunds"][0]["created_at"].clone();
    assert!(created_at.is_string() && refund_at.is_string());
    assert_eq!(
        one,
        &json!({
            "order_id": first.order_id,
            "status": "created",
            "total_minor": 2500,
            "refunded_minor": 1000,
            "currency": "EUR",
            "items": [
                {"sku": "SKU-1", "quantity": 2, "unit_price_minor": 1000},
                {"sku": "SKU-2", "quantity": 1, "unit_price_minor": 500}
            ],
            "created_at": created_at,
            "refunds": [{
                "refund_id": refund,
                "status": "confirmed",
                "amount_minor": 1000,
                "items": [{"sku": "SKU-1", "quantity": 1, "unit_price_minor": 1000}],
                "created_at": refund_at
            }],
            "cancelled_by": null
        })
    );
    assert_eq!(body["orders"][0]["status"], "cancelled");
    assert_eq!(body["orders"][0]["cancelled_by"], json!(cancel));
    assert_eq!(body["orders"][0]["refunds"], json!([]));

    // The same user id in tenant B sees B's order only.
    let (status, body) = call(&app, "/orders", as_user(B, USER)).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), vec![in_b.order_id.to_string()]);

    // One order: the caller's, else 404 like an unknown one.
    let uri = format!("/orders/{}", first.order_id);
    let (status, body) = call(&app, &uri, as_user(A, USER)).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["refunded_minor"], 1000);
    let not_found = json!({
        "type": "urn:sagaflow:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "detail": format!("order {} not found", first.order_id),
        "code": "not_found",
    });
    assert_eq!(
        call(&app, &uri, as_user(B, USER)).await?,
        (StatusCode::NOT_FOUND, not_found.clone())
    );
    assert_eq!(
        call(&app, &uri, as_user(A, "bob")).await?,
        (StatusCode::NOT_FOUND, not_found)
    );
    let unknown = Uuid::now_v7();
    assert_eq!(
        call(&app, &format!("/orders/{unknown}"), as_user(A, USER)).await?,
        (
            StatusCode::NOT_FOUND,
            json!({
                "type": "urn:sagaflow:problem:not_found",
                "title": "Not Found",
                "status": 404,
                "detail": format!("order {unknown} not found"),
                "code": "not_found",
            })
        )
    );
    let (status, _) = call(
        &app,
        &format!("/orders/{}", bobs.order_id),
        as_user(A, USER),
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Pages.
    let (_, page1) = call(&app, "/orders?limit=1", as_user(A, USER)).await?;
    assert_eq!(ids(&page1), vec![second.order_id.to_string()]);
    assert_eq!(page1["next_before"], json!(second.order_id));
    let (_, page2) = call(
        &app,
        &format!("/orders?limit=1&before={}", second.order_id),
        as_user(A, USER),
    )
    .await?;
    assert_eq!(ids(&page2), vec![first.order_id.to_string()]);
    assert_eq!(page2["next_before"], Value::Null);
    for bad in [
        "/orders?limit=0",
        "/orders?limit=201",
        "/orders?before=x",
        "/orders/x",
    ] {
        let (status, body) = call(&app, bad, as_user(A, USER)).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["code"], "invalid_parameter", "{bad}: {body}");
        assert!(body["detail"].is_string(), "{bad}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn without_the_gateways_token_it_is_401() -> anyhow::Result<()> {
    let db = db().await?;
    let app = app(db.pool.clone());
    let order = place(&db.pool, A, USER, &[("SKU-1", 1, 100)]).await?;
    for uri in ["/orders".to_owned(), format!("/orders/{}", order.order_id)] {
        let (status, body) = call(&app, &uri, None).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(body["code"], "unauthenticated", "{body}");
        // An operator token is not the gateway's, nor is a token for another service.
        let (status, _) = call(&app, &uri, Some(operator_bearer("ops", &["operator"]))).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        let (status, _) = call(&app, &uri, Some(internal_bearer("cart", A, USER))).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    Ok(())
}

#[tokio::test]
async fn operators_see_a_tenant_across_users() -> anyhow::Result<()> {
    let db = db().await?;
    let app = app(db.pool.clone());
    let adas = place(&db.pool, A, USER, &[("SKU-1", 1, 100)]).await?;
    let bobs = place(&db.pool, A, "bob", &[("SKU-2", 1, 200)]).await?;
    let in_b = place(&db.pool, B, USER, &[("SKU-1", 1, 100)]).await?;
    let _: PlacedOrderCancelled = go(
        &db.pool,
        &cancel_placed(A, Uuid::now_v7(), bobs.order_id, "bob"),
    )
    .await?
    .expect();
    let ops = Some(operator_bearer("ops", &["operator"]));

    let (status, body) = call(&app, "/operator/orders?tenant_id=tenant-a", ops.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        ids(&body),
        vec![bobs.order_id.to_string(), adas.order_id.to_string()]
    );
    assert_eq!(body["orders"][0]["tenant_id"], A);
    assert_eq!(body["orders"][0]["user_id"], "bob");
    assert_eq!(body["orders"][1]["user_id"], USER);
    assert_eq!(body["orders"][1]["total_minor"], 100);

    let (_, body) = call(
        &app,
        "/operator/orders?tenant_id=tenant-a&user_id=ada",
        ops.clone(),
    )
    .await?;
    assert_eq!(ids(&body), vec![adas.order_id.to_string()]);
    let (_, body) = call(
        &app,
        "/operator/orders?tenant_id=tenant-a&status=cancelled",
        ops.clone(),
    )
    .await?;
    assert_eq!(ids(&body), vec![bobs.order_id.to_string()]);
    let (_, body) = call(&app, "/operator/orders?tenant_id=tenant-b", ops.clone()).await?;
    assert_eq!(ids(&body), vec![in_b.order_id.to_string()]);

    // Bad parameters.
    for bad in [
        "/operator/orders",
        "/operator/orders?tenant_id=tenant-a&status=failed",
        "/operator/orders?tenant_id=tenant-a&limit=500",
    ] {
        let (status, _) = call(&app, bad, ops.clone()).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // No token 401, a customer's (internal) token 401, no operator role 403, a
    // token limited to tenant B asking for A 403 (and B by default).
    let uri = "/operator/orders?tenant_id=tenant-a";
    assert_eq!(call(&app, uri, None).await?.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&app, uri, as_user(A, USER)).await?.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = call(&app, uri, Some(operator_bearer("ada", &["user"]))).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden", "{body}");
    let scoped = Some(format!(
        "Bearer {}",
        sagaflow_service_auth::operator::mint(
            OPERATOR_JWT_SECRET,
            "ops-b",
            Some(B),
            &["operator"],
            Duration::from_secs(600)
        )
    ));
    assert_eq!(
        call(&app, uri, scoped.clone()).await?.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = call(&app, "/operator/orders", scoped).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), vec![in_b.order_id.to_string()]);
    Ok(())
}

/// Every error is an RFC 9457 problem with `application/problem+json` (no database
/// needed: the path is refused before any query).
#[tokio::test]
async fn errors_are_problem_json() -> anyhow::Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://127.0.0.1:1/none")?;
    let request = Request::builder()
        .uri("/orders/x")
        .header("authorization", as_user(A, USER).expect("bearer"))
        .body(Body::empty())?;
    let response = app(pool).oneshot(request).await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    let body: Value = serde_json::from_slice(&bytes)?;
    assert_eq!(
        body,
        json!({
            "type": "urn:sagaflow:problem:invalid_parameter",
            "title": "Bad Request",
            "status": 400,
            "detail": "`x` is not an order id (UUID)",
            "code": "invalid_parameter",
        })
    );
    Ok(())
}
