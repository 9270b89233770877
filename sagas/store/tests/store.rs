//! The saga store against a real PostgreSQL: log, snapshot, outbox rows, timers.

use chrono::{Duration as Delta, Utc};
use sagaflow_saga_engine::{Input, Status};
use sagaflow_saga_store::{Definitions, SagaContext, apply, log, queries, start, timeouts};
use sagaflow_test_support::TestDb;
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

fn context() -> SagaContext {
    SagaContext {
        tenant_id: "acme".into(),
        correlation_id: Uuid::now_v7(),
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
    }
}

fn input(saga_id: Uuid) -> serde_json::Value {
    json!({
        "checkout_id": saga_id, "user_id": "u1", "cart_id": Uuid::now_v7(),
        "items": [{"sku": "MUG", "quantity": 2, "unit_price_minor": 1500}],
        "currency": "EUR", "payment_method": "card", "customer_email": "a@b.c", "discount_code": null
    })
}

async fn outbox(pool: &sqlx::PgPool) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
    let rows = sqlx::query("SELECT message_type, topic, headers->>'causation-id' AS causation FROM sagaflow_outbox ORDER BY id")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get("message_type"), r.get("topic"), r.get("causation")))
        .collect())
}

#[tokio::test]
async fn a_saga_is_a_log_whose_replay_is_its_state() -> anyhow::Result<()> {
    let db = TestDb::create("store").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let defs = Definitions::new(vec![sagaflow_saga_checkout::definition()]);
    let def = defs.latest("checkout").expect("checkout");
    let saga = Uuid::now_v7();

    let mut tx = db.pool.begin().await?;
    let started = start(
        &mut tx,
        def,
        saga,
        input(saga),
        &context(),
        None,
        Utc::now(),
    )
    .await?;
    assert!(started.is_some());
    tx.commit().await?;
    // A second start is a no-op.
    let mut tx = db.pool.begin().await?;
    assert!(
        start(
            &mut tx,
            def,
            saga,
            input(saga),
            &context(),
            None,
            Utc::now()
        )
        .await?
        .is_none()
    );
    tx.commit().await?;

    let sent = outbox(&db.pool).await?;
    let commands: Vec<_> = sent
        .iter()
        .filter(|(t, _, _)| t != "SagaProgressed")
        .collect();
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].0, "ReserveInventory");
    assert_eq!(commands[0].1, "inventory.commands");

    // Reserve succeeds, then pricing fails permanently: release inventory.
    let reply_id = Uuid::now_v7();
    let mut tx = db.pool.begin().await?;
    let applied = apply(
        &mut tx,
        &defs,
        saga,
        &Input::Reply {
            message_type: "InventoryReserved".into(),
            payload: json!({"saga_id": saga, "reservation_id": Uuid::now_v7()}),
            causation_id: None,
        },
        Some(reply_id),
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    assert_eq!(applied.state.completed, vec![0]);
    let sent = outbox(&db.pool).await?;
    let price = sent
        .iter()
        .find(|(t, _, _)| t == "PriceOrder")
        .expect("PriceOrder sent");
    assert_eq!(
        price.2.as_deref(),
        Some(reply_id.to_string().as_str()),
        "causation is the reply"
    );

    let mut tx = db.pool.begin().await?;
    apply(
        &mut tx,
        &defs,
        saga,
        &Input::Reply {
            message_type: "OrderPricingFailed".into(),
            payload: json!({"saga_id": saga, "reason": "unknown discount code"}),
            causation_id: None,
        },
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    let sent = outbox(&db.pool).await?;
    assert!(sent.iter().any(|(t, _, _)| t == "ReleaseInventory"));

    let mut conn = db.pool.acquire().await?;
    let snapshot = sqlx::query_scalar::<_, sqlx::types::Json<sagaflow_saga_engine::SagaState>>(
        "SELECT state FROM sagas WHERE saga_id = $1",
    )
    .bind(saga)
    .fetch_one(&mut *conn)
    .await?
    .0;
    let replayed = log::replayed(&mut conn, saga).await?.expect("log exists");
    assert_eq!(replayed, snapshot);
    assert_eq!(snapshot.status, Status::Compensating);
    let events = log::events(&mut conn, saga).await?;
    let seqs: Vec<i64> = events.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    // One progress event per decision (the start and two replies; the repeated
    // start decided nothing), carrying its entries (see tests/progress.rs).
    let progress = sent
        .iter()
        .filter(|(t, _, _)| t == "SagaProgressed")
        .count();
    assert_eq!(progress, 3);
    assert!(events.len() > progress);

    let running = queries::list(
        &mut conn,
        &queries::Filter {
            status: Some("compensating".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(running.len(), 1);
    let report = queries::version_report(&mut conn).await?;
    assert_eq!(report.len(), 1);
    assert_eq!(
        (
            report[0].definition.as_str(),
            report[0].version,
            report[0].in_flight
        ),
        ("checkout", 1, 1)
    );
    Ok(())
}

#[tokio::test]
async fn a_due_timer_fires_from_the_database_alone() -> anyhow::Result<()> {
    let db = TestDb::create("timers").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let defs = Definitions::new(vec![sagaflow_saga_checkout::definition_with_timeout(
        std::time::Duration::from_millis(1),
    )]);
    let def = defs.latest("checkout").expect("checkout");
    let saga = Uuid::now_v7();
    let mut tx = db.pool.begin().await?;
    start(
        &mut tx,
        def,
        saga,
        input(saga),
        &context(),
        None,
        Utc::now() - Delta::seconds(5),
    )
    .await?;
    tx.commit().await?;
    // Nothing in memory: a fresh "process" finds the timer in the table.
    // The first deadline is long past; the re-send waits out the step's backoff (1 s).
    let mut fired = 0;
    let mut resends = 0i64;
    for _ in 0..100 {
        fired += timeouts::fire_due(&db.pool, &defs, 100).await?.fired;
        resends = sqlx::query_scalar(
            "SELECT count(*) FROM sagaflow_outbox WHERE message_type = 'ReserveInventory'",
        )
        .fetch_one(&db.pool)
        .await?;
        if resends >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(fired >= 2, "deadline and backoff timers fired ({fired})");
    assert!(
        resends >= 2,
        "the timed-out command was re-sent ({resends})"
    );
    let timed_out: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM saga_events WHERE saga_id = $1 AND kind = 'step_timed_out'",
    )
    .bind(saga)
    .fetch_one(&db.pool)
    .await?;
    assert!(timed_out >= 1);
    Ok(())
}

#[tokio::test]
async fn a_completed_step_leaves_no_timer_behind() -> anyhow::Result<()> {
    let db = TestDb::create("timers_gc").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let defs = Definitions::new(vec![sagaflow_saga_checkout::definition()]);
    let def = defs.latest("checkout").expect("checkout");
    let saga = Uuid::now_v7();
    let mut tx = db.pool.begin().await?;
    start(
        &mut tx,
        def,
        saga,
        input(saga),
        &context(),
        None,
        Utc::now(),
    )
    .await?;
    apply(
        &mut tx,
        &defs,
        saga,
        &Input::Reply {
            message_type: "InventoryReserved".into(),
            payload: json!({"saga_id": saga, "reservation_id": Uuid::now_v7()}),
            causation_id: None,
        },
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    let timers: Vec<(i32, String)> =
        sqlx::query_as("SELECT step, phase FROM saga_timeouts WHERE saga_id = $1")
            .bind(saga)
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(
        timers,
        vec![(1, "forward".to_owned())],
        "only the in-flight step's deadline remains"
    );
    Ok(())
}

#[tokio::test]
async fn a_saga_finishes_on_the_definition_version_it_started_with() -> anyhow::Result<()> {
    let db = TestDb::create("versions").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let v1 = sagaflow_saga_checkout::definition();
    let old = Uuid::now_v7();
    let mut tx = db.pool.begin().await?;
    start(&mut tx, &v1, old, input(old), &context(), None, Utc::now()).await?;
    tx.commit().await?;

    // v2 is deployed next to v1: new sagas start on v2, the old one stays on v1.
    let mut v2 = sagaflow_saga_checkout::definition();
    v2.version = 2;
    v2.steps[0].timeout = std::time::Duration::from_secs(99);
    let defs = Definitions::new(vec![v1, v2]);
    assert_eq!(defs.latest("checkout").map(|d| d.version), Some(2));
    let new = Uuid::now_v7();
    let mut tx = db.pool.begin().await?;
    start(
        &mut tx,
        defs.latest("checkout").expect("v2"),
        new,
        input(new),
        &context(),
        None,
        Utc::now(),
    )
    .await?;
    let applied = apply(
        &mut tx,
        &defs,
        old,
        &Input::Reply {
            message_type: "InventoryReserved".into(),
            payload: json!({"saga_id": old, "reservation_id": Uuid::now_v7()}),
            causation_id: None,
        },
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    assert_eq!(applied.state.version, 1, "the old saga advanced on v1");
    assert_eq!(applied.state.completed, vec![0]);

    let mut conn = db.pool.acquire().await?;
    let report: Vec<(String, i32, i64)> = queries::version_report(&mut conn)
        .await?
        .into_iter()
        .map(|v| (v.definition, v.version, v.in_flight))
        .collect();
    assert_eq!(
        report,
        vec![("checkout".to_owned(), 1, 1), ("checkout".to_owned(), 2, 1)]
    );

    // Without v1 deployed, the old saga's input cannot be decided (and is retried).
    let only_v2 = Definitions::new(vec![defs.get("checkout", 2).map(clone_def).expect("v2")]);
    let mut tx = db.pool.begin().await?;
    let err = apply(
        &mut tx,
        &only_v2,
        old,
        &Input::Reply {
            message_type: "OrderPriced".into(),
            payload: json!({}),
            causation_id: None,
        },
        None,
        Utc::now(),
    )
    .await
    .expect_err("v1 is gone");
    assert!(
        matches!(
            err,
            sagaflow_saga_store::Error::UnknownDefinition { version: 1, .. }
        ),
        "{err}"
    );
    Ok(())
}

fn clone_def(def: &sagaflow_saga_engine::Definition) -> sagaflow_saga_engine::Definition {
    let mut copy = sagaflow_saga_checkout::definition();
    copy.version = def.version;
    copy
}
