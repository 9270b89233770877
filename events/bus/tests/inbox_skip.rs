//! A handler that does not want a message ([`Handler::wants`]) skips it before any
//! database work: no inbox row, no effect, and its offset moves on with the others,
//! in batches (the consumer under load) and one at a time (`inbox::process`).

use crate::common;

use std::time::Duration;

use sagaflow_bus::{
    Backoff, Failure, Handler, InboxConsumer, Incoming, KafkaConfig, Outcome, Outgoing, inbox,
};
use sagaflow_test_support::{Broker, TestDb, eventually, unique_topic};
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::{
    EffectHandler, committed, message, prepare, produce_to, producer, total_effects, unchanged,
};

/// Handles only messages whose saga id is even (its last byte).
#[derive(Default)]
struct EvenOnly(EffectHandler);

fn even(message: &Incoming) -> bool {
    message
        .envelope
        .saga_id
        .is_some_and(|id| id.as_bytes()[15] % 2 == 0)
}

impl Handler for EvenOnly {
    fn wants(&self, message: &Incoming) -> bool {
        even(message)
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        assert!(even(message), "an unwanted message reached the handler");
        self.0.handle(tx, message).await
    }
}

async fn inbox_rows(db: &TestDb) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM sagaflow_inbox")
        .fetch_one(&db.pool)
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwanted_messages_leave_no_row_and_their_offsets_move_on() -> anyhow::Result<()> {
    let broker = Broker::mock()?;
    let db = TestDb::create("inbox_skip").await?;
    prepare(&db.pool).await?;
    let topic = unique_topic("skip");
    broker.create_topics(&[&topic], 2).await?;

    // Queued before the consumer starts, so its lanes take them in batches.
    let producer = producer(&broker.bootstrap())?;
    let ids: Vec<Uuid> = (0..100u128)
        .map(|i| Uuid::from_u128((1 << 64) | i))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        produce_to(&producer, &message(&topic, *id), (i % 2) as i32, unchanged).await?;
    }
    let shutdown = CancellationToken::new();
    let group = format!("skip-{}", Uuid::new_v4());
    let consumer = InboxConsumer::new(
        &group,
        &[&topic],
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        EvenOnly::default(),
    );
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    eventually(
        "every offset committed",
        Duration::from_secs(30),
        || async { Ok(committed(&broker.bootstrap(), &group, &topic, 2).await? == [50, 50]) },
    )
    .await?;
    assert_eq!(
        total_effects(&db.pool).await?,
        50,
        "the even half, once each"
    );
    assert_eq!(
        inbox_rows(&db).await?,
        50,
        "no inbox row for a skipped message"
    );
    shutdown.cancel();
    task.await??;

    // One at a time, as the tests and the single-message path take them.
    let out = message(&topic, Uuid::from_u128(7));
    let odd = Incoming {
        envelope: out.envelope,
        topic: out.topic,
        partition: 0,
        offset: 100,
        key: Some(out.key),
        payload: out.payload,
    };
    assert_eq!(
        inbox::process(
            &db.pool,
            &EvenOnly::default(),
            "skip",
            &odd,
            Backoff::default()
        )
        .await,
        Outcome::Skipped
    );
    assert_eq!(inbox_rows(&db).await?, 50);
    Ok(())
}
