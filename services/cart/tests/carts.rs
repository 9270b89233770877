//! The cart HTTP API (through the router, no server) and ClearCart through the inbox.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{incoming, send};
use sagaflow_cart::{CartHandler, NAME, router};
use sagaflow_events::messages::{CartCleared, ClearCart};
use sagaflow_test_support::TestDb;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("cart").await?;
    sagaflow_cart::migrate(&db.pool).await?;
    Ok(db)
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    user: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(user) = user {
        request = request.header("x-user-id", user);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?,
        None => request.body(Body::empty())?,
    };
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok((status, json))
}

#[tokio::test]
async fn crud_through_the_router() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(db.pool.clone());
    let cart = Uuid::now_v7();
    let uri = |rest: &str| format!("/carts/{cart}{rest}");

    let (status, body) = call(&app, "GET", &uri(""), Some("alice"), None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");

    let (status, body) = call(
        &app,
        "PUT",
        &uri("/items/A"),
        Some("alice"),
        Some(json!({"quantity": 2, "unit_price_minor": 150})),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user_id"], "alice");
    let (status, _) = call(
        &app,
        "PUT",
        &uri("/items/B"),
        Some("alice"),
        Some(json!({"quantity": 1, "unit_price_minor": 99})),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    // Upsert: replaces the line.
    let (_, body) = call(
        &app,
        "PUT",
        &uri("/items/A"),
        Some("alice"),
        Some(json!({"quantity": 3, "unit_price_minor": 100})),
    )
    .await?;
    assert_eq!(
        body["items"],
        json!([{"sku": "A", "quantity": 3, "unit_price_minor": 100}, {"sku": "B", "quantity": 1, "unit_price_minor": 99}])
    );
    assert_eq!(body["total_minor"], 399);

    let (status, body) = call(&app, "DELETE", &uri("/items/B"), Some("alice"), None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
    let (status, body) = call(&app, "GET", &uri(""), Some("alice"), None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total_minor"], 300);
    assert_eq!(body["cart_id"], cart.to_string());
    Ok(())
}

#[tokio::test]
async fn bad_input_is_a_4xx_json_error() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(db.pool.clone());
    let cart = Uuid::now_v7();
    let item = format!("/carts/{cart}/items/A");
    let good = json!({"quantity": 1, "unit_price_minor": 10});

    let cases = [
        (
            "PUT",
            item.clone(),
            Some("alice"),
            Some(json!({"quantity": 0, "unit_price_minor": 10})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "PUT",
            item.clone(),
            Some("alice"),
            Some(json!({"quantity": 1, "unit_price_minor": -1})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "PUT",
            item.clone(),
            Some("alice"),
            Some(json!({"quantity": "two"})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "PUT",
            "/carts/not-a-uuid/items/A".to_owned(),
            Some("alice"),
            Some(good.clone()),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "PUT",
            item.clone(),
            None,
            Some(good.clone()),
            StatusCode::BAD_REQUEST,
            "missing_user",
        ),
        (
            "GET",
            "/carts/nope".to_owned(),
            Some("alice"),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
    ];
    for (method, uri, user, body, status, code) in cases {
        let (got, json) = call(&app, method, &uri, user, body).await?;
        assert_eq!(
            (got, json["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {uri}: {json}"
        );
        assert!(json["error"]["message"].is_string(), "{json}");
    }

    // Another user's cart.
    let (status, _) = call(&app, "PUT", &item, Some("alice"), Some(good.clone())).await?;
    assert_eq!(status, StatusCode::OK);
    let (status, json) = call(&app, "PUT", &item, Some("mallory"), Some(good)).await?;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, _) = call(
        &app,
        "GET",
        &format!("/carts/{cart}"),
        Some("mallory"),
        None,
    )
    .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&app, "DELETE", &item, Some("mallory"), None).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cart = sagaflow_cart::store::get_cart(&db.pool, cart)
        .await?
        .expect("exists");
    assert_eq!(
        (cart.user_id.as_str(), cart.items.len()),
        ("alice", 1),
        "untouched"
    );
    Ok(())
}

#[tokio::test]
async fn clear_cart_is_idempotent_and_a_missing_cart_is_fine() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = CartHandler::default();
    let cart = Uuid::now_v7();
    sagaflow_cart::store::put_item(&db.pool, cart, "alice", "A", 2, 100).await?;
    sagaflow_cart::store::put_item(&db.pool, cart, "alice", "B", 1, 100).await?;

    let saga = Uuid::now_v7();
    let clear = |user: &str| {
        incoming(
            Some(saga),
            &ClearCart {
                saga_id: saga,
                cart_id: cart,
                user_id: user.into(),
            },
        )
    };

    // Someone else's ClearCart does not empty alice's cart.
    let _: CartCleared = send(&db.pool, &handler, NAME, &clear("mallory"))
        .await?
        .expect();
    assert_eq!(
        sagaflow_cart::store::get_cart(&db.pool, cart)
            .await?
            .expect("exists")
            .items
            .len(),
        2
    );

    for _ in 0..2 {
        let cleared: CartCleared = send(&db.pool, &handler, NAME, &clear("alice"))
            .await?
            .expect();
        assert_eq!((cleared.saga_id, cleared.cart_id), (saga, cart));
        let now = sagaflow_cart::store::get_cart(&db.pool, cart)
            .await?
            .expect("the cart stays");
        assert!(now.items.is_empty());
    }

    let missing = Uuid::now_v7();
    let message = incoming(
        Some(saga),
        &ClearCart {
            saga_id: saga,
            cart_id: missing,
            user_id: "bob".into(),
        },
    );
    let cleared: CartCleared = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(cleared.cart_id, missing);
    assert!(
        sagaflow_cart::store::get_cart(&db.pool, missing)
            .await?
            .is_none()
    );
    Ok(())
}
