//! What `start` and `apply` return: [`Applied::sent`] holds exactly the commands
//! the input wrote to the outbox (same message ids, topics, keys and payload
//! bytes), and none of the `SagaProgressed` / `SagaFinished` events beside them, so a caller
//! never has to read the bus's outbox back.

use crate::common;

use chrono::Utc;
use common::{context, input, reserved};
use sagaflow_saga_store::{Applied, Definitions, apply, start};
use sagaflow_test_support::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

/// The outbox rows of commands (not progress events) written since `after_id`.
async fn commands_since(
    pool: &PgPool,
    after_id: i64,
) -> anyhow::Result<Vec<(Uuid, String, String, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT message_id, topic, partition_key, payload FROM sagaflow_outbox
         WHERE id > $1 AND message_type NOT IN ('SagaProgressed', 'SagaFinished') ORDER BY id",
    )
    .bind(after_id)
    .fetch_all(pool)
    .await?)
}

async fn last_id(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM sagaflow_outbox")
            .fetch_one(pool)
            .await?,
    )
}

fn as_rows(applied: &Applied) -> Vec<(Uuid, String, String, Vec<u8>)> {
    applied
        .sent
        .iter()
        .map(|o| {
            (
                o.envelope.message_id,
                o.topic.clone(),
                o.key.clone(),
                o.payload.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn applied_carries_the_commands_it_wrote_to_the_outbox() -> anyhow::Result<()> {
    let db = TestDb::create("applied_sent").await?;
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
    .await?
    .expect("a new saga");
    tx.commit().await?;
    assert_eq!(started.sent.len(), 1, "{:?}", started.sent);
    assert_eq!(started.sent[0].envelope.message_type, "ReserveInventory");
    assert_eq!(started.sent[0].envelope.saga_id, Some(saga));
    assert_eq!(as_rows(&started), commands_since(&db.pool, 0).await?);

    let before = last_id(&db.pool).await?;
    let mut tx = db.pool.begin().await?;
    let applied = apply(&mut tx, &defs, saga, &reserved(saga), None, Utc::now()).await?;
    tx.commit().await?;
    let types: Vec<&str> = applied
        .sent
        .iter()
        .map(|o| o.envelope.message_type.as_str())
        .collect();
    assert_eq!(types, ["PriceOrder"]);
    assert_eq!(as_rows(&applied), commands_since(&db.pool, before).await?);
    let (_, payload) = sagaflow_events::decode_json(&applied.sent[0].payload)?;
    assert_eq!(payload["saga_id"], saga.to_string());

    // A duplicate reply decides nothing and sends nothing.
    let before = last_id(&db.pool).await?;
    let mut tx = db.pool.begin().await?;
    let again = apply(&mut tx, &defs, saga, &reserved(saga), None, Utc::now()).await?;
    tx.commit().await?;
    assert_eq!(again.appended, 0);
    assert!(again.sent.is_empty(), "{:?}", again.sent);
    assert!(commands_since(&db.pool, before).await?.is_empty());
    Ok(())
}
