//! `CancelSaga` on `orchestrator.commands`: the owner's cancel aborts the saga
//! (compensating what it did); cancelling a finished or unknown saga is a no-op;
//! a cancel sent by another tenant cancels nothing and is consumed.

use std::sync::Arc;

use chrono::Utc;
use sagaflow_bus::testing::incoming;
use sagaflow_bus::{Backoff, Outcome, inbox};
use sagaflow_events::messages::CancelSaga;
use sagaflow_orchestrator::{NAME, SagaHandler, Settings, definitions};
use sagaflow_saga_store::{SagaContext, start};
use sagaflow_test_support::TestDb;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn cancel_aborts_a_running_saga_and_ignores_unknown_ones() -> anyhow::Result<()> {
    let db = TestDb::create("cancel").await?;
    sagaflow_orchestrator::migrate(&db.pool).await?;
    let defs = Arc::new(definitions(&Settings::default()));
    let saga = Uuid::now_v7();
    let input = json!({
        "checkout_id": saga, "user_id": "u", "cart_id": Uuid::now_v7(),
        "items": [{"sku": "MUG", "quantity": 1, "unit_price_minor": 100}],
        "currency": "EUR", "payment_method": "card", "customer_email": "a@b.c", "discount_code": null
    });
    let context = SagaContext {
        tenant_id: "tenant-a".into(),
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

    let handler = SagaHandler::new(defs);
    let cancel = incoming(
        Some(saga),
        &CancelSaga {
            saga_id: saga,
            reason: "customer cancelled".into(),
        },
    );
    assert_eq!(
        inbox::process(&db.pool, &handler, NAME, &cancel, Backoff::default()).await,
        Outcome::Handled
    );
    let status: String = sqlx::query_scalar("SELECT status FROM sagas WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(status, "compensating");
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM saga_events WHERE saga_id = $1 ORDER BY seq")
            .bind(saga)
            .fetch_all(&db.pool)
            .await?;
    assert!(kinds.contains(&"abort_requested".to_owned()), "{kinds:?}");
    let released: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sagaflow_outbox WHERE message_type = 'ReleaseInventory'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(released, 1, "the in-flight reservation is undone");

    // Cancelling again (already compensating) or an unknown saga is consumed, not retried.
    let again = incoming(
        Some(saga),
        &CancelSaga {
            saga_id: saga,
            reason: "twice".into(),
        },
    );
    assert_eq!(
        inbox::process(&db.pool, &handler, NAME, &again, Backoff::default()).await,
        Outcome::Handled
    );
    let unknown_id = Uuid::now_v7();
    let unknown = incoming(
        Some(unknown_id),
        &CancelSaga {
            saga_id: unknown_id,
            reason: "x".into(),
        },
    );
    assert_eq!(
        inbox::process(&db.pool, &handler, NAME, &unknown, Backoff::default()).await,
        Outcome::Handled
    );
    Ok(())
}

#[tokio::test]
async fn a_cancel_from_another_tenant_cancels_nothing() -> anyhow::Result<()> {
    let db = TestDb::create("cancel_tenant").await?;
    sagaflow_orchestrator::migrate(&db.pool).await?;
    let defs = Arc::new(definitions(&Settings::default()));
    let saga = Uuid::now_v7();
    let input = json!({
        "checkout_id": saga, "user_id": "ada", "cart_id": Uuid::now_v7(),
        "items": [{"sku": "MUG", "quantity": 1, "unit_price_minor": 100}],
        "currency": "EUR", "payment_method": "card", "customer_email": "a@b.c", "discount_code": null
    });
    let context = SagaContext {
        tenant_id: "tenant-a".into(),
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
    let handler = SagaHandler::new(defs);

    // Same user id, another tenant.
    let mut cancel = incoming(
        Some(saga),
        &CancelSaga {
            saga_id: saga,
            reason: "not yours".into(),
        },
    );
    cancel.envelope.tenant_id = "tenant-b".into();
    assert_eq!(
        inbox::process(&db.pool, &handler, NAME, &cancel, Backoff::default()).await,
        Outcome::Handled,
        "consumed, so it does not block the partition"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM sagas WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(status, "running");
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM saga_events WHERE saga_id = $1 ORDER BY seq")
            .bind(saga)
            .fetch_all(&db.pool)
            .await?;
    assert!(!kinds.contains(&"abort_requested".to_owned()), "{kinds:?}");
    let released: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sagaflow_outbox WHERE message_type = 'ReleaseInventory'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(released, 0);

    // The owner's tenant still can.
    let own = incoming(
        Some(saga),
        &CancelSaga {
            saga_id: saga,
            reason: "mine".into(),
        },
    );
    assert_eq!(
        inbox::process(&db.pool, &handler, NAME, &own, Backoff::default()).await,
        Outcome::Handled
    );
    let status: String = sqlx::query_scalar("SELECT status FROM sagas WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(status, "compensating");
    Ok(())
}
