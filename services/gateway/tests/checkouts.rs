//! `POST /v1/checkouts`: the transactional outbox, idempotency and validation,
//! against a real PostgreSQL. Prices are refused, SKUs are checked against the
//! catalogue read model, and a checkout by `cart_id` buys the cart's lines (read
//! from a local HTTP server standing in for the cart service).

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sagaflow_events::messages::{InitiateCheckout, OrderLine};
use sagaflow_gateway::Settings;
use sagaflow_gateway::idempotency::fingerprint;
use sagaflow_gateway::routes::checkout_request::CheckoutRequest;
use sagaflow_gateway::routes::checkouts::OPERATION;
use serde_json::{Value, json};
use uuid::Uuid;

use common::{
    CART, Gateway, TENANT, USER, checkout_body, checkout_id, count, feed_product, outbox,
    post_request, product_changed,
};

#[tokio::test]
async fn post_writes_one_initiate_checkout_to_the_outbox() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (status, body) = gw.post(TENANT, USER, "key-1", &checkout_body()).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = checkout_id(&body)?;
    assert_eq!(id.get_version_num(), 7, "checkout ids are UUIDv7");
    assert_eq!(
        body,
        json!({
            "checkout_id": id,
            "status": "pending",
            "links": { "self": format!("/v1/checkouts/{id}"), "events": format!("/v1/sagas/{id}/events") }
        })
    );

    let rows = outbox(gw.pool()).await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.topic, "orchestrator.commands");
    assert_eq!(row.key, id.to_string());
    assert_eq!(row.message_type, "InitiateCheckout");
    assert_eq!(
        row.headers.get("tenant-id").map(String::as_str),
        Some(TENANT)
    );
    assert_eq!(row.headers.get("saga-id"), Some(&id.to_string()));
    assert_eq!(
        row.headers.get("message-type").map(String::as_str),
        Some("InitiateCheckout")
    );
    assert!(row.headers.contains_key("traceparent"));
    let command: InitiateCheckout = sagaflow_events::decode(&row.payload)?;
    assert_eq!(
        command,
        InitiateCheckout {
            checkout_id: id,
            user_id: USER.to_owned(),
            cart_id: Uuid::parse_str(CART)?,
            items: vec![
                OrderLine {
                    sku: "SKU-RED-M".into(),
                    quantity: 2,
                },
                OrderLine {
                    sku: "SKU-BLUE-L".into(),
                    quantity: 1,
                },
            ],
            currency: "EUR".into(),
            payment_method: "card_visa_4242".into(),
            customer_email: "ada@example.com".into(),
            discount_code: Some("WELCOME10".into()),
            shipping_country: Some("DE".into()),
        }
    );

    let (status, view) = gw.get(TENANT, USER, &format!("/v1/checkouts/{id}")).await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        view,
        json!({ "checkout_id": id, "status": "pending", "order_id": null, "steps": [], "failure": null })
    );
    Ok(())
}

#[tokio::test]
async fn same_key_and_body_replays_the_response() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let first = gw.post(TENANT, USER, "retry-me", &checkout_body()).await?;
    assert_eq!(first.0, StatusCode::ACCEPTED);
    let second = gw.post(TENANT, USER, "retry-me", &checkout_body()).await?;
    assert_eq!(second, first);
    // Same request, other formatting and key order: still the same request.
    let reformatted = serde_json::to_string_pretty(&checkout_body())?;
    let third = gw
        .send(post_request(
            Some(TENANT),
            Some(USER),
            Some("retry-me"),
            reformatted,
        ))
        .await?;
    assert_eq!(third, first);
    assert_eq!(outbox(gw.pool()).await?.len(), 1);
    assert_eq!(count(gw.pool(), "checkouts").await?, 1);
    Ok(())
}

#[tokio::test]
async fn same_key_with_another_body_is_422() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (status, _) = gw.post(TENANT, USER, "k", &checkout_body()).await?;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mut other = checkout_body();
    other["items"][0]["quantity"] = json!(3);
    let (status, body) = gw.post(TENANT, USER, "k", &other).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "idempotency_key_reused");
    assert_eq!(body["field"], "Idempotency-Key");
    assert_eq!(outbox(gw.pool()).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn key_of_a_request_still_running_is_409() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let request = CheckoutRequest::parse(checkout_body().to_string().as_bytes())?;
    let hash = fingerprint(OPERATION, &request)?;
    sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, user_id, idempotency_key, request_hash)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(TENANT)
    .bind(USER)
    .bind("in-flight")
    .bind(&hash)
    .execute(gw.pool())
    .await?;
    let (status, body) = gw.post(TENANT, USER, "in-flight", &checkout_body()).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "request_in_progress");
    assert_eq!(outbox(gw.pool()).await?.len(), 0);
    assert_eq!(count(gw.pool(), "checkouts").await?, 0);
    Ok(())
}

#[tokio::test]
async fn keys_are_per_tenant_and_user() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let mine = gw.post(TENANT, USER, "shared", &checkout_body()).await?;
    let other_user = gw
        .post(TENANT, "user-2", "shared", &checkout_body())
        .await?;
    let other_tenant = gw
        .post("tenant-b", USER, "shared", &checkout_body())
        .await?;
    for (status, body) in [&mine, &other_user, &other_tenant] {
        assert_eq!(*status, StatusCode::ACCEPTED, "{body}");
    }
    let ids = [
        checkout_id(&mine.1)?,
        checkout_id(&other_user.1)?,
        checkout_id(&other_tenant.1)?,
    ];
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
    let rows = outbox(gw.pool()).await?;
    assert_eq!(rows.len(), 3);
    let tenants: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.headers.get("tenant-id").map(String::as_str))
        .collect();
    assert_eq!(tenants, vec![TENANT, TENANT, "tenant-b"]);
    Ok(())
}

#[tokio::test]
async fn an_expired_key_counts_as_new() -> anyhow::Result<()> {
    let gw = Gateway::with_settings(Settings {
        idempotency_ttl_secs: 3600,
        ..common::settings()
    })
    .await?;
    let (_, first) = gw.post(TENANT, USER, "old", &checkout_body()).await?;
    // Within the TTL: replayed.
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '59 minutes'")
        .execute(gw.pool())
        .await?;
    let (status, again) = gw.post(TENANT, USER, "old", &checkout_body()).await?;
    assert_eq!((status, &again), (StatusCode::ACCEPTED, &first));
    // Past the TTL: a new checkout, even with another body.
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '61 minutes'")
        .execute(gw.pool())
        .await?;
    let mut other = checkout_body();
    other["currency"] = json!("USD");
    let (status, second) = gw.post(TENANT, USER, "old", &other).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{second}");
    assert_ne!(checkout_id(&second)?, checkout_id(&first)?);
    assert_eq!(outbox(gw.pool()).await?.len(), 2);
    // And the new response is what is now replayed.
    assert_eq!(gw.post(TENANT, USER, "old", &other).await?.1, second);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_start_one_checkout() -> anyhow::Result<()> {
    let gw = std::sync::Arc::new(Gateway::start().await?);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let gw = gw.clone();
        tasks.push(tokio::spawn(async move {
            gw.post(TENANT, USER, "race", &checkout_body()).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = task.await??;
        match status {
            StatusCode::ACCEPTED => {
                ids.insert(checkout_id(&body)?);
            }
            StatusCode::CONFLICT => assert_eq!(body["code"], "request_in_progress"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(outbox(gw.pool()).await?.len(), 1);
    Ok(())
}

async fn assert_rejected(
    gw: &Gateway,
    request: Request<Body>,
    status: StatusCode,
    code: &str,
    field: Option<&str>,
) -> anyhow::Result<()> {
    let (got, body) = gw.send(request).await?;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    match field {
        Some(field) => assert_eq!(body["field"], field, "{body}"),
        None => assert!(body.get("field").is_none(), "{body}"),
    }
    Ok(())
}

#[tokio::test]
async fn rejected_requests_write_nothing() -> anyhow::Result<()> {
    let gw = Gateway::with_settings(Settings {
        max_body_bytes: 2048,
        ..common::settings()
    })
    .await?;
    let valid = checkout_body().to_string();
    let post = |key: Option<&str>, body: String| post_request(Some(TENANT), Some(USER), key, body);

    assert_rejected(
        &gw,
        post(None, valid.clone()),
        StatusCode::BAD_REQUEST,
        "missing_header",
        Some("Idempotency-Key"),
    )
    .await?;
    assert_rejected(
        &gw,
        post(Some(&"k".repeat(129)), valid.clone()),
        StatusCode::BAD_REQUEST,
        "invalid_header",
        Some("Idempotency-Key"),
    )
    .await?;
    assert_rejected(
        &gw,
        post_request(None, None, Some("k"), valid.clone()),
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        Some("Authorization"),
    )
    .await?;
    assert_rejected(
        &gw,
        post(Some("k"), "{\"cart_id\":".into()),
        StatusCode::BAD_REQUEST,
        "malformed_json",
        None,
    )
    .await?;
    assert_rejected(
        &gw,
        post(Some("k"), "[1,2]".into()),
        StatusCode::BAD_REQUEST,
        "malformed_json",
        None,
    )
    .await?;

    let mut bad = checkout_body();
    bad["items"][1]["quantity"] = json!(0);
    assert_rejected(
        &gw,
        post(Some("k"), bad.to_string()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("items[1].quantity"),
    )
    .await?;
    let mut bad = checkout_body();
    bad["currency"] = json!("eur");
    assert_rejected(
        &gw,
        post(Some("k"), bad.to_string()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("currency"),
    )
    .await?;
    let mut bad = checkout_body();
    bad.as_object_mut().map(|o| o.remove("customer_email"));
    assert_rejected(
        &gw,
        post(Some("k"), bad.to_string()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("customer_email"),
    )
    .await?;

    let mut big = checkout_body();
    big["padding"] = Value::String("x".repeat(4096));
    assert_rejected(
        &gw,
        post(Some("k"), big.to_string()),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    )
    .await?;

    assert_eq!(outbox(gw.pool()).await?.len(), 0);
    assert_eq!(count(gw.pool(), "idempotency_keys").await?, 0);
    assert_eq!(count(gw.pool(), "checkouts").await?, 0);

    // The key was never taken: the valid request now goes through.
    let (status, body) = gw.send(post(Some("k"), valid)).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    Ok(())
}

#[tokio::test]
async fn internal_errors_are_hidden_and_carry_the_request_id() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    sqlx::query("ALTER TABLE checkouts RENAME TO checkouts_gone")
        .execute(gw.pool())
        .await?;
    let (status, request_id, body) = gw
        .send_full(post_request(
            Some(TENANT),
            Some(USER),
            Some("k"),
            checkout_body().to_string(),
        ))
        .await?;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["code"], "internal");
    let text = body.to_string();
    assert!(
        !text.contains("checkouts") && !text.contains("relation"),
        "leaks: {text}"
    );
    assert!(request_id.is_some());
    assert_eq!(body["request_id"].as_str(), request_id.as_deref());
    // The transaction rolled back: no key taken, nothing to publish.
    assert_eq!(outbox(gw.pool()).await?.len(), 0);
    assert_eq!(count(gw.pool(), "idempotency_keys").await?, 0);
    Ok(())
}

#[tokio::test]
async fn health_and_readiness() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let get = |uri: &str| {
        Request::builder()
            .uri(uri)
            .body(Body::empty())
            .expect("request")
    };
    assert_eq!(
        gw.send(get("/healthz")).await?,
        (StatusCode::OK, json!({ "status": "ok" }))
    );
    assert_eq!(
        gw.send(get("/readyz")).await?,
        (StatusCode::OK, json!({ "status": "ok" }))
    );
    let (status, body) = gw.send(get("/nowhere")).await?;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    gw.pool().close().await;
    let (status, body) = gw.send(get("/readyz")).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "unavailable");
    assert_eq!(gw.send(get("/healthz")).await?.0, StatusCode::OK);
    Ok(())
}

/// Nothing of a checkout was stored: no checkout row, no outbox row, no
/// idempotency row.
async fn assert_nothing_started(gw: &Gateway) -> anyhow::Result<()> {
    assert_eq!(count(gw.pool(), "checkouts").await?, 0);
    assert_eq!(outbox(gw.pool()).await?.len(), 0);
    assert_eq!(count(gw.pool(), "idempotency_keys").await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_client_price_is_refused_and_starts_nothing() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let mut priced = checkout_body();
    priced["items"][0]["unit_price_minor"] = json!(1);
    let (status, body) = gw.post(TENANT, USER, "cheap", &priced).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "items[0].unit_price_minor", "{body}");
    let message = body["detail"].as_str().unwrap_or_default();
    assert!(message.contains("come from the catalogue"), "{message}");
    for (field, value) in [("total", json!(1)), ("price", json!({"EUR": 1}))] {
        let mut priced = checkout_body();
        priced[field] = value;
        let (status, body) = gw.post(TENANT, USER, "cheap", &priced).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["field"], field, "{body}");
    }
    assert_nothing_started(&gw).await?;
    // The key was not taken: the same key without the price goes through.
    let (status, body) = gw.post(TENANT, USER, "cheap", &checkout_body()).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    Ok(())
}

#[tokio::test]
async fn unknown_inactive_and_unpriced_skus_are_refused_and_start_nothing() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    feed_product(
        gw.pool(),
        &product_changed("SKU-OLD", "Retired", false, &[("EUR", 100)], 3),
    )
    .await?;
    let cases = [
        ("SKU-NOPE", "EUR", "is not in the catalogue"),
        ("SKU-OLD", "EUR", "is not for sale"),
        ("SKU-BLUE-L", "GBP", "has no catalogue price in GBP"),
    ];
    for (sku, currency, reason) in cases {
        let mut body = checkout_body();
        body["items"][1]["sku"] = json!(sku);
        body["currency"] = json!(currency);
        let (status, answer) = gw.post(TENANT, USER, sku, &body).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{sku}: {answer}");
        assert_eq!(answer["field"], "items[1].sku", "{answer}");
        let message = answer["detail"].as_str().unwrap_or_default();
        assert!(
            message.contains(sku) && message.contains(reason),
            "{sku}: {message}"
        );
    }
    // A product deactivated by a newer version cannot be bought any more; an
    // older version arriving late does not bring it back.
    feed_product(
        gw.pool(),
        &product_changed("SKU-RED-M", "Red shirt M", false, &[("EUR", 1999)], 2),
    )
    .await?;
    feed_product(
        gw.pool(),
        &product_changed("SKU-RED-M", "Red shirt M", true, &[("EUR", 1)], 1),
    )
    .await?;
    let (status, answer) = gw.post(TENANT, USER, "k", &checkout_body()).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["field"], "items[0].sku", "{answer}");
    assert_nothing_started(&gw).await?;
    Ok(())
}

/// A stand-in for the cart service on 127.0.0.1: `GET /carts/{id}` answers
/// `carts[id]` (404 when absent) and records the identity headers it got.
struct CartService {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, bool)>>>,
}

impl CartService {
    async fn start(carts: Vec<(Uuid, Value)>) -> anyhow::Result<Self> {
        use axum::extract::{Path, State};
        use axum::http::HeaderMap;
        type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, bool)>>>;
        let seen: Seen = Default::default();
        let carts: std::sync::Arc<std::collections::HashMap<Uuid, Value>> =
            std::sync::Arc::new(carts.into_iter().collect());
        let app = axum::Router::new()
            .route(
                "/carts/{id}",
                axum::routing::get(
                    |State((carts, seen)): State<(
                        std::sync::Arc<std::collections::HashMap<Uuid, Value>>,
                        Seen,
                    )>,
                     headers: HeaderMap,
                     Path(id): Path<Uuid>| async move {
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        let bearer = header("authorization").starts_with("Bearer ");
                        if let Ok(mut seen) = seen.lock() {
                            seen.push((header("x-tenant-id"), header("x-user-id"), bearer));
                        }
                        match carts.get(&id) {
                            Some(cart) => (StatusCode::OK, axum::Json(cart.clone())),
                            None => (
                                StatusCode::NOT_FOUND,
                                axum::Json(json!({"error": "cart not found"})),
                            ),
                        }
                    },
                ),
            )
            .with_state((carts, seen.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, seen })
    }
}

/// A checkout body buying the lines of cart `cart_id`.
fn cart_checkout(cart_id: Uuid) -> Value {
    let mut body = checkout_body();
    body["cart_id"] = json!(cart_id);
    body.as_object_mut().map(|o| o.remove("items"));
    body["shipping_country"] = json!("FR");
    body
}

#[tokio::test]
async fn a_checkout_by_cart_id_buys_the_carts_lines() -> anyhow::Result<()> {
    let cart = Uuid::now_v7();
    let (empty, stale) = (Uuid::now_v7(), Uuid::now_v7());
    let cart_service = CartService::start(vec![
        (
            cart,
            // The cart service's old answer still carries prices: ignored.
            json!({
                "cart_id": cart, "user_id": USER, "total_minor": 3,
                "items": [
                    { "sku": "SKU-BLUE-L", "quantity": 3, "unit_price_minor": 1 },
                    { "sku": "SKU-RED-M", "quantity": 1 }
                ]
            }),
        ),
        (empty, json!({ "cart_id": empty, "items": [] })),
        (
            stale,
            json!({ "cart_id": stale, "items": [{ "sku": "SKU-GONE", "quantity": 1 }] }),
        ),
    ])
    .await?;
    let gw = Gateway::with_settings(Settings {
        cart_url: cart_service.url.clone(),
        ..common::settings()
    })
    .await?;

    // An empty cart, a cart the service does not know (or not the caller's), a
    // cart holding a SKU the catalogue does not know: 422 on cart_id, nothing
    // started.
    for (id, expected) in [
        (empty, "empty"),
        (Uuid::now_v7(), "no such cart"),
        (stale, "SKU-GONE"),
    ] {
        let (status, body) = gw
            .post(TENANT, USER, &id.to_string(), &cart_checkout(id))
            .await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["field"], "cart_id", "{body}");
        let message = body["detail"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{message}");
    }
    assert_nothing_started(&gw).await?;

    let (status, body) = gw
        .post(TENANT, USER, "by-cart", &cart_checkout(cart))
        .await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = checkout_id(&body)?;
    let rows = outbox(gw.pool()).await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let command: InitiateCheckout = sagaflow_events::decode(&rows[0].payload)?;
    assert_eq!(command.checkout_id, id);
    assert_eq!(command.cart_id, cart);
    assert_eq!(
        command.items,
        vec![
            OrderLine {
                sku: "SKU-BLUE-L".into(),
                quantity: 3
            },
            OrderLine {
                sku: "SKU-RED-M".into(),
                quantity: 1
            },
        ]
    );
    assert_eq!(command.shipping_country.as_deref(), Some("FR"));
    assert_eq!(command.currency, "EUR");
    // The lines bought are kept with the checkout.
    let stored: Value = sqlx::query_scalar("SELECT request FROM checkouts WHERE checkout_id = $1")
        .bind(id)
        .fetch_one(gw.pool())
        .await?;
    assert_eq!(stored["items"][0]["sku"], "SKU-BLUE-L", "{stored}");
    assert!(stored["items"][0].get("unit_price_minor").is_none());

    // The cart service was asked as the caller, with an internal token.
    let seen = cart_service
        .seen
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(
        seen.iter()
            .all(|(tenant, user, bearer)| tenant == TENANT && user == USER && *bearer),
        "{seen:?}"
    );

    // A retry replays the answer without asking the cart service again.
    let (status, replay) = gw
        .post(TENANT, USER, "by-cart", &cart_checkout(cart))
        .await?;
    assert_eq!((status, &replay), (StatusCode::ACCEPTED, &body));
    assert_eq!(cart_service.seen.lock().map(|s| s.len()).unwrap_or(0), 4);
    assert_eq!(outbox(gw.pool()).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_cart_service_that_is_down_is_503_and_starts_nothing() -> anyhow::Result<()> {
    // A port nobody listens on.
    let port = sagaflow_test_support::free_port()?;
    let gw = Gateway::with_settings(Settings {
        cart_url: format!("http://127.0.0.1:{port}"),
        ..common::settings()
    })
    .await?;
    let (status, body) = gw
        .post(TENANT, USER, "down", &cart_checkout(Uuid::now_v7()))
        .await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_nothing_started(&gw).await?;
    Ok(())
}
