//! One stuck partition never stops the others: a handler blocked on one partition's
//! messages while the other partitions of the same consumer (including ones the old
//! `partition % workers` mapping put on the same worker) keep being handled; once
//! released, the stuck partition catches up in order, each message once.

use crate::common;

use std::time::Duration;

use sagaflow_bus::{InboxConsumer, KafkaConfig};
use sagaflow_test_support::{Broker, TestDb, eventually, unique_topic};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::{
    GatedHandler, committed, handled_offsets, message, prepare, prepare_handled, produce_to,
    producer, unchanged,
};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_partition_does_not_hold_back_the_others() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let broker = Broker::mock()?;
    let db = TestDb::create("stuck").await?;
    prepare(&db.pool).await?;
    prepare_handled(&db.pool).await?;
    let topic = unique_topic("stuck");
    broker.create_topics(&[&topic], 4).await?;

    let (open, gate) = tokio::sync::watch::channel(false);
    let shutdown = CancellationToken::new();
    // 2 workers for 4 partitions, and a lane limit well below partition 0's backlog:
    // partition 0 fills its lane and is paused.
    let group = format!("stuck-{}", Uuid::new_v4());
    let consumer = InboxConsumer::new(
        &group,
        &[&topic],
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        GatedHandler {
            blocked_partition: 0,
            gate,
        },
    )
    .with_workers(2)
    .with_max_batch(4)
    .with_lane_limit(8);
    let task = tokio::spawn(consumer.run(shutdown.clone()));

    let producer = producer(&broker.bootstrap())?;
    for _ in 0..100 {
        produce_to(&producer, &message(&topic, Uuid::now_v7()), 0, unchanged).await?;
    }
    for round in 0..20 {
        for partition in 1..4 {
            produce_to(
                &producer,
                &message(&topic, Uuid::now_v7()),
                partition,
                unchanged,
            )
            .await?;
        }
        if round == 0 {
            // Partition 0's backlog is fetched first.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    eventually("the other partitions' 60 messages", WAIT, || async {
        let mut handled = 0;
        for partition in 1..4 {
            handled += handled_offsets(&db.pool, partition).await?.len();
        }
        Ok(handled == 60)
    })
    .await?;
    for partition in 1..4 {
        assert_eq!(
            handled_offsets(&db.pool, partition).await?,
            (0..20).collect::<Vec<i64>>(),
            "partition {partition} in order, each once"
        );
    }
    assert!(
        handled_offsets(&db.pool, 0).await?.is_empty(),
        "partition 0 is still blocked"
    );

    open.send_replace(true);
    eventually("partition 0 to catch up", WAIT, || async {
        Ok(handled_offsets(&db.pool, 0).await?.len() >= 100)
    })
    .await?;
    // Partition 0's offsets are committed to its end: nothing of it is in flight,
    // so a message handled twice would show now.
    eventually("partition 0's offsets committed", WAIT, || async {
        let offsets = committed(&broker.bootstrap(), &group, &topic, 4).await?;
        Ok(offsets == [100, 20, 20, 20])
    })
    .await?;
    assert_eq!(
        handled_offsets(&db.pool, 0).await?,
        (0..100).collect::<Vec<i64>>(),
        "partition 0 in order, each once, after its pause"
    );
    shutdown.cancel();
    task.await??;
    Ok(())
}
