//! Erasing a user from the saga log, with the same user id in two tenants: tenant
//! A's sagas lose their personal data (and keep it out when a reply arrives late),
//! tenant B's are intact, and the log still replays to the snapshot.

use chrono::Utc;
use sagaflow_saga_engine::Input;
use sagaflow_saga_store::erase::{REDACTED, erase};
use sagaflow_saga_store::{Definitions, SagaContext, apply, log, start};
use sagaflow_test_support::TestDb;
use serde_json::json;
use uuid::Uuid;

const USER: &str = "u1";
const EMAIL: &str = "ada@example.com";

fn context(tenant: &str) -> SagaContext {
    SagaContext {
        tenant_id: tenant.into(),
        correlation_id: Uuid::now_v7(),
        traceparent: None,
    }
}

fn input(saga_id: Uuid) -> serde_json::Value {
    json!({
        "checkout_id": saga_id, "user_id": USER, "cart_id": Uuid::now_v7(),
        "items": [{"sku": "MUG", "quantity": 2}],
        "currency": "EUR", "payment_method": "card-4242", "customer_email": EMAIL,
        "discount_code": null, "shipping_country": "FR"
    })
}

/// Everything stored about `saga` (log and snapshot) as text.
async fn stored(pool: &sqlx::PgPool, saga: Uuid) -> anyhow::Result<String> {
    let events: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT event FROM saga_events WHERE saga_id = $1 ORDER BY seq")
            .bind(saga)
            .fetch_all(pool)
            .await?;
    let state: serde_json::Value = sqlx::query_scalar("SELECT state FROM sagas WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(pool)
        .await?;
    Ok(format!("{events:?} {state}"))
}

#[tokio::test]
async fn erase_redacts_one_tenants_user_and_keeps_late_replies_out() -> anyhow::Result<()> {
    let db = TestDb::create("store_erase").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let defs = Definitions::new(vec![sagaflow_saga_checkout::definition()]);
    let def = defs.latest("checkout").expect("checkout");
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    // Started before the erasure, reaching the log only after it.
    let late_start = Uuid::now_v7();
    for (saga, tenant) in [(a, "tenant-a"), (b, "tenant-b")] {
        let mut tx = db.pool.begin().await?;
        start(
            &mut tx,
            def,
            saga,
            input(saga),
            &context(tenant),
            None,
            Utc::now(),
        )
        .await?;
        tx.commit().await?;
    }
    sqlx::query("UPDATE sagaflow_outbox SET sent_at = now()")
        .execute(&db.pool)
        .await?;
    assert!(stored(&db.pool, a).await?.contains(EMAIL));

    let mut tx = db.pool.begin().await?;
    let erased = erase(&mut tx, "tenant-a", USER, Utc::now(), Some(Uuid::now_v7())).await?;
    tx.commit().await?;
    assert_eq!(erased.sagas, vec![a]);
    assert!(erased.events >= 1 && erased.outbox >= 1, "{erased:?}");

    let a_text = stored(&db.pool, a).await?;
    for personal in [EMAIL, "card-4242", "FR"] {
        assert!(!a_text.contains(personal), "{personal} left in {a_text}");
    }
    assert!(
        a_text.contains(REDACTED) && a_text.contains("MUG"),
        "structure kept: {a_text}"
    );
    let b_text = stored(&db.pool, b).await?;
    assert!(
        b_text.contains(EMAIL) && !b_text.contains(REDACTED),
        "tenant B intact: {b_text}"
    );
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE headers->>'saga-id' = $1")
            .bind(a.to_string())
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(left, 0, "sent commands with the email are gone");

    // A late reply carrying free text is redacted on the way in; the log replays.
    let mut tx = db.pool.begin().await?;
    let reply = Input::Reply {
        message_type: "InventoryReserved".into(),
        payload: json!({"saga_id": a, "reservation_id": Uuid::now_v7(), "note": EMAIL}),
        causation_id: None,
    };
    let _ = apply(&mut tx, &defs, a, &reply, None, Utc::now()).await;
    tx.commit().await?;
    let a_text = stored(&db.pool, a).await?;
    assert!(!a_text.contains(EMAIL), "{a_text}");
    let mut conn = db.pool.acquire().await?;
    let snapshot: sqlx::types::Json<sagaflow_saga_engine::SagaState> =
        sqlx::query_scalar("SELECT state FROM sagas WHERE saga_id = $1")
            .bind(a)
            .fetch_one(&mut *conn)
            .await?;
    assert_eq!(log::replayed(&mut conn, a).await?, Some(snapshot.0));

    // The user's saga that began before the erasure but is created after it.
    let mut tx = db.pool.begin().await?;
    start(
        &mut tx,
        def,
        late_start,
        input(late_start),
        &context("tenant-a"),
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    assert!(!stored(&db.pool, late_start).await?.contains(EMAIL));
    // A saga the user starts after the erasure is theirs again.
    let fresh = Uuid::now_v7();
    let mut tx = db.pool.begin().await?;
    start(
        &mut tx,
        def,
        fresh,
        input(fresh),
        &context("tenant-a"),
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    assert!(stored(&db.pool, fresh).await?.contains(EMAIL));
    Ok(())
}
