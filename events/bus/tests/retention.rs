//! The relay keeps published outbox rows for `OUTBOX_RETENTION_SECS`, then prunes
//! them, at most 10,000 per round; rows not yet published (parked ones included)
//! are never pruned.

use crate::common;

use sagaflow_bus::{KafkaConfig, Relay, outbox};
use sagaflow_test_support::{Broker, TestDb, unique_topic};
use uuid::Uuid;

use common::{message, prepare};

#[tokio::test]
async fn published_rows_older_than_the_retention_are_pruned_and_unsent_ones_stay()
-> anyhow::Result<()> {
    let db = TestDb::create("retention").await?;
    prepare(&db.pool).await?;
    let broker = Broker::mock()?;
    let topic = unique_topic("retention");
    broker.create_topics(&[&topic], 1).await?;
    let (old, recent, unsent) = (
        message(&topic, Uuid::now_v7()),
        message(&topic, Uuid::now_v7()),
        message(&topic, Uuid::now_v7()),
    );
    let mut conn = db.pool.acquire().await?;
    outbox::enqueue(&mut conn, &[old.clone(), recent.clone(), unsent.clone()]).await?;
    for (row, age) in [(&old, "2 hours"), (&recent, "1 minute")] {
        sqlx::query(&format!(
            "UPDATE sagaflow_outbox SET sent_at = now() - INTERVAL '{age}' WHERE message_id = $1"
        ))
        .bind(row.envelope.message_id)
        .execute(&mut *conn)
        .await?;
    }

    let kafka = KafkaConfig {
        outbox_retention_secs: 3_600,
        ..KafkaConfig::new(broker.bootstrap())
    };
    let relay = Relay::new(db.pool.clone(), &kafka)?;
    assert_eq!(
        relay.prune().await?,
        1,
        "only the row published two hours ago"
    );
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT message_id FROM sagaflow_outbox ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        left,
        vec![recent.envelope.message_id, unsent.envelope.message_id]
    );
    Ok(())
}

#[tokio::test]
async fn pruning_is_bounded_per_round_and_never_takes_parked_rows() -> anyhow::Result<()> {
    let db = TestDb::create("retention_bounded").await?;
    prepare(&db.pool).await?;
    let broker = Broker::mock()?;
    // 10,003 rows published two hours ago, and one old row that was parked.
    sqlx::query(
        "INSERT INTO sagaflow_outbox
             (message_id, topic, partition_key, message_type, headers, payload, created_at, sent_at)
         SELECT gen_random_uuid(), 't', 'k', 'ReleaseInventory', '{}', '\\x00',
                now() - INTERVAL '3 hours', now() - INTERVAL '2 hours'
         FROM generate_series(1, 10003)",
    )
    .execute(&db.pool)
    .await?;
    let parked = message("t", Uuid::now_v7());
    let mut conn = db.pool.acquire().await?;
    outbox::enqueue(&mut conn, std::slice::from_ref(&parked)).await?;
    sqlx::query(
        "UPDATE sagaflow_outbox SET parked_at = now() - INTERVAL '2 hours', last_error = 'x',
             created_at = now() - INTERVAL '3 hours'
         WHERE message_id = $1",
    )
    .bind(parked.envelope.message_id)
    .execute(&mut *conn)
    .await?;

    let relay = Relay::new(db.pool.clone(), &KafkaConfig::new(broker.bootstrap()))?;
    assert_eq!(relay.prune().await?, 10_000, "one bounded round");
    assert_eq!(relay.prune().await?, 3);
    assert_eq!(relay.prune().await?, 0);
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT message_id FROM sagaflow_outbox")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        left,
        vec![parked.envelope.message_id],
        "the parked row stays"
    );
    Ok(())
}
