//! Outbox, relay, inbox and dead letters against a real broker (mock cluster and
//! the local Nisshi broker) and a real PostgreSQL.

use crate::common;

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use sagaflow_bus::{Backoff, InboxConsumer, KafkaConfig, Relay, outbox};
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TestDb, TopicReader, eventually, unique_topic};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::{EffectHandler, effects_for, message, prepare};

const WAIT: Duration = Duration::from_secs(20);

async fn outbox_publishes_committed_exactly_once_and_never_rolled_back(
    broker: Broker,
) -> anyhow::Result<()> {
    let db = TestDb::create("outbox").await?;
    prepare(&db.pool).await?;
    let topic = unique_topic("outbox");
    broker.create_topics(&[&topic], 2).await?;

    let committed = message(&topic, Uuid::now_v7());
    let rolled_back = message(&topic, Uuid::now_v7());
    let mut tx = db.pool.begin().await?;
    outbox::enqueue(&mut tx, std::slice::from_ref(&committed)).await?;
    tx.commit().await?;
    let mut tx = db.pool.begin().await?;
    outbox::enqueue(&mut tx, std::slice::from_ref(&rolled_back)).await?;
    tx.rollback().await?;

    let shutdown = CancellationToken::new();
    let relay = Relay::new(db.pool.clone(), &KafkaConfig::new(broker.bootstrap()))?;
    let task = tokio::spawn(relay.run(shutdown.clone()));

    let mut reader = TopicReader::new(&broker.bootstrap(), &topic)?;
    reader.read_at_least(1, WAIT);
    // Give a second publication (or the rolled-back one) time to show up.
    let seen = reader.read_for(Duration::from_millis(1500));
    let ids: Vec<String> = seen
        .iter()
        .filter_map(|m| header(m, "message-id"))
        .collect();
    assert_eq!(
        ids,
        vec![committed.envelope.message_id.to_string()],
        "on {}",
        broker.kind()
    );
    let message = &seen[0];
    assert_eq!(message.key(), Some(committed.key.as_bytes()));
    assert_eq!(message.payload(), Some(committed.payload.as_slice()));
    assert_eq!(header(message, "tenant-id").as_deref(), Some("tenant-a"));
    assert!(header(message, "traceparent").is_some());

    let unsent: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NULL")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(unsent, 0);
    shutdown.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_exactly_once_on_mock_cluster() -> anyhow::Result<()> {
    outbox_publishes_committed_exactly_once_and_never_rolled_back(Broker::mock()?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_exactly_once_on_nisshi() -> anyhow::Result<()> {
    outbox_publishes_committed_exactly_once_and_never_rolled_back(Broker::local()?).await
}

/// Produces a record carrying `outgoing`'s envelope and payload straight to Kafka.
async fn produce(producer: &FutureProducer, out: &sagaflow_bus::Outgoing) -> anyhow::Result<()> {
    let headers = out.envelope.to_headers();
    let mut kafka_headers = OwnedHeaders::new();
    for (k, v) in &headers {
        kafka_headers = kafka_headers.insert(Header {
            key: k,
            value: Some(v.as_bytes()),
        });
    }
    producer
        .send(
            FutureRecord::to(&out.topic)
                .key(&out.key)
                .payload(&out.payload)
                .headers(kafka_headers),
            Timeout::After(Duration::from_secs(10)),
        )
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

fn producer(bootstrap: &str) -> anyhow::Result<FutureProducer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "1")
        .create()?)
}

async fn same_message_100_times_has_one_effect(broker: Broker) -> anyhow::Result<()> {
    let db = TestDb::create("dedup").await?;
    prepare(&db.pool).await?;
    let topic = unique_topic("dedup");
    broker.create_topics(&[&topic], 1).await?;

    let saga = Uuid::now_v7();
    let duplicate = message(&topic, saga);
    let producer = producer(&broker.bootstrap())?;
    for _ in 0..100 {
        produce(&producer, &duplicate).await?;
    }
    let sentinel_saga = Uuid::now_v7();
    produce(&producer, &message(&topic, sentinel_saga)).await?;

    let handler = EffectHandler::default();
    let calls = handler.calls.clone();
    let shutdown = CancellationToken::new();
    let consumer = InboxConsumer::new(
        &format!("dedup-{}", Uuid::new_v4()),
        &[&topic],
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        handler,
    );
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    // The sentinel comes after all 100 copies on the single partition.
    eventually("the sentinel", WAIT, || async {
        Ok(effects_for(&db.pool, sentinel_saga).await? == 1)
    })
    .await?;
    assert_eq!(
        effects_for(&db.pool, saga).await?,
        1,
        "on {}",
        broker.kind()
    );
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the handler ran for duplicates"
    );
    shutdown.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_100_deliveries_on_mock_cluster() -> anyhow::Result<()> {
    same_message_100_times_has_one_effect(Broker::mock()?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_100_deliveries_on_nisshi() -> anyhow::Result<()> {
    same_message_100_times_has_one_effect(Broker::local()?).await
}

async fn poison_is_dead_lettered_and_partition_flows(broker: Broker) -> anyhow::Result<()> {
    let db = TestDb::create("poison").await?;
    prepare(&db.pool).await?;
    let topic = unique_topic("poison");
    let dlq = sagaflow_events::topics::dead_letter(&topic);
    broker.create_topics(&[&topic, &dlq], 1).await?;

    let producer = producer(&broker.bootstrap())?;
    // 1: no envelope at all; 2: an envelope but a body that is not Avro;
    // 3: a good message the handler refuses as poison; 4: a good message.
    producer
        .send(
            FutureRecord::<str, [u8]>::to(&topic)
                .key("k")
                .payload(&b"\xff\x00garbage"[..]),
            Timeout::After(Duration::from_secs(10)),
        )
        .await
        .map_err(|(e, _)| e)?;
    let mut bad_body = message(&topic, Uuid::now_v7());
    bad_body.payload = b"not avro".to_vec();
    produce(&producer, &bad_body).await?;
    let refused_saga = Uuid::now_v7();
    let mut refused = message(&topic, refused_saga);
    refused.payload = sagaflow_events::encode(&sagaflow_events::messages::ReleaseInventory {
        saga_id: refused_saga,
        reason: "poison-in-handler".into(),
    })?;
    produce(&producer, &refused).await?;
    let good_saga = Uuid::now_v7();
    produce(&producer, &message(&topic, good_saga)).await?;

    let shutdown = CancellationToken::new();
    let consumer = InboxConsumer::new(
        &format!("poison-{}", Uuid::new_v4()),
        &[&topic],
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        EffectHandler::default(),
    );
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    let started = tokio::time::Instant::now();
    eventually("the good message", WAIT, || async {
        Ok(effects_for(&db.pool, good_saga).await? == 1)
    })
    .await?;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    let mut reader = TopicReader::new(&broker.bootstrap(), &dlq)?;
    let dead = reader.read_at_least(3, WAIT).to_vec();
    assert_eq!(dead.len(), 3, "three dead letters on {}", broker.kind());
    let reasons: Vec<String> = dead
        .iter()
        .filter_map(|m| header(m, "dlq-reason"))
        .collect();
    assert!(reasons[0].contains("message-id"), "{reasons:?}");
    assert!(reasons[1].contains("contract"), "{reasons:?}");
    assert!(reasons[2].contains("cannot process"), "{reasons:?}");
    for (offset, record) in dead.iter().enumerate() {
        assert_eq!(
            header(record, "dlq-original-topic").as_deref(),
            Some(topic.as_str())
        );
        assert_eq!(
            header(record, "dlq-original-partition").as_deref(),
            Some("0")
        );
        assert_eq!(
            header(record, "dlq-original-offset"),
            Some(offset.to_string())
        );
    }
    assert_eq!(
        dead[0].payload(),
        Some(&b"\xff\x00garbage"[..]),
        "the original bytes are kept"
    );
    assert_eq!(effects_for(&db.pool, refused_saga).await?, 0);
    shutdown.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_to_dead_letters_on_mock_cluster() -> anyhow::Result<()> {
    poison_is_dead_lettered_and_partition_flows(Broker::mock()?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_to_dead_letters_on_nisshi() -> anyhow::Result<()> {
    poison_is_dead_lettered_and_partition_flows(Broker::local()?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_then_dead_lettered_past_the_bound() -> anyhow::Result<()> {
    let db = TestDb::create("transient").await?;
    prepare(&db.pool).await?;
    let backoff = Backoff {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(20),
        max_attempts: 4,
    };
    let incoming = |saga| {
        let out = message("t", saga);
        sagaflow_bus::Incoming {
            envelope: out.envelope,
            topic: "t".into(),
            partition: 0,
            offset: 0,
            key: None,
            payload: out.payload,
        }
    };

    let recovering = EffectHandler {
        fail_first: 3,
        ..Default::default()
    };
    let saga = Uuid::now_v7();
    let outcome =
        sagaflow_bus::inbox::process(&db.pool, &recovering, "c", &incoming(saga), backoff).await;
    assert_eq!(outcome, sagaflow_bus::Outcome::Handled);
    assert_eq!(effects_for(&db.pool, saga).await?, 1);

    let failing = EffectHandler {
        fail_first: 100,
        ..Default::default()
    };
    let saga = Uuid::now_v7();
    let outcome =
        sagaflow_bus::inbox::process(&db.pool, &failing, "c", &incoming(saga), backoff).await;
    assert!(
        matches!(&outcome, sagaflow_bus::Outcome::Poison(r) if r.contains("after 4 attempts")),
        "{outcome:?}"
    );
    assert_eq!(failing.calls.load(std::sync::atomic::Ordering::SeqCst), 4);
    assert_eq!(effects_for(&db.pool, saga).await?, 0, "rolled back");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_mid_stream_loses_no_committed_message() -> anyhow::Result<()> {
    let mut broker = Broker::local()?;
    let db = TestDb::create("restart").await?;
    prepare(&db.pool).await?;
    let topic = unique_topic("restart");
    broker.create_topics(&[&topic], 2).await?;

    let shutdown = CancellationToken::new();
    let relay = Relay::new(db.pool.clone(), &KafkaConfig::new(broker.bootstrap()))?;
    let task = tokio::spawn(relay.run(shutdown.clone()));

    let mut expected = std::collections::BTreeSet::new();
    for i in 0..200 {
        let out = message(&topic, Uuid::now_v7());
        expected.insert(out.envelope.message_id.to_string());
        let mut tx = db.pool.begin().await?;
        outbox::enqueue(&mut tx, &[out]).await?;
        tx.commit().await?;
        if i == 100 {
            broker.local_mut().expect("a local broker").restart()?;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    eventually("the outbox to drain", WAIT, || async {
        let unsent: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NULL")
                .fetch_one(&db.pool)
                .await?;
        Ok(unsent == 0)
    })
    .await?;
    let mut reader = TopicReader::new(&broker.bootstrap(), &topic)?;
    let seen = reader.read_at_least(200, WAIT);
    let ids: std::collections::BTreeSet<String> = seen
        .iter()
        .filter_map(|m| header(m, "message-id"))
        .collect();
    let missing: Vec<_> = expected.difference(&ids).collect();
    assert!(
        missing.is_empty(),
        "lost {} of 200 committed messages",
        missing.len()
    );
    shutdown.cancel();
    task.await??;
    Ok(())
}
