//! Sagas started by another producer (the planner, for the assistant): their
//! `InitiateCheckout` / `InitiateGeneration` from `orchestrator.commands`, fed
//! through the inbox like the consumer does, make them visible to their owner
//! (and only to them); progress that came first is applied when the start
//! arrives; the gateway's own commands coming back change nothing.

use crate::common;

use axum::http::StatusCode;
use sagaflow_bus::{Backoff, Outcome, inbox};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    CancelSaga, DocumentKind, InitiateCheckout, InitiateGeneration, OrderLine,
};
use sagaflow_gateway::{NAME, Projection};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

use common::{Gateway, TENANT, USER, count, feed_event, get_request, incoming, progress_of};

fn initiate_checkout(id: Uuid, user: &str) -> InitiateCheckout {
    InitiateCheckout {
        checkout_id: id,
        user_id: user.into(),
        cart_id: Uuid::now_v7(),
        items: vec![OrderLine {
            sku: "SKU-RED-M".into(),
            quantity: 1,
        }],
        currency: "EUR".into(),
        payment_method: "card_visa_4242".into(),
        customer_email: "ada@example.com".into(),
        discount_code: None,
        shipping_country: Some("DE".into()),
    }
}

fn initiate_generation(id: Uuid, user: &str) -> InitiateGeneration {
    InitiateGeneration {
        generation_id: id,
        user_id: user.into(),
        kind: DocumentKind::Resume,
        cv_text: "Ada Lovelace".into(),
        job_description: "A senior Rust engineer for event-driven systems on Kafka.".into(),
        template: None,
        token_budget: 4000,
    }
}

/// Feeds `body` (tenant `tenant`, saga `saga_id`) through the projection's inbox.
async fn feed<T: Contract>(
    gw: &Gateway,
    tenant: &str,
    saga_id: Uuid,
    body: &T,
) -> anyhow::Result<Outcome> {
    let message = incoming(tenant, saga_id, body);
    Ok(inbox::process(gw.pool(), &Projection, NAME, &message, Backoff::default()).await)
}

async fn source(gw: &Gateway, table: &str, id_column: &str, id: Uuid) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT source FROM {table} WHERE {id_column} = $1"
    ))
    .bind(id)
    .fetch_one(gw.pool())
    .await?)
}

/// The ids of the caller's sagas in `GET /v1/sagas`.
async fn listed(gw: &Gateway, tenant: &str, user: &str) -> anyhow::Result<Vec<Value>> {
    let (status, page) = gw.get(tenant, user, "/v1/sagas").await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    Ok(page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| item["saga_id"].clone())
        .collect())
}

#[tokio::test]
async fn a_start_by_another_producer_is_visible_to_its_owner_only() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let checkout = Uuid::now_v7();
    let generation = Uuid::now_v7();
    assert_eq!(
        feed(&gw, TENANT, checkout, &initiate_checkout(checkout, USER)).await?,
        Outcome::Handled
    );
    assert_eq!(
        feed(
            &gw,
            TENANT,
            generation,
            &initiate_generation(generation, USER)
        )
        .await?,
        Outcome::Handled
    );
    assert_eq!(
        source(&gw, "checkouts", "checkout_id", checkout).await?,
        "assistant"
    );
    assert_eq!(
        source(&gw, "generations", "generation_id", generation).await?,
        "assistant"
    );

    let (status, view) = gw
        .get(TENANT, USER, &format!("/v1/checkouts/{checkout}"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "pending");
    let (status, view) = gw
        .get(TENANT, USER, &format!("/v1/generations/{generation}"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        (&view["status"], &view["kind"]),
        (&json!("pending"), &json!("resume"))
    );
    assert_eq!(
        gw.get(TENANT, USER, &format!("/v1/sagas/{checkout}/events"))
            .await?
            .0,
        StatusCode::OK
    );
    let stream = gw
        .app
        .clone()
        .oneshot(get_request(
            TENANT,
            USER,
            &format!("/v1/sagas/{generation}/stream"),
        ))
        .await?;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        listed(&gw, TENANT, USER).await?,
        vec![json!(generation), json!(checkout)]
    );
    let (_, history) = gw.get(TENANT, USER, "/v1/history").await?;
    assert_eq!(
        history["items"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );

    // Another tenant, or another user of the tenant, sees none of it.
    for (tenant, user) in [("tenant-b", USER), (TENANT, "user-2")] {
        for uri in [
            format!("/v1/checkouts/{checkout}"),
            format!("/v1/generations/{generation}"),
            format!("/v1/sagas/{checkout}/stream"),
            format!("/v1/sagas/{generation}/stream"),
        ] {
            let (status, body) = gw.get(tenant, user, &uri).await?;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{tenant}/{user} {uri}: {body}"
            );
        }
        assert!(listed(&gw, tenant, user).await?.is_empty());
        let (_, history) = gw.get(tenant, user, "/v1/history").await?;
        assert_eq!(history["items"], json!([]));
    }
    // The saga log is its owner's, as for the gateway's own sagas.
    let log = format!("/v1/sagas/{checkout}/events");
    assert_eq!(gw.get(TENANT, USER, &log).await?.0, StatusCode::OK);
    assert_eq!(
        gw.get(TENANT, "user-2", &log).await?.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        gw.get("tenant-b", USER, &log).await?.0,
        StatusCode::NOT_FOUND
    );

    // Other commands on the topic are none of the projection's business.
    let cancel = CancelSaga {
        saga_id: checkout,
        reason: "changed my mind".into(),
    };
    assert_eq!(
        feed(&gw, TENANT, checkout, &cancel).await?,
        Outcome::Handled
    );
    assert_eq!(count(gw.pool(), "checkouts").await?, 1);
    let (_, view) = gw
        .get(TENANT, USER, &format!("/v1/checkouts/{checkout}"))
        .await?;
    assert_eq!(view["status"], "pending");
    Ok(())
}

#[tokio::test]
async fn a_start_without_an_owner_is_poison() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = Uuid::now_v7();
    let outcome = feed(&gw, TENANT, id, &initiate_checkout(id, "")).await?;
    assert!(matches!(outcome, Outcome::Poison(_)), "{outcome:?}");
    assert_eq!(count(gw.pool(), "checkouts").await?, 0);
    Ok(())
}

#[tokio::test]
async fn progress_before_the_start_is_applied_when_it_arrives() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let checkout = Uuid::now_v7();
    let order = Uuid::now_v7();
    // Out of order among themselves too: seq 3 before seq 2.
    for event in [
        progress_of(
            "checkout",
            checkout,
            1,
            "started",
            None,
            "running",
            json!({}),
        ),
        progress_of(
            "checkout",
            checkout,
            3,
            "completed",
            None,
            "completed",
            json!({}),
        ),
        progress_of(
            "checkout",
            checkout,
            2,
            "step_completed",
            Some("create_order"),
            "running",
            json!({ "reply": { "order_id": order } }),
        ),
    ] {
        feed_event(&gw, TENANT, &event).await?;
    }
    let uri = format!("/v1/checkouts/{checkout}");
    assert_eq!(gw.get(TENANT, USER, &uri).await?.0, StatusCode::NOT_FOUND);
    assert_eq!(
        gw.get(TENANT, USER, &format!("/v1/sagas/{checkout}/events"))
            .await?
            .0,
        StatusCode::NOT_FOUND,
        "no row yet: nobody sees the log"
    );

    feed(&gw, TENANT, checkout, &initiate_checkout(checkout, USER)).await?;
    let (status, view) = gw.get(TENANT, USER, &uri).await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["order_id"], json!(order));
    assert_eq!(view["failure"], Value::Null);
    let seqs: Vec<i64> = view["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["seq"].as_i64())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);

    // A generation whose validate step came first, then its failure; the rest
    // follows after the start as usual.
    let generation = Uuid::now_v7();
    let document = Uuid::now_v7();
    let refused = json!({ "reason": "token budget exceeded" });
    for (seq, kind, step, status, detail) in [
        (
            1,
            "step_completed",
            Some("validate"),
            "running",
            json!({ "reply": { "document_id": document } }),
        ),
        (
            2,
            "step_failed",
            Some("export"),
            "compensating",
            refused.clone(),
        ),
    ] {
        feed_event(
            &gw,
            TENANT,
            &progress_of("generation", generation, seq, kind, step, status, detail),
        )
        .await?;
    }
    feed(
        &gw,
        TENANT,
        generation,
        &initiate_generation(generation, USER),
    )
    .await?;
    feed_event(
        &gw,
        TENANT,
        &progress_of(
            "generation",
            generation,
            3,
            "compensated",
            None,
            "compensated",
            json!({}),
        ),
    )
    .await?;
    let (status, view) = gw
        .get(TENANT, USER, &format!("/v1/generations/{generation}"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "compensated");
    assert_eq!(view["document_id"], json!(document));
    assert_eq!(
        view["failure"],
        json!({ "kind": "step_failed", "step": "export", "seq": 2, "detail": refused })
    );
    let (_, history) = gw.get(TENANT, USER, "/v1/history").await?;
    let statuses: Vec<&str> = history["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["compensated", "completed"], "{history}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_start_and_progress_handled_at_once_never_miss_each_other() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let ids: Vec<Uuid> = (0..24).map(|_| Uuid::now_v7()).collect();
    let mut tasks = Vec::new();
    for (i, &id) in ids.iter().enumerate() {
        let start = incoming(TENANT, id, &initiate_checkout(id, USER));
        let event = progress_of("checkout", id, 1, "started", None, "running", json!({}));
        let progress = incoming(TENANT, id, &event);
        // Alternate which one is sent first; both run concurrently.
        let (first, second) = if i % 2 == 0 {
            (start, progress)
        } else {
            (progress, start)
        };
        for message in [first, second] {
            let pool = gw.pool().clone();
            tasks.push(tokio::spawn(async move {
                inbox::process(&pool, &Projection, NAME, &message, Backoff::default()).await
            }));
        }
    }
    for task in tasks {
        assert_eq!(task.await?, Outcome::Handled);
    }
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM checkouts WHERE status <> 'running' OR last_seq IS DISTINCT FROM 1",
    )
    .fetch_one(gw.pool())
    .await?;
    assert_eq!(pending, 0, "a start missed its progress");
    assert_eq!(count(gw.pool(), "checkouts").await?, ids.len() as i64);
    Ok(())
}

#[tokio::test]
async fn the_gateways_own_start_coming_back_changes_nothing() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let checkout = gw.checkout(TENANT, USER).await?;
    let generation = gw.generation(TENANT, USER).await?;
    for (definition, id) in [("checkout", checkout), ("generation", generation)] {
        feed_event(
            &gw,
            TENANT,
            &progress_of(definition, id, 1, "started", None, "running", json!({})),
        )
        .await?;
    }
    let snapshot = "SELECT to_jsonb(t) - 'updated_at' FROM (
                        SELECT checkout_id AS id, tenant_id, user_id, request, status, order_id,
                               failure, last_seq, source FROM checkouts
                        UNION ALL
                        SELECT generation_id, tenant_id, user_id, request, status, document_id,
                               failure, last_seq, source FROM generations) t ORDER BY id";
    let before: Vec<Value> = sqlx::query_scalar(snapshot).fetch_all(gw.pool()).await?;
    assert_eq!(before.len(), 2);
    assert!(
        before.iter().all(|row| row["source"] == "gateway"),
        "{before:?}"
    );

    // The commands the gateway put in its outbox, as they come back from the topic.
    for row in common::outbox(gw.pool()).await? {
        let outcome = match row.message_type.as_str() {
            "InitiateCheckout" => {
                let command: InitiateCheckout = sagaflow_events::decode(&row.payload)?;
                feed(&gw, TENANT, command.checkout_id, &command).await?
            }
            "InitiateGeneration" => {
                let command: InitiateGeneration = sagaflow_events::decode(&row.payload)?;
                feed(&gw, TENANT, command.generation_id, &command).await?
            }
            other => anyhow::bail!("unexpected outbox message {other}"),
        };
        assert_eq!(outcome, Outcome::Handled);
    }
    let after: Vec<Value> = sqlx::query_scalar(snapshot).fetch_all(gw.pool()).await?;
    assert_eq!(after, before);
    assert_eq!(listed(&gw, TENANT, USER).await?.len(), 2);
    let (_, view) = gw
        .get(TENANT, USER, &format!("/v1/checkouts/{checkout}"))
        .await?;
    assert_eq!(view["status"], "running");
    Ok(())
}
