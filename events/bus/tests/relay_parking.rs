//! The outbox relay never stops on one bad row: a row the broker cannot take is
//! parked with its reason, later rows of its key are held (in order) until an
//! operator unparks or purges it, and every other key keeps flowing. Real
//! PostgreSQL and librdkafka's mock cluster.
//!
//! Single-threaded tests: the metrics recorder is installed on the test's thread.

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use sagaflow_bus::config::Properties;
use sagaflow_bus::{KafkaConfig, Outgoing, Relay, outbox};
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TestDb, TopicReader, unique_topic};
use sqlx::PgPool;
use uuid::Uuid;

use common::{TestRecorder, keyed, outbox_id, prepare};

const WAIT: Duration = Duration::from_secs(30);

fn config(broker: &Broker, properties: &[(&str, &str)]) -> KafkaConfig {
    KafkaConfig {
        properties: Properties(
            properties
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..KafkaConfig::new(broker.bootstrap())
    }
}

async fn enqueue(pool: &PgPool, messages: &[Outgoing]) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    outbox::enqueue(&mut conn, messages).await?;
    Ok(())
}

/// Runs batches until `done` holds (or fails after [`WAIT`]).
async fn publish_until<F, Fut>(relay: &Relay, what: &str, mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        relay.publish_batch().await?;
        if done().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("timed out waiting for {what}")
}

async fn scalar(pool: &PgPool, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
}

/// Unsent rows that are not parked (held or still to go), by message id.
async fn waiting(pool: &PgPool) -> anyhow::Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT message_id FROM sagaflow_outbox WHERE sent_at IS NULL AND parked_at IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await?)
}

/// The message ids read from the topic, in the order read.
fn ids_read(reader: &TopicReader) -> Vec<String> {
    reader
        .seen()
        .iter()
        .filter_map(|m| header(m, "message-id"))
        .collect()
}

fn id_of(message: &Outgoing) -> String {
    message.envelope.message_id.to_string()
}

#[tokio::test]
async fn poison_rows_are_parked_while_every_other_row_goes_out_once_in_key_order()
-> anyhow::Result<()> {
    let recorder = TestRecorder::default();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let db = TestDb::create("parking").await?;
    prepare(&db.pool).await?;
    let broker = Broker::mock()?;
    let topic = unique_topic("parking");
    let missing = unique_topic("missing");
    broker.create_topics(&[&topic], 4).await?;
    let kafka = config(
        &broker,
        &[
            // A small producer limit, so a 20 kB payload is "too large".
            ("message.max.bytes", "10000"),
            // The topic `missing` is never created: it stays unknown, and
            // librdkafka gives up on it after a second instead of thirty.
            ("allow.auto.create.topics", "false"),
            ("topic.metadata.propagation.max.ms", "1000"),
        ],
    );
    let relay = Relay::new(db.pool.clone(), &kafka)?.with_batch_size(30);

    // 100 good rows over 7 keys, with the two poison rows and the rows held behind
    // the oversized one in the middle.
    let good: Vec<Outgoing> = (0..100)
        .map(|i| keyed(&topic, &format!("k{}", i % 7)))
        .collect();
    let unknown_topic = keyed(&missing, "u");
    let mut oversized = keyed(&topic, "big");
    oversized.payload = vec![7u8; 20_000];
    let held = [keyed(&topic, "big"), keyed(&topic, "big")];
    enqueue(&db.pool, &good[..40]).await?;
    enqueue(&db.pool, std::slice::from_ref(&unknown_topic)).await?;
    enqueue(&db.pool, &good[40..70]).await?;
    enqueue(&db.pool, std::slice::from_ref(&oversized)).await?;
    enqueue(&db.pool, &held).await?;
    enqueue(&db.pool, &good[70..]).await?;

    let pool = db.pool.clone();
    let held_count = held.len();
    publish_until(
        &relay,
        "the two poison rows parked and the rest sent",
        || {
            let pool = pool.clone();
            async move {
                let parked = scalar(
                    &pool,
                    "SELECT count(*) FROM sagaflow_outbox WHERE parked_at IS NOT NULL",
                )
                .await?;
                Ok(parked == 2 && waiting(&pool).await?.len() == held_count)
            }
        },
    )
    .await?;

    // Every good row once, nothing of key `big` (the oversized row and those held).
    let mut reader = TopicReader::new(&broker.bootstrap(), &topic)?;
    reader.read_at_least(good.len(), WAIT);
    reader.read_for(Duration::from_millis(1500));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for id in ids_read(&reader) {
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(
        counts.len(),
        good.len(),
        "only the good rows were published"
    );
    for message in &good {
        assert_eq!(counts.get(&id_of(message)), Some(&1), "each good row once");
    }
    // Per key, the topic holds the rows in the order they were written.
    for k in 0..7 {
        let key = format!("k{k}");
        let written: Vec<String> = good.iter().filter(|m| m.key == key).map(id_of).collect();
        let read: Vec<String> = reader
            .seen()
            .iter()
            .filter(|m| m.key() == Some(key.as_bytes()))
            .filter_map(|m| header(m, "message-id"))
            .collect();
        assert_eq!(read, written, "key {key} in order");
    }

    // The poison rows are parked with a reason that names the problem.
    let parked = outbox::list_parked(&db.pool, 10).await?;
    assert_eq!(parked.len(), 2, "{parked:?}");
    let by_message: HashMap<Option<Uuid>, &outbox::ParkedRow> =
        parked.iter().map(|p| (p.message_id, p)).collect();
    let unknown = by_message[&Some(unknown_topic.envelope.message_id)];
    assert_eq!(unknown.topic, missing);
    assert_eq!(unknown.partition_key, "u");
    let reason = unknown.last_error.as_deref().unwrap_or_default();
    assert!(reason.to_lowercase().contains("unknown topic"), "{reason}");
    let big = by_message[&Some(oversized.envelope.message_id)];
    let reason = big.last_error.as_deref().unwrap_or_default();
    assert!(reason.to_lowercase().contains("size"), "{reason}");
    assert_eq!((big.attempts, big.partition_key.as_str()), (1, "big"));

    // Nothing is left to send but the two rows held behind the oversized one;
    // they were never attempted.
    assert_eq!(
        waiting(&db.pool).await?,
        held.iter()
            .map(|m| m.envelope.message_id)
            .collect::<Vec<_>>()
    );
    let held_attempts = scalar(
        &db.pool,
        "SELECT coalesce(sum(attempts), 0) FROM sagaflow_outbox WHERE sent_at IS NULL AND parked_at IS NULL",
    )
    .await?;
    assert_eq!(held_attempts, 0);

    // Metrics: one parked row per topic, and the gauges from housekeeping.
    assert_eq!(
        recorder.counter(&format!("sagaflow_outbox_parked_total{{topic={topic}}}")),
        1
    );
    assert_eq!(
        recorder.counter(&format!("sagaflow_outbox_parked_total{{topic={missing}}}")),
        1
    );
    relay.housekeeping("parking_db").await;
    assert_eq!(
        recorder.gauge("sagaflow_outbox_parked{database=parking_db}"),
        Some(2.0)
    );
    assert_eq!(
        recorder.gauge("sagaflow_outbox_backlog{database=parking_db}"),
        Some(2.0),
        "the held rows are backlog, the parked ones are not"
    );

    // More batches change nothing: parked rows are not retried, held rows wait.
    for _ in 0..3 {
        assert_eq!(relay.publish_batch().await?, 0);
    }
    assert_eq!(waiting(&db.pool).await?.len(), held.len());

    // Purging touches parked rows only; then the held rows go out, in order.
    let sent_id = outbox_id(&db.pool, &good[0]).await?;
    assert_eq!(outbox::purge_parked(&db.pool, &[sent_id]).await?, 0);
    let big_id = outbox_id(&db.pool, &oversized).await?;
    assert_eq!(outbox::purge_parked(&db.pool, &[big_id]).await?, 1);
    publish_until(&relay, "the held rows sent", || {
        let pool = db.pool.clone();
        async move { Ok(waiting(&pool).await?.is_empty()) }
    })
    .await?;
    let released = reader
        .wait_for(WAIT, |m| {
            header(m, "message-id").as_deref() == Some(id_of(&held[1]).as_str())
        })
        .is_some();
    assert!(released, "the second held row was published");
    let big_key: Vec<String> = reader
        .seen()
        .iter()
        .filter(|m| m.key() == Some(b"big".as_slice()))
        .filter_map(|m| header(m, "message-id"))
        .collect();
    assert_eq!(big_key, vec![id_of(&held[0]), id_of(&held[1])]);
    assert_eq!(
        outbox::list_parked(&db.pool, 10).await?.len(),
        1,
        "the unknown-topic row is still parked"
    );
    Ok(())
}

#[tokio::test]
async fn a_broker_refusing_deliveries_for_a_while_parks_nothing_before_the_bound()
-> anyhow::Result<()> {
    let recorder = TestRecorder::default();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let db = TestDb::create("refusals").await?;
    prepare(&db.pool).await?;
    let broker = Broker::mock()?;
    let Broker::Mock(cluster) = &broker else {
        unreachable!("a mock cluster")
    };
    let topic = unique_topic("refusals");
    broker.create_topics(&[&topic], 1).await?;
    let relay = Relay::new(db.pool.clone(), &config(&broker, &[]))?;
    let refuse = |times: usize| {
        cluster.request_errors(
            RDKafkaApiKey::Produce,
            &vec![RDKafkaRespErr::RD_KAFKA_RESP_ERR_POLICY_VIOLATION; times],
        );
    };

    // Refused four times, one less than the bound: retried, never parked.
    let survivor = keyed(&topic, "a");
    enqueue(&db.pool, std::slice::from_ref(&survivor)).await?;
    refuse(4);
    let survivor_id = outbox_id(&db.pool, &survivor).await?;
    for attempt in 1..=4 {
        assert_eq!(relay.publish_batch().await?, 0, "attempt {attempt} refused");
        let (attempts, parked, reason): (i32, bool, Option<String>) = sqlx::query_as(
            "SELECT attempts, parked_at IS NOT NULL, last_error FROM sagaflow_outbox WHERE id = $1",
        )
        .bind(survivor_id)
        .fetch_one(&db.pool)
        .await?;
        assert_eq!((attempts, parked), (attempt, false));
        let reason = reason.unwrap_or_default();
        assert!(reason.to_lowercase().contains("policy"), "{reason}");
    }
    assert_eq!(
        relay.publish_batch().await?,
        1,
        "the fifth attempt goes through"
    );

    // Refused five times: parked at the bound, and the next row of its key is held
    // (never sent) until the operator unparks it; then both go out in order.
    let (refused, behind) = (keyed(&topic, "c"), keyed(&topic, "c"));
    enqueue(&db.pool, &[refused.clone(), behind.clone()]).await?;
    refuse(5);
    for _ in 0..5 {
        assert_eq!(relay.publish_batch().await?, 0);
    }
    let parked = outbox::list_parked(&db.pool, 10).await?;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].message_id, Some(refused.envelope.message_id));
    assert_eq!(parked[0].attempts, 5);
    let reason = parked[0].last_error.clone().unwrap_or_default();
    assert!(reason.contains("after 5 attempts"), "{reason}");
    assert_eq!(
        recorder.counter(&format!("sagaflow_outbox_parked_total{{topic={topic}}}")),
        1
    );
    let behind_attempts: i32 =
        sqlx::query_scalar("SELECT attempts FROM sagaflow_outbox WHERE message_id = $1")
            .bind(behind.envelope.message_id)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(behind_attempts, 0, "held, never attempted");
    assert_eq!(relay.publish_batch().await?, 0, "parked and held rows stay");

    let parked_id = parked[0].id;
    assert_eq!(
        outbox::unpark(&db.pool, &[parked_id, survivor_id]).await?,
        1
    );
    assert_eq!(relay.publish_batch().await?, 2);
    assert!(outbox::list_parked(&db.pool, 10).await?.is_empty());

    let mut reader = TopicReader::new(&broker.bootstrap(), &topic)?;
    reader.read_at_least(3, WAIT);
    reader.read_for(Duration::from_millis(1000));
    assert_eq!(
        ids_read(&reader),
        vec![id_of(&survivor), id_of(&refused), id_of(&behind)],
        "each once, in order"
    );
    Ok(())
}

#[tokio::test]
async fn a_full_producer_queue_counts_no_attempt() -> anyhow::Result<()> {
    let db = TestDb::create("queuefull").await?;
    prepare(&db.pool).await?;
    let broker = Broker::mock()?;
    let topic = unique_topic("queuefull");
    broker.create_topics(&[&topic], 2).await?;
    let kafka = config(&broker, &[("queue.buffering.max.messages", "5")]);
    let relay = Relay::new(db.pool.clone(), &kafka)?.with_max_attempts(1);

    let messages: Vec<Outgoing> = (0..40).map(|i| keyed(&topic, &format!("q{i}"))).collect();
    enqueue(&db.pool, &messages).await?;
    let first = relay.publish_batch().await?;
    assert!(
        (1..40).contains(&first),
        "the queue holds 5: the first batch stops early ({first})"
    );
    let pool = db.pool.clone();
    publish_until(&relay, "every row sent", || {
        let pool = pool.clone();
        async move { Ok(waiting(&pool).await?.is_empty()) }
    })
    .await?;
    let (attempts, parked): (i64, i64) =
        sqlx::query_as("SELECT coalesce(sum(attempts), 0), count(parked_at) FROM sagaflow_outbox")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(
        (attempts, parked),
        (0, 0),
        "a full queue is not the rows' fault"
    );

    let mut reader = TopicReader::new(&broker.bootstrap(), &topic)?;
    reader.read_at_least(messages.len(), WAIT);
    reader.read_for(Duration::from_millis(1000));
    let mut read = ids_read(&reader);
    read.sort();
    let mut written: Vec<String> = messages.iter().map(id_of).collect();
    written.sort();
    assert_eq!(read, written, "each once");
    Ok(())
}

#[tokio::test]
async fn a_row_whose_headers_cannot_be_read_is_parked_and_holds_only_its_key() -> anyhow::Result<()>
{
    let db = TestDb::create("badheaders").await?;
    prepare(&db.pool).await?;
    let broker = Broker::mock()?;
    let topic = unique_topic("badheaders");
    broker.create_topics(&[&topic], 1).await?;
    let relay = Relay::new(db.pool.clone(), &config(&broker, &[]))?;

    let (bad, behind, other) = (keyed(&topic, "x"), keyed(&topic, "x"), keyed(&topic, "y"));
    enqueue(&db.pool, &[bad.clone(), behind.clone(), other.clone()]).await?;
    // Written by hand (or an old version): a header value that is not a string.
    sqlx::query(
        "UPDATE sagaflow_outbox SET headers = '{\"message-id\": 42}' WHERE message_id = $1",
    )
    .bind(bad.envelope.message_id)
    .execute(&db.pool)
    .await?;

    assert_eq!(relay.publish_batch().await?, 1, "only the other key's row");
    let parked = outbox::list_parked(&db.pool, 10).await?;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].message_id, Some(bad.envelope.message_id));
    let reason = parked[0].last_error.clone().unwrap_or_default();
    assert!(reason.contains("headers"), "{reason}");
    assert_eq!(waiting(&db.pool).await?, vec![behind.envelope.message_id]);

    let mut reader = TopicReader::new(&broker.bootstrap(), &topic)?;
    reader.read_at_least(1, WAIT);
    reader.read_for(Duration::from_millis(1000));
    assert_eq!(ids_read(&reader), vec![id_of(&other)]);
    Ok(())
}
