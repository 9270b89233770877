//! Shutdown is bounded even when the broker is gone: a relay whose batch waits on a
//! broker that does not answer (librdkafka would hold it for `message.timeout.ms`,
//! 30 s) returns within the shutdown grace after the signal, and the batch's rows
//! stay unsent for the next relay.

use crate::common;

use std::time::{Duration, Instant};

use sagaflow_bus::{KafkaConfig, Relay, outbox};
use sagaflow_test_support::{TestDb, eventually, free_port};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::{message, prepare, relay_sending};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_stuck_on_a_dead_broker_stops_within_the_grace() -> anyhow::Result<()> {
    let db = TestDb::create("relay_shutdown").await?;
    prepare(&db.pool).await?;
    let rows: Vec<_> = (0..5)
        .map(|_| message("nowhere.commands", Uuid::new_v4()))
        .collect();
    let mut conn = db.pool.acquire().await?;
    outbox::enqueue(&mut conn, &rows).await?;
    drop(conn);

    // Nothing listens on this port: every send waits for its delivery timeout.
    let dead = format!("127.0.0.1:{}", free_port()?);
    let relay = Relay::new(db.pool.clone(), &KafkaConfig::new(dead))?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(relay.run(shutdown.clone()));
    eventually(
        "the relay to take its batch and wait on the broker",
        Duration::from_secs(10),
        || relay_sending(&db.pool, &db.name),
    )
    .await?;
    let signalled = Instant::now();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the relay stops within 10 s of the signal")??;
    assert!(signalled.elapsed() < Duration::from_secs(10));

    let unsent: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NULL")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(
        unsent, 5,
        "the abandoned batch's rows stay for the next relay"
    );
    Ok(())
}
