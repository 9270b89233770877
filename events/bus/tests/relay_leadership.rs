//! The relay holds nothing open while the broker works: a batch waiting for its
//! acks has no transaction and no row lock in PostgreSQL, one relay leads per
//! database (a session lock on the relay's own connection), and a relay that goes
//! away hands over to the next. With `OUTBOX_RETENTION_SECS=0` an acked row is
//! deleted on the ack. Real PostgreSQL and librdkafka's mock cluster.

use crate::common;

use std::time::Duration;

use sagaflow_bus::{KafkaConfig, Relay, outbox};
use sagaflow_test_support::{Broker, TestDb, TopicReader, eventually, free_port, unique_topic};
use sqlx::PgPool;
use uuid::Uuid;

use common::{message, prepare, relay_sending};

async fn enqueue(pool: &PgPool, topic: &str, count: usize) -> anyhow::Result<()> {
    let rows: Vec<_> = (0..count).map(|_| message(topic, Uuid::now_v7())).collect();
    let mut conn = pool.acquire().await?;
    outbox::enqueue(&mut conn, &rows).await?;
    Ok(())
}

async fn unsent(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NULL")
            .fetch_one(pool)
            .await?,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_waiting_for_the_broker_holds_no_transaction_and_hands_over_when_it_goes()
-> anyhow::Result<()> {
    let db = TestDb::create("relay_leader").await?;
    prepare(&db.pool).await?;
    let broker = Broker::mock()?;
    let topic = unique_topic("leader");
    broker.create_topics(&[&topic], 2).await?;
    enqueue(&db.pool, &topic, 5).await?;

    // The first relay's broker never answers: its batch waits on the acks.
    let dead = format!("127.0.0.1:{}", free_port()?);
    let stuck = Relay::new(db.pool.clone(), &KafkaConfig::new(dead))?;
    let batch = tokio::spawn(async move { stuck.publish_batch().await });
    let database = db.name.clone();
    eventually(
        "the stuck relay to lead and wait on the broker",
        Duration::from_secs(10),
        || relay_sending(&db.pool, &database),
    )
    .await?;

    // No session of this database sits in a transaction, and every row can be
    // locked by someone else right now.
    let in_transaction: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = $1 AND state LIKE 'idle in transaction%'",
    )
    .bind(&database)
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(
        in_transaction, 0,
        "no transaction open across the broker round trip"
    );
    let mut tx = db.pool.begin().await?;
    let lockable: Vec<i64> = sqlx::query_scalar("SELECT id FROM sagaflow_outbox FOR UPDATE NOWAIT")
        .fetch_all(&mut *tx)
        .await?;
    assert_eq!(lockable.len(), 5, "no row lock held by the relay");
    tx.rollback().await?;

    // A second relay does not publish while the first leads.
    let next = Relay::new(db.pool.clone(), &KafkaConfig::new(broker.bootstrap()))?;
    assert_eq!(next.publish_batch().await?, 0, "one relay per database");
    assert_eq!(unsent(&db.pool).await?, 5);

    // The first goes away mid-batch: its lock goes with its connection, its rows
    // stay unsent, and the second publishes them.
    batch.abort();
    let _ = batch.await;
    eventually(
        "the second relay to take over",
        Duration::from_secs(10),
        || async {
            next.publish_batch().await?;
            Ok(unsent(&db.pool).await? == 0)
        },
    )
    .await?;
    let mut reader = TopicReader::new(&broker.bootstrap(), &topic)?;
    assert_eq!(reader.read_at_least(5, Duration::from_secs(30)).len(), 5);
    let sent: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NOT NULL")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(sent, 5, "published rows are kept for the retention");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retention_an_acked_row_is_deleted_on_the_ack() -> anyhow::Result<()> {
    let db = TestDb::create("relay_no_retention").await?;
    prepare(&db.pool).await?;
    let broker = Broker::mock()?;
    let topic = unique_topic("noretention");
    broker.create_topics(&[&topic], 1).await?;
    enqueue(&db.pool, &topic, 3).await?;
    let kafka = KafkaConfig {
        outbox_retention_secs: 0,
        ..KafkaConfig::new(broker.bootstrap())
    };
    let relay = Relay::new(db.pool.clone(), &kafka)?;
    assert_eq!(relay.publish_batch().await?, 3);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(left, 0, "acked rows are gone");
    let mut reader = TopicReader::new(&broker.bootstrap(), &topic)?;
    assert_eq!(reader.read_at_least(3, Duration::from_secs(30)).len(), 3);
    Ok(())
}
