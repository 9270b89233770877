//! Shipping a new definition version while sagas run the old one. Checkout v1
//! starts sagas whose step deadlines come due; then v2 ships (a copy of v1 with a
//! different timeout) and the orchestrator runs both: new sagas start on v2, the
//! v1 sagas' timers fire on v1, and every saga finishes on its own version. And
//! an orchestrator given two definitions with the same name and version refuses
//! to start.

use std::sync::Arc;
use std::time::Duration;

use sagaflow_bus::testing::incoming;
use sagaflow_bus::{Backoff, KafkaConfig, Outcome, inbox};
use sagaflow_events::messages::{
    InitiateCheckout, InventoryReleased, InventoryReservationFailed, OrderLine,
};
use sagaflow_orchestrator::{NAME, SagaHandler, Settings, run_with, shipped, timers};
use sagaflow_saga_engine::Definition;
use sagaflow_saga_store::{Definitions, timeouts};
use sagaflow_test_support::TestDb;
use sagaflow_test_support::wait::eventually;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn initiate(checkout_id: Uuid) -> InitiateCheckout {
    InitiateCheckout {
        checkout_id,
        user_id: "ada".into(),
        cart_id: Uuid::now_v7(),
        items: vec![OrderLine {
            sku: "MUG".into(),
            quantity: 1,
        }],
        currency: "EUR".into(),
        payment_method: "card".into(),
        customer_email: "ada@example.com".into(),
        discount_code: None,
        shipping_country: None,
    }
}

/// Delivers `message` through the orchestrator's inbox transaction.
async fn deliver(
    pool: &PgPool,
    handler: &SagaHandler,
    message: &sagaflow_bus::Incoming,
) -> anyhow::Result<()> {
    let outcome = inbox::process(pool, handler, NAME, message, Backoff::default()).await;
    anyhow::ensure!(outcome == Outcome::Handled, "{outcome:?}");
    Ok(())
}

async fn saga_row(pool: &PgPool, saga: Uuid) -> anyhow::Result<(i32, i64, String)> {
    Ok(sqlx::query_as(
        "SELECT version, (state->>'version')::bigint, status FROM sagas WHERE saga_id = $1",
    )
    .bind(saga)
    .fetch_one(pool)
    .await?)
}

async fn count_kind(pool: &PgPool, saga: Uuid, kind: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM saga_events WHERE saga_id = $1 AND kind = $2")
            .bind(saga)
            .bind(kind)
            .fetch_one(pool)
            .await?,
    )
}

#[tokio::test]
async fn sagas_in_flight_finish_on_their_version_after_an_upgrade() -> anyhow::Result<()> {
    let db = TestDb::create("upgrade").await?;
    sagaflow_orchestrator::migrate(&db.pool).await?;
    let pool = db.pool.clone();

    // Before the upgrade: checkout v1 only, with 1 ms step deadlines.
    let v1_only = shipped(&Settings {
        step_timeout_ms: Some(1),
        ..Settings::default()
    });
    let v1: Definition = v1_only
        .iter()
        .find(|d| d.name == "checkout")
        .cloned()
        .expect("checkout v1");
    assert_eq!(v1.version, 1);
    let before = SagaHandler::new(Arc::new(Definitions::try_new(v1_only.clone())?));
    let mut old = Vec::new();
    for _ in 0..3 {
        let saga = Uuid::now_v7();
        deliver(&pool, &before, &incoming(Some(saga), &initiate(saga))).await?;
        old.push(saga);
    }

    // v2 ships: the same steps with a 10 minute timeout. Both stay registered.
    let mut v2 = v1.clone();
    v2.version = 2;
    for step in &mut v2.steps {
        step.timeout = Duration::from_secs(600);
    }
    let mut both = v1_only;
    both.push(v2);
    let definitions = Arc::new(Definitions::try_new(both)?);
    let after = SagaHandler::new(definitions.clone());
    let mut new = Vec::new();
    for _ in 0..2 {
        let saga = Uuid::now_v7();
        deliver(&pool, &after, &incoming(Some(saga), &initiate(saga))).await?;
        new.push(saga);
    }
    for saga in &new {
        let (version, state_version, _) = saga_row(&pool, *saga).await?;
        assert_eq!((version, state_version), (2, 2), "new sagas start on v2");
        let fire_in: f64 = sqlx::query_scalar(
            "SELECT extract(epoch FROM min(fire_at) - now())::float8 FROM saga_timeouts WHERE saga_id = $1",
        )
        .bind(saga)
        .fetch_one(&pool)
        .await?;
        assert!(fire_in > 500.0, "v2's 10 minute deadline ({fire_in} s)");
    }

    // The orchestrator's timer loop runs with both versions.
    let shutdown = CancellationToken::new();
    let loop_task = tokio::spawn(timers::run(
        pool.clone(),
        definitions.clone(),
        Duration::from_millis(10),
        shutdown.clone(),
    ));

    // v1 sagas: every attempt of the first step times out (on v1's 1 ms
    // deadline and v1's backoff), the step is given up and compensated.
    for saga in &old {
        eventually(
            "a v1 saga to give up its step",
            Duration::from_secs(30),
            || {
                let pool = pool.clone();
                let saga = *saga;
                async move { Ok(saga_row(&pool, saga).await?.2 == "compensating") }
            },
        )
        .await?;
        assert!(count_kind(&pool, *saga, "step_timed_out").await? >= 3);
        assert_eq!(count_kind(&pool, *saga, "step_abandoned").await?, 1);
        deliver(
            &pool,
            &after,
            &incoming(Some(*saga), &InventoryReleased { saga_id: *saga }),
        )
        .await?;
    }
    // v2 sagas: the inventory says no before their (long) deadline.
    for saga in &new {
        deliver(
            &pool,
            &after,
            &incoming(
                Some(*saga),
                &InventoryReservationFailed {
                    saga_id: *saga,
                    reason: "out of stock".into(),
                    sku: Some("MUG".into()),
                },
            ),
        )
        .await?;
    }
    for saga in old.iter().chain(&new) {
        let saga = *saga;
        eventually("every saga to finish", Duration::from_secs(10), || {
            let pool = pool.clone();
            async move { Ok(saga_row(&pool, saga).await?.2 == "compensated") }
        })
        .await?;
    }
    shutdown.cancel();
    loop_task.await?;

    for saga in &old {
        let (version, state_version, status) = saga_row(&pool, *saga).await?;
        assert_eq!(
            (version, state_version, status.as_str()),
            (1, 1, "compensated"),
            "v1 saga {saga} finished on v1"
        );
    }
    for saga in &new {
        let (version, state_version, status) = saga_row(&pool, *saga).await?;
        assert_eq!(
            (version, state_version, status.as_str()),
            (2, 2, "compensated"),
            "v2 saga {saga} finished on v2"
        );
        assert_eq!(count_kind(&pool, *saga, "step_timed_out").await?, 0);
    }
    let mut conn = pool.acquire().await?;
    assert!(
        timeouts::list_parked(&mut conn, None, 100)
            .await?
            .is_empty(),
        "no timer was parked"
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM saga_timeouts")
        .fetch_one(&pool)
        .await?;
    assert_eq!(left, 0, "finished sagas leave no timers");
    Ok(())
}

#[tokio::test]
async fn the_orchestrator_refuses_two_definitions_with_one_version() -> anyhow::Result<()> {
    let db = TestDb::create("duplicate_defs").await?;
    sagaflow_orchestrator::migrate(&db.pool).await?;
    let mut twice = shipped(&Settings::default());
    let copy = twice
        .iter()
        .find(|d| d.name == "checkout")
        .cloned()
        .expect("checkout");
    twice.push(copy);
    let err = run_with(
        db.pool.clone(),
        KafkaConfig::new("127.0.0.1:1"),
        Settings::default(),
        twice,
        CancellationToken::new(),
    )
    .await
    .expect_err("refused");
    assert!(
        format!("{err:#}").contains("checkout v1 is registered more than once"),
        "{err:#}"
    );
    // What it ships is one of each.
    Definitions::try_new(shipped(&Settings::default()))?;
    Ok(())
}
