//! The operator API against real PostgreSQL: operators only, bad input named,
//! each change a new version with its `ProductChanged` in the outbox (same
//! transaction), listing with pagination and a text filter, the demo seed.

use crate::common;

use std::time::Duration;

use axum::http::StatusCode;
use common::Api;
use sagaflow_events::messages::ProductChanged;
use sagaflow_test_support::service_auth::{OPERATOR_JWT_SECRET, operator_bearer};
use serde_json::{Value, json};

fn mug(eur: i64) -> Value {
    json!({
        "name": "Blue mug",
        "description": "330 ml",
        "prices": [{ "currency": "USD", "amount_minor": 1350 }, { "currency": "EUR", "amount_minor": eur }]
    })
}

/// The `ProductChanged` events in the outbox for `sku`, oldest first.
async fn outbox(pool: &sqlx::PgPool, sku: &str) -> anyhow::Result<Vec<ProductChanged>> {
    let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
        "SELECT topic, message_type, payload FROM sagaflow_outbox WHERE partition_key = $1
         ORDER BY created_at, message_id",
    )
    .bind(sku)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(topic, message_type, payload)| {
            assert_eq!(
                (topic.as_str(), message_type.as_str()),
                ("catalog.events", "ProductChanged")
            );
            Ok(sagaflow_events::decode(&payload)?)
        })
        .collect()
}

#[tokio::test]
async fn only_operators_read_or_change_the_catalogue() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let customer = operator_bearer("ada", &["customer"]);
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
    for (method, uri, body) in [
        ("PUT", "/products/MUG-BLUE", Some(mug(1250))),
        ("GET", "/products", None),
        ("GET", "/products/MUG-BLUE", None),
    ] {
        let (status, error) = api.call(method, uri, None, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        assert!(error["detail"].is_string());
        let (status, _) = api
            .call(method, uri, Some("Bearer not-a-jwt"), body.clone())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        let (status, _) = api.call(method, uri, Some(&customer), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}");
    }
    let (status, _) = api
        .call(
            "PUT",
            "/products/MUG-BLUE",
            Some(&tenant_operator),
            Some(mug(1250)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM products")
        .fetch_one(&api.db.pool)
        .await?;
    assert_eq!(count, 0);
    assert!(outbox(&api.db.pool, "MUG-BLUE").await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn bad_input_is_422_naming_the_field() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let price =
        |currency: &str, amount: i64| json!([{ "currency": currency, "amount_minor": amount }]);
    for (uri, body, field) in [
        ("/products/mug-blue", mug(1250), "sku"),
        ("/products/MUG_BLUE", mug(1250), "sku"),
        (
            "/products/MUG-BLUE",
            json!({ "name": " ", "prices": price("EUR", 1) }),
            "name",
        ),
        (
            "/products/MUG-BLUE",
            json!({ "name": "Mug", "prices": [] }),
            "prices",
        ),
        (
            "/products/MUG-BLUE",
            json!({ "name": "Mug", "prices": price("EUR", 0) }),
            "prices[0].amount_minor",
        ),
        (
            "/products/MUG-BLUE",
            json!({ "name": "Mug", "prices": price("Euro", 100) }),
            "prices[0].currency",
        ),
    ] {
        let (status, error) = api.ops("PUT", uri, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri} {body}");
        assert_eq!(error["field"], field, "{uri} {body}: {error}");
    }
    // Missing or unknown fields: named by the JSON error.
    let (status, error) = api
        .ops(
            "PUT",
            "/products/MUG-BLUE",
            Some(json!({ "prices": price("EUR", 1) })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("name"),
        "{error}"
    );
    let mut body = mug(1250);
    body["unit_price"] = json!(1);
    let (status, error) = api.ops("PUT", "/products/MUG-BLUE", Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("unit_price"),
        "{error}"
    );
    let (status, error) = api.ops("GET", "/products?limit=0", None).await;
    assert_eq!(
        (status, error["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    assert!(
        outbox(&api.db.pool, "MUG-BLUE").await?.is_empty(),
        "nothing published"
    );
    Ok(())
}

#[tokio::test]
async fn every_change_is_a_new_version_published_through_the_outbox() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let (status, created) = api.ops("PUT", "/products/MUG-BLUE", Some(mug(1250))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["version"], 1);
    assert_eq!(
        created["prices"][0],
        json!({ "currency": "EUR", "amount_minor": 1250 })
    );

    // The same content again: no new version, nothing published.
    let (status, same) = api.ops("PUT", "/products/MUG-BLUE", Some(mug(1250))).await;
    assert_eq!((status, &same["version"]), (StatusCode::OK, &json!(1)));

    let (status, changed) = api.ops("PUT", "/products/MUG-BLUE", Some(mug(1300))).await;
    assert_eq!((status, &changed["version"]), (StatusCode::OK, &json!(2)));
    let mut withdrawn = mug(1300);
    withdrawn["active"] = json!(false);
    let (status, withdrawn) = api.ops("PUT", "/products/MUG-BLUE", Some(withdrawn)).await;
    assert_eq!((status, &withdrawn["version"]), (StatusCode::OK, &json!(3)));
    assert_eq!(withdrawn["active"], false);

    let events = outbox(&api.db.pool, "MUG-BLUE").await?;
    let seen: Vec<(i64, bool, i64)> = events
        .iter()
        .map(|e| (e.version, e.active, e.prices[0].amount_minor))
        .collect();
    assert_eq!(seen, [(1, true, 1250), (2, true, 1300), (3, false, 1300)]);
    assert_eq!(events[0].name, "Blue mug");
    assert_eq!(events[0].prices.len(), 2);

    let (status, got) = api.ops("GET", "/products/MUG-BLUE", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, withdrawn);
    let (status, _) = api.ops("GET", "/products/NOPE", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn listing_pages_by_sku_and_filters_by_text() -> anyhow::Result<()> {
    let api = Api::new().await?;
    assert_eq!(sagaflow_catalog::seed(&api.db.pool).await?, 5);
    // Seeding again creates nothing and keeps an operator's change.
    let (status, _) = api.ops("PUT", "/products/MUG-BLUE", Some(mug(1400))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sagaflow_catalog::seed(&api.db.pool).await?, 0);
    let (_, mug_now) = api.ops("GET", "/products/MUG-BLUE", None).await;
    assert_eq!(
        (
            mug_now["version"].as_i64(),
            mug_now["prices"][0]["amount_minor"].as_i64()
        ),
        (Some(2), Some(1400))
    );

    let skus = |page: &Value| -> Vec<String> {
        page["products"]
            .as_array()
            .expect("products")
            .iter()
            .map(|p| p["sku"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (status, first) = api.ops("GET", "/products?limit=2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(skus(&first), ["COFFEE-BEANS", "MUG-BLUE"]);
    assert_eq!(first["next_after"], "MUG-BLUE");
    let (_, second) = api
        .ops("GET", "/products?limit=2&after=MUG-BLUE", None)
        .await;
    assert_eq!(skus(&second), ["MUG-RED", "TEA-SENCHA"]);
    let (_, last) = api
        .ops("GET", "/products?limit=2&after=TEA-SENCHA", None)
        .await;
    assert_eq!(skus(&last), ["TOTE-BAG"]);
    assert_eq!(last["next_after"], Value::Null);

    let (_, mugs) = api.ops("GET", "/products?q=MUG", None).await;
    assert_eq!(skus(&mugs), ["MUG-BLUE", "MUG-RED"]);
    let (_, tea) = api.ops("GET", "/products?q=green%20tea", None).await;
    assert_eq!(skus(&tea), ["TEA-SENCHA"]);
    // LIKE wildcards in the text are literal.
    let (_, none) = api.ops("GET", "/products?q=%25", None).await;
    assert!(skus(&none).is_empty());
    Ok(())
}
