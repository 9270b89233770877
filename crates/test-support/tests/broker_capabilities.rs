//! What the platform needs from a Kafka-protocol broker, checked through rdkafka on
//! every broker the default test run covers (the mock cluster and the local Nisshi broker), so a
//! broker upgrade that breaks one shows up here first.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, Message};
use sagaflow_test_support::{Broker, unique_topic};

fn consumer(bootstrap: &str, group: &str) -> anyhow::Result<BaseConsumer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "5")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create()?)
}

async fn produce_numbered(bootstrap: &str, topic: &str, count: usize) -> anyhow::Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "1")
        .create()?;
    for i in 0..count {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "message-id",
                value: Some(format!("m{i}").as_bytes()),
            })
            .insert(Header {
                key: "empty",
                value: None::<&[u8]>,
            });
        producer
            .send(
                FutureRecord::to(topic)
                    .key("same-key")
                    .payload(&format!("payload-{i}"))
                    .headers(headers),
                Timeout::After(Duration::from_secs(10)),
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    Ok(())
}

fn poll_one(consumer: &BaseConsumer, timeout: Duration) -> Option<rdkafka::message::OwnedMessage> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) {
            return Some(message.detach());
        }
    }
    None
}

/// Idempotent producer, headers, manual offset store + commit, resume after commit.
async fn produce_consume_store_commit(broker: &Broker) -> anyhow::Result<()> {
    let topic = unique_topic("caps");
    broker.create_topics(&[&topic], 1).await?;
    produce_numbered(&broker.bootstrap(), &topic, 5).await?;

    let group = unique_topic("group");
    let first = consumer(&broker.bootstrap(), &group)?;
    first.subscribe(&[&topic])?;
    for i in 0..3 {
        let message = poll_one(&first, Duration::from_secs(20)).expect("a message");
        assert_eq!(message.offset(), i, "in order on {}", broker.kind());
        let headers = message.headers().expect("headers kept");
        let id = headers
            .iter()
            .find(|h| h.key == "message-id")
            .and_then(|h| h.value);
        assert_eq!(id, Some(format!("m{i}").as_bytes()));
        assert!(
            headers
                .iter()
                .any(|h| h.key == "empty" && h.value.is_none()),
            "null header value kept"
        );
        // Only processed messages are stored; the third is read but not stored.
        if i < 2 {
            first.store_offset(&topic, 0, message.offset())?;
        }
    }
    first.commit_consumer_state(CommitMode::Sync)?;
    drop(first);

    let second = consumer(&broker.bootstrap(), &group)?;
    second.subscribe(&[&topic])?;
    let resumed = poll_one(&second, Duration::from_secs(30)).expect("resumes");
    assert_eq!(
        resumed.offset(),
        2,
        "resumes after the last stored offset on {}",
        broker.kind()
    );
    Ok(())
}

/// Two members of one group split a two-partition topic between them.
async fn group_rebalances(broker: &Broker) -> anyhow::Result<()> {
    let topic = unique_topic("rebalance");
    broker.create_topics(&[&topic], 2).await?;
    let group = unique_topic("group");
    let a = consumer(&broker.bootstrap(), &group)?;
    a.subscribe(&[&topic])?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.assignment()?.count() < 2 && Instant::now() < deadline {
        a.poll(Duration::from_millis(50));
    }
    assert_eq!(
        a.assignment()?.count(),
        2,
        "a lone member owns both partitions on {}",
        broker.kind()
    );

    let b = consumer(&broker.bootstrap(), &group)?;
    b.subscribe(&[&topic])?;
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        a.poll(Duration::from_millis(20));
        b.poll(Duration::from_millis(20));
        let (na, nb) = (a.assignment()?.count(), b.assignment()?.count());
        if na == 1 && nb == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no rebalance on {}: {na} + {nb}",
            broker.kind()
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_cluster_supports_what_the_platform_uses() -> anyhow::Result<()> {
    let broker = Broker::mock()?;
    produce_consume_store_commit(&broker).await?;
    group_rebalances(&broker).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nisshi_supports_what_the_platform_uses() -> anyhow::Result<()> {
    let broker = Broker::local()?;
    produce_consume_store_commit(&broker).await?;
    group_rebalances(&broker).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nisshi_keeps_data_and_committed_offsets_across_a_kill() -> anyhow::Result<()> {
    let mut broker = Broker::local()?;
    let topic = unique_topic("durable");
    broker.create_topics(&[&topic], 1).await?;
    produce_numbered(&broker.bootstrap(), &topic, 3).await?;
    let group = unique_topic("group");
    {
        let c = consumer(&broker.bootstrap(), &group)?;
        c.subscribe(&[&topic])?;
        let m = poll_one(&c, Duration::from_secs(20)).expect("first");
        c.store_offset(&topic, 0, m.offset())?;
        c.commit_consumer_state(CommitMode::Sync)?;
    }
    broker.local_mut().expect("a local broker").restart()?;
    let c = consumer(&broker.bootstrap(), &group)?;
    c.subscribe(&[&topic])?;
    let m = poll_one(&c, Duration::from_secs(30)).expect("after restart");
    assert_eq!(m.offset(), 1, "committed offset survived kill -9");
    assert_eq!(
        m.payload(),
        Some(&b"payload-1"[..]),
        "data survived kill -9"
    );
    Ok(())
}
