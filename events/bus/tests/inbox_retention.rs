//! The relay's housekeeping deletes inbox rows older than `INBOX_RETENTION_SECS`
//! (default 7 days) in bounded rounds of 10,000; recent rows, which still guard
//! against redeliveries, stay. Real PostgreSQL.
//!
//! Single-threaded tests: the metrics recorder is installed on the test's thread.

use crate::common;

use std::time::Duration;

use sagaflow_bus::{KafkaConfig, Relay};
use sagaflow_test_support::{Broker, TestDb};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use common::{TestRecorder, prepare};

/// Inserts `count` inbox rows for `consumer`, handled `age` ago (a Postgres interval).
async fn handled(pool: &PgPool, consumer: &str, count: i64, age: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO sagaflow_inbox
             (consumer, message_id, message_type, topic, kafka_partition, kafka_offset, handled_at)
         SELECT $1, gen_random_uuid(), 'ReleaseInventory', 't', 0, n, now() - $3::interval
         FROM generate_series(1, $2) AS n",
    )
    .bind(consumer)
    .bind(count)
    .bind(age)
    .execute(pool)
    .await?;
    Ok(())
}

async fn left(pool: &PgPool) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT consumer, count(*) FROM sagaflow_inbox GROUP BY consumer ORDER BY consumer",
    )
    .fetch_all(pool)
    .await?)
}

#[tokio::test]
async fn old_inbox_rows_are_pruned_in_bounded_rounds_and_recent_ones_stay() -> anyhow::Result<()> {
    let recorder = TestRecorder::default();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let db = TestDb::create("inbox_retention").await?;
    prepare(&db.pool).await?;
    handled(&db.pool, "old", 10_005, "8 days").await?;
    handled(&db.pool, "six-days", 2, "6 days").await?;
    handled(&db.pool, "recent", 3, "1 hour").await?;

    let broker = Broker::mock()?;
    let kafka = KafkaConfig::new(broker.bootstrap());
    assert_eq!(kafka.inbox_retention_secs, 7 * 86_400, "default: 7 days");
    let relay = Relay::new(db.pool.clone(), &kafka)?;
    assert_eq!(relay.prune_inbox().await?, 10_000, "one bounded round");
    assert_eq!(relay.prune_inbox().await?, 5);
    assert_eq!(relay.prune_inbox().await?, 0);
    assert_eq!(
        left(&db.pool).await?,
        vec![("recent".to_owned(), 3), ("six-days".to_owned(), 2)]
    );
    assert_eq!(recorder.counter("sagaflow_inbox_pruned_total{}"), 10_005);

    // A shorter window (two days) takes the six-day-old rows too.
    let short = KafkaConfig {
        inbox_retention_secs: 2 * 86_400,
        ..KafkaConfig::new(broker.bootstrap())
    };
    let relay = Relay::new(db.pool.clone(), &short)?;
    assert_eq!(relay.prune_inbox().await?, 2);
    assert_eq!(left(&db.pool).await?, vec![("recent".to_owned(), 3)]);
    assert_eq!(recorder.counter("sagaflow_inbox_pruned_total{}"), 10_007);
    Ok(())
}

#[tokio::test]
async fn the_running_relay_prunes_the_inbox_in_its_housekeeping() -> anyhow::Result<()> {
    let db = TestDb::create("inbox_housekeeping").await?;
    prepare(&db.pool).await?;
    handled(&db.pool, "old", 20, "30 days").await?;
    handled(&db.pool, "recent", 1, "1 minute").await?;
    let broker = Broker::mock()?;
    let relay = Relay::new(db.pool.clone(), &KafkaConfig::new(broker.bootstrap()))?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(relay.run(shutdown.clone()));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut rows = left(&db.pool).await?;
    while rows != vec![("recent".to_owned(), 1)] && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        rows = left(&db.pool).await?;
    }
    shutdown.cancel();
    task.await??;
    assert_eq!(rows, vec![("recent".to_owned(), 1)]);
    Ok(())
}
