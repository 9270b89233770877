//! What an unassigned member reads to decide whether its group is stalled:
//! [`group_offsets`] against a real broker (the mock cluster) returns, for every
//! partition of the subscribed topics, the group's committed offset (none before the
//! first commit) and the watermarks; [`GroupStall`] fires on a partition whose data
//! waits behind an offset that stands still, and not once the group has caught up.

use crate::common;

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use sagaflow_bus::KafkaConfig;
use sagaflow_bus::group_stall::{GroupStall, group_offsets};
use sagaflow_bus::lag::LagContext;
use sagaflow_test_support::{Broker, unique_topic};
use uuid::Uuid;

use common::{message, produce_to, producer, unchanged};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_offsets_read_committed_offsets_and_watermarks_of_every_partition()
-> anyhow::Result<()> {
    let broker = Broker::mock()?;
    let topic = unique_topic("groupstall");
    broker.create_topics(&[&topic], 2).await?;
    let out = producer(&broker.bootstrap())?;
    // Three records on partition 0, one on partition 1.
    for partition in [0, 0, 0, 1] {
        produce_to(&out, &message(&topic, Uuid::new_v4()), partition, unchanged).await?;
    }
    let group = format!("groupstall-{}", Uuid::new_v4());
    let kafka = KafkaConfig::new(broker.bootstrap());
    // The member that asks: subscribed to nothing, as an unassigned member is.
    let asking: StreamConsumer<LagContext> = kafka
        .consumer(&group)
        .create_with_context(LagContext::new(&group))?;
    let topics = vec![topic.clone()];
    let read = {
        let topics = topics.clone();
        move |consumer: std::sync::Arc<StreamConsumer<LagContext>>| {
            let topics = topics.clone();
            tokio::task::spawn_blocking(move || {
                group_offsets(&consumer, &topics, Duration::from_secs(5))
            })
        }
    };
    let asking = std::sync::Arc::new(asking);

    let before = read(asking.clone()).await??;
    assert_eq!(before.len(), 2, "{before:?}");
    let p0 = &before[&(topic.clone(), 0)];
    let p1 = &before[&(topic.clone(), 1)];
    assert_eq!((p0.committed, p0.low, p0.high), (None, 0, 3));
    assert_eq!((p1.committed, p1.high), (None, 1));

    // The group commits offset 1 on partition 0 and 1 on partition 1 (caught up).
    let committer: BaseConsumer = kafka.consumer(&group).create()?;
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(&topic, 0, Offset::Offset(1))?;
    list.add_partition_offset(&topic, 1, Offset::Offset(1))?;
    tokio::task::spawn_blocking(move || committer.commit(&list, CommitMode::Sync)).await??;
    let after = read(asking.clone()).await??;
    assert_eq!(after[&(topic.clone(), 0)].committed, Some(1));
    assert_eq!(after[&(topic.clone(), 1)].committed, Some(1));

    // Partition 0 has two records waiting behind an offset that stands still: the
    // detector fires once its idle time has passed on the same readings.
    let idle = Duration::from_secs(30);
    let start = Instant::now();
    let mut stall = GroupStall::new(idle);
    assert!(!stall.observe(start, &after));
    assert!(stall.observe(start + idle, &read(asking.clone()).await??));

    // Caught up everywhere: nothing fires, however long.
    let caught_up: BaseConsumer = kafka.consumer(&group).create()?;
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(&topic, 0, Offset::Offset(3))?;
    tokio::task::spawn_blocking(move || caught_up.commit(&list, CommitMode::Sync)).await??;
    let done = read(asking.clone()).await??;
    let mut stall = GroupStall::new(idle);
    assert!(!stall.observe(start, &done));
    assert!(!stall.observe(start + 10 * idle, &done));
    Ok(())
}
