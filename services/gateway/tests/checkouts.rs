//! `POST /v1/checkouts`: the transactional outbox, idempotency and validation,
//! against a real PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sagaflow_events::messages::{CheckoutItem, InitiateCheckout};
use sagaflow_gateway::Settings;
use sagaflow_gateway::idempotency::fingerprint;
use sagaflow_gateway::routes::checkout_request::CheckoutRequest;
use sagaflow_gateway::routes::checkouts::OPERATION;
use serde_json::{Value, json};
use uuid::Uuid;

use common::{
    CART, Gateway, TENANT, USER, checkout_body, checkout_id, count, outbox, post_request,
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
                CheckoutItem {
                    sku: "SKU-RED-M".into(),
                    quantity: 2,
                    unit_price_minor: 1999
                },
                CheckoutItem {
                    sku: "SKU-BLUE-L".into(),
                    quantity: 1,
                    unit_price_minor: 4500
                },
            ],
            currency: "EUR".into(),
            payment_method: "card_visa_4242".into(),
            customer_email: "ada@example.com".into(),
            discount_code: Some("WELCOME10".into()),
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
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
    assert_eq!(body["error"]["field"], "Idempotency-Key");
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
    assert_eq!(body["error"]["code"], "request_in_progress");
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
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "request_in_progress"),
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
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    match field {
        Some(field) => assert_eq!(body["error"]["field"], field, "{body}"),
        None => assert!(body["error"].get("field").is_none(), "{body}"),
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
    assert_eq!(body["error"]["code"], "internal");
    let text = body.to_string();
    assert!(
        !text.contains("checkouts") && !text.contains("relation"),
        "leaks: {text}"
    );
    assert!(request_id.is_some());
    assert_eq!(body["error"]["request_id"].as_str(), request_id.as_deref());
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
        (status, &body["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    gw.pool().close().await;
    let (status, body) = gw.send(get("/readyz")).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(gw.send(get("/healthz")).await?.0, StatusCode::OK);
    Ok(())
}
