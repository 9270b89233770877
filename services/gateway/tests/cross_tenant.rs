//! Tenant isolation on every route that touches a resource: a caller of tenant B
//! with the very same `sub` as the owner cannot read, follow, change or download
//! tenant A's checkout, generation, saga log or stream, document, history or saga
//! list, nor erase or cancel them, nor reach A's cart (the real cart service behind
//! the gateway, 404 like a cart that does not exist). The owner, asking the same
//! things, gets them. `DELETE /v1/me` publishes the erasure in the caller's tenant
//! only and cancels only the caller's running generations.

use crate::common;

use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use sagaflow_gateway::Settings;
use sagaflow_test_support::TestDb;
use serde_json::{Value, json};
use uuid::Uuid;

use common::{Gateway, TENANT, USER, checkout_body, count, feed_event, progress_of};

/// A stand-in for the generation service's document API.
async fn documents_stub() -> anyhow::Result<SocketAddr> {
    let app = Router::new().route(
        "/documents/{id}/{format}",
        get(|| async { ([("content-type", "application/pdf")], "%PDF-1.7 test") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The real cart service's HTTP API on a fresh database.
async fn cart_service() -> anyhow::Result<(TestDb, SocketAddr)> {
    let db = TestDb::create("cart").await?;
    sagaflow_cart::migrate(&db.pool).await?;
    let app = sagaflow_service_auth::internal::guard(
        sagaflow_cart::router(db.pool.clone()),
        sagaflow_test_support::service_auth::internal_verifier("cart"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((db, addr))
}

struct Owned {
    checkout: Uuid,
    generation: Uuid,
    document: Uuid,
}

/// Tenant A's checkout and completed generation (with its document).
async fn tenant_a(gw: &Gateway) -> anyhow::Result<Owned> {
    let checkout = gw.checkout(TENANT, USER).await?;
    let generation = gw.generation(TENANT, USER).await?;
    let document = Uuid::now_v7();
    feed_event(
        gw,
        TENANT,
        &progress_of(
            "checkout",
            checkout,
            1,
            "started",
            None,
            "running",
            json!({}),
        ),
    )
    .await?;
    for (seq, kind, step, status, detail) in [
        (1, "started", None, "running", json!({})),
        (
            2,
            "step_completed",
            Some("export"),
            "running",
            json!({ "reply": { "document_id": document } }),
        ),
        (3, "completed", None, "completed", json!({})),
    ] {
        feed_event(
            gw,
            TENANT,
            &progress_of("generation", generation, seq, kind, step, status, detail),
        )
        .await?;
    }
    Ok(Owned {
        checkout,
        generation,
        document,
    })
}

#[tokio::test]
async fn another_tenant_reaches_nothing_of_tenant_a() -> anyhow::Result<()> {
    let docs = documents_stub().await?;
    let gw = Gateway::with_settings(Settings {
        generation_url: format!("http://{docs}"),
        ..common::settings()
    })
    .await?;
    let a = tenant_a(&gw).await?;
    let reads = [
        format!("/v1/checkouts/{}", a.checkout),
        format!("/v1/generations/{}", a.generation),
        format!("/v1/generations/{}/stream", a.generation),
        format!("/v1/sagas/{}/events", a.checkout),
        format!("/v1/sagas/{}/events", a.generation),
        format!("/v1/sagas/{}/stream", a.checkout),
        format!("/v1/sagas/{}/stream", a.generation),
        format!("/v1/documents/{}/pdf", a.document),
        format!("/v1/documents/{}/md", a.document),
    ];

    // The owner gets every one of them (the routes work; this is not a 404 test
    // of routes that never answer).
    for uri in &reads {
        let response =
            tower::ServiceExt::oneshot(gw.app.clone(), common::get_request(TENANT, USER, uri))
                .await?;
        assert_eq!(response.status(), StatusCode::OK, "owner {uri}");
    }

    // Tenant B, with the owner's very user id.
    for (tenant, user) in [("tenant-b", USER)] {
        for uri in &reads {
            let (status, body) = gw.get(tenant, user, uri).await?;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{tenant}/{user} {uri}: {body}"
            );
            assert_eq!(body["code"], "not_found");
        }
        let (status, _) = gw
            .delete(tenant, user, &format!("/v1/generations/{}", a.generation))
            .await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{tenant}/{user} cancel");

        let (status, history) = gw.get(tenant, user, "/v1/history").await?;
        assert_eq!(
            (status, &history),
            (StatusCode::OK, &json!({ "items": [] }))
        );
        for query in [
            "",
            "?definition=checkout",
            "?status=completed",
            "?limit=100",
        ] {
            let (status, page) = gw.get(tenant, user, &format!("/v1/sagas{query}")).await?;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(page["items"], json!([]), "{tenant}/{user} {query}: {page}");
        }

        // Erasing "me" in tenant B leaves tenant A's data alone.
        let (status, erased) = gw.delete(tenant, user, "/v1/me").await?;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(erased["erased_generations"], 0);

        // The owner's idempotency key means nothing in tenant B: a new checkout,
        // not a replay of A's answer.
        let (status, body) = gw
            .post(tenant, user, "shared-key", &checkout_body())
            .await?;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(count(gw.pool(), "generation_cancellations").await?, 0);
    let still: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM generations WHERE generation_id = $1 AND document_id = $2",
    )
    .bind(a.generation)
    .bind(a.document)
    .fetch_one(gw.pool())
    .await?;
    assert_eq!(
        still, 1,
        "tenant A's generation survives tenant B's erasure"
    );
    // And the owner still sees everything.
    let (status, view) = gw
        .get(TENANT, USER, &format!("/v1/generations/{}", a.generation))
        .await?;
    assert_eq!(
        (status, &view["status"]),
        (StatusCode::OK, &json!("completed"))
    );
    let (_, history) = gw.get(TENANT, USER, "/v1/history").await?;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(2));
    Ok(())
}

#[tokio::test]
async fn another_tenant_cannot_reach_a_cart_through_the_gateway() -> anyhow::Result<()> {
    let (_cart_db, cart) = cart_service().await?;
    let gw = Gateway::with_settings(Settings {
        cart_url: format!("http://{cart}"),
        ..common::settings()
    })
    .await?;
    let cart_id = Uuid::now_v7();
    let put = |tenant: &str, user: &str, sku: &str| {
        axum::http::Request::builder()
            .method("PUT")
            .uri(format!("/v1/carts/{cart_id}/items/{sku}"))
            .header("Authorization", common::bearer(tenant, user))
            .header("Content-Type", "application/json")
            .body(axum::body::Body::from(json!({ "quantity": 2 }).to_string()))
            .expect("request")
    };
    let (status, body) = gw.send(put(TENANT, USER, "SKU-RED-M")).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, mine) = gw
        .get(TENANT, USER, &format!("/v1/carts/{cart_id}"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(lines(&mine), 1);

    // Tenant B's user with the same sub can neither read nor empty it: 404, as if
    // it did not exist (a 403 would confirm that it does).
    let (status, body) = gw
        .get("tenant-b", USER, &format!("/v1/carts/{cart_id}"))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body.get("items").is_none() && body.get("lines").is_none(),
        "{body}"
    );
    let (status, _) = gw
        .delete(
            "tenant-b",
            USER,
            &format!("/v1/carts/{cart_id}/items/SKU-RED-M"),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Writing to the same id fills tenant B's own cart, never A's.
    let (status, theirs) = gw.send(put("tenant-b", USER, "SKU-EVIL")).await?;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(lines(&theirs), 1);
    let (_, after) = gw
        .get(TENANT, USER, &format!("/v1/carts/{cart_id}"))
        .await?;
    assert_eq!(
        after["items"],
        json!([{ "sku": "SKU-RED-M", "quantity": 2 }]),
        "{after}"
    );
    Ok(())
}

#[tokio::test]
async fn erasing_me_in_one_tenant_publishes_for_that_tenant_and_cancels_only_its_generations()
-> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let a = gw.generation(TENANT, USER).await?;
    let b = gw.generation("tenant-b", USER).await?;
    let (status, erased) = gw.delete("tenant-b", USER, "/v1/me").await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{erased}");
    assert_eq!(
        (
            &erased["erased_generations"],
            &erased["cancelled_generations"]
        ),
        (&json!(1), &json!(1))
    );
    let outbox = common::outbox(gw.pool()).await?;
    let cancels: Vec<_> = outbox
        .iter()
        .filter(|row| row.message_type == "CancelSaga")
        .collect();
    assert_eq!(cancels.len(), 1, "only tenant B's running generation");
    assert_eq!(cancels[0].key, b.to_string());
    assert_eq!(cancels[0].headers["tenant-id"], "tenant-b");
    let request = outbox
        .iter()
        .find(|row| row.message_type == "UserErasureRequested")
        .expect("the erasure is published");
    assert_eq!(
        (request.topic.as_str(), request.key.as_str()),
        ("gateway.events", USER)
    );
    assert_eq!(request.headers["tenant-id"], "tenant-b");
    let body: sagaflow_events::messages::UserErasureRequested =
        sagaflow_events::decode(&request.payload)?;
    assert_eq!(body.user_id, USER);
    // Tenant A's generation of the same sub is still there.
    let (status, view) = gw
        .get(TENANT, USER, &format!("/v1/generations/{a}"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    let (status, _) = gw
        .get("tenant-b", USER, &format!("/v1/generations/{b}"))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

/// The number of lines of a cart as the cart service shows it.
fn lines(cart: &Value) -> usize {
    ["items", "lines"]
        .iter()
        .find_map(|k| cart[*k].as_array().map(Vec::len))
        .unwrap_or(0)
}
