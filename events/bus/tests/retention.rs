//! The relay keeps published outbox rows for `OUTBOX_RETENTION_SECS`, then prunes
//! them; rows not yet published are never pruned.

mod common;

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
