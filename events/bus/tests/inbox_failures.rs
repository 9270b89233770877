//! Failure classes in the inbox consumer, against a real PostgreSQL and librdkafka's
//! mock cluster: a database outage is waited out (nothing dead-lettered, nothing
//! handled twice); data PostgreSQL refuses and constraint violations are
//! dead-lettered at once with the reason, and the partitions flow on.

use crate::common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sagaflow_bus::{InboxConsumer, KafkaConfig};
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TcpProxy, TestDb, TopicReader, eventually, unique_topic};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::{
    CollidingHandler, EffectHandler, committed, effects_for, message, message_with_reason, prepare,
    produce_to, producer, total_effects, unchanged,
};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_for_3s_under_load_loses_and_dead_letters_nothing()
-> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let broker = Broker::mock()?;
    let db = TestDb::create("outage").await?;
    prepare(&db.pool).await?;
    let proxy = TcpProxy::to_url_host(&db.url).await?;
    let options: PgConnectOptions = db
        .url
        .parse::<PgConnectOptions>()?
        .host("127.0.0.1")
        .port(proxy.port());
    let proxied = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(1))
        .connect_with(options)
        .await?;

    let topic = unique_topic("outage");
    let dlq = sagaflow_events::topics::dead_letter(&topic);
    broker.create_topics(&[&topic, &dlq], 4).await?;

    let shutdown = CancellationToken::new();
    let group = format!("outage-{}", Uuid::new_v4());
    let consumer = InboxConsumer::new(
        &group,
        &[&topic],
        proxied,
        KafkaConfig::new(broker.bootstrap()),
        EffectHandler::default(),
    );
    let task = tokio::spawn(consumer.run(shutdown.clone()));

    // 200 messages over 4 partitions, about 10 ms apart: the first 100 before the
    // cut, the other 100 once it is cut (so the outage always hits a flow, however
    // fast the consumer drains the first half).
    let producer = producer(&broker.bootstrap())?;
    let messages: Vec<_> = (0..200).map(|_| message(&topic, Uuid::now_v7())).collect();
    let expected: BTreeSet<Uuid> = messages.iter().map(|m| m.envelope.message_id).collect();
    let (cut_tx, cut_rx) = tokio::sync::oneshot::channel::<()>();
    let sending = {
        let producer = producer.clone();
        tokio::spawn(async move {
            let mut cut = Some(cut_rx);
            for (i, out) in messages.iter().enumerate() {
                if i == 100
                    && let Some(cut) = cut.take()
                {
                    cut.await?;
                }
                produce_to(&producer, out, (i % 4) as i32, unchanged).await?;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            anyhow::Ok(())
        })
    };

    eventually("some messages handled before the outage", WAIT, || async {
        Ok(total_effects(&db.pool).await? >= 40)
    })
    .await?;
    proxy.cut().await;
    let at_cut = total_effects(&db.pool).await?;
    let _ = cut_tx.send(());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = total_effects(&db.pool).await?;
    proxy.restore().await;
    sending.await??;
    assert!(at_cut < 200, "the outage hit while messages were flowing");
    // A transaction in flight at the cut may still have committed.
    assert!(
        during <= at_cut + 8,
        "nothing is handled through a cut proxy"
    );

    eventually("all 200 messages handled", WAIT, || async {
        Ok(total_effects(&db.pool).await? >= 200)
    })
    .await?;
    // Every message is done with (its offset committed: handled, or found a
    // duplicate), so none is in flight or waiting to retry: a second effect of one
    // would show now.
    eventually("every offset committed", WAIT, || async {
        let offsets = committed(&broker.bootstrap(), &group, &topic, 4).await?;
        Ok(offsets == [50; 4])
    })
    .await?;
    assert_eq!(
        total_effects(&db.pool).await?,
        200,
        "each message handled once"
    );
    let handled: BTreeSet<Uuid> = sqlx::query_scalar("SELECT message_id FROM effects")
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .collect();
    assert_eq!(handled, expected);

    let mut reader = TopicReader::new(&broker.bootstrap(), &dlq)?;
    let dead = reader.read_for(Duration::from_secs(2));
    assert!(dead.is_empty(), "{} dead letters", dead.len());
    shutdown.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_in_a_header_or_the_message_id_is_dead_lettered_and_all_partitions_flow()
-> anyhow::Result<()> {
    let broker = Broker::mock()?;
    let db = TestDb::create("nul").await?;
    prepare(&db.pool).await?;
    let topic = unique_topic("nul");
    let dlq = sagaflow_events::topics::dead_letter(&topic);
    broker.create_topics(&[&topic, &dlq], 3).await?;

    let shutdown = CancellationToken::new();
    let consumer = InboxConsumer::new(
        &format!("nul-{}", Uuid::new_v4()),
        &[&topic],
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        EffectHandler::default(),
    )
    .with_workers(1);
    let task = tokio::spawn(consumer.run(shutdown.clone()));

    let producer = producer(&broker.bootstrap())?;
    // Partition 0: a message-type PostgreSQL refuses to store (SQLSTATE 22021).
    let nul_type = message(&topic, Uuid::now_v7());
    produce_to(&producer, &nul_type, 0, |name, value| {
        if name == "message-type" {
            [value, b"\0"].concat()
        } else {
            value.to_vec()
        }
    })
    .await?;
    // Partition 1: a message id with a NUL byte.
    produce_to(
        &producer,
        &message(&topic, Uuid::now_v7()),
        1,
        |name, value| {
            if name == "message-id" {
                [&value[..8], b"\0", &value[9..]].concat()
            } else {
                value.to_vec()
            }
        },
    )
    .await?;
    // Then good messages on every partition, its own included.
    let mut good = Vec::new();
    for i in 0..30 {
        let saga = Uuid::now_v7();
        produce_to(&producer, &message(&topic, saga), i % 3, unchanged).await?;
        good.push(saga);
    }

    eventually("every good message handled", WAIT, || async {
        Ok(total_effects(&db.pool).await? == 30)
    })
    .await?;
    for saga in &good {
        assert_eq!(effects_for(&db.pool, *saga).await?, 1);
    }

    let mut reader = TopicReader::new(&broker.bootstrap(), &dlq)?;
    let dead = reader.read_at_least(2, WAIT).to_vec();
    assert_eq!(dead.len(), 2);
    let reason_of = |partition: &str| {
        dead.iter()
            .find(|m| header(m, "dlq-original-partition").as_deref() == Some(partition))
            .and_then(|m| header(m, "dlq-reason"))
            .unwrap_or_default()
    };
    let nul_type_reason = reason_of("0");
    assert!(
        nul_type_reason.contains("22021") && nul_type_reason.contains("inbox write"),
        "{nul_type_reason}"
    );
    assert!(reason_of("1").contains("message-id"), "{}", reason_of("1"));
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM sagaflow_inbox")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(inbox, 30, "only the good messages are in the inbox");
    shutdown.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constraint_violation_the_handler_did_not_catch_is_dead_lettered_at_once()
-> anyhow::Result<()> {
    let broker = Broker::mock()?;
    let db = TestDb::create("constraint").await?;
    prepare(&db.pool).await?;
    let topic = unique_topic("constraint");
    let dlq = sagaflow_events::topics::dead_letter(&topic);
    broker.create_topics(&[&topic, &dlq], 1).await?;

    let handler = CollidingHandler::default();
    let colliding_calls = handler.colliding_calls.clone();
    let shutdown = CancellationToken::new();
    let consumer = InboxConsumer::new(
        &format!("constraint-{}", Uuid::new_v4()),
        &[&topic],
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        handler,
    )
    .with_max_batch(1);
    let task = tokio::spawn(consumer.run(shutdown.clone()));

    let producer = producer(&broker.bootstrap())?;
    let first = Uuid::now_v7();
    let second = Uuid::now_v7();
    let after = Uuid::now_v7();
    produce_to(
        &producer,
        &message_with_reason(&topic, first, "collide"),
        0,
        unchanged,
    )
    .await?;
    let second_out = message_with_reason(&topic, second, "collide");
    produce_to(&producer, &second_out, 0, unchanged).await?;
    produce_to(&producer, &message(&topic, after), 0, unchanged).await?;

    eventually("the message after the violation", WAIT, || async {
        Ok(effects_for(&db.pool, after).await? == 1)
    })
    .await?;
    assert_eq!(effects_for(&db.pool, first).await?, 1);
    assert_eq!(effects_for(&db.pool, second).await?, 0);
    assert_eq!(
        colliding_calls.load(Ordering::SeqCst),
        2,
        "the violating message is not retried"
    );
    let mut reader = TopicReader::new(&broker.bootstrap(), &dlq)?;
    let dead = reader.read_at_least(1, WAIT).to_vec();
    assert_eq!(dead.len(), 1);
    let reason = header(&dead[0], "dlq-reason").unwrap_or_default();
    assert!(reason.contains("23505"), "{reason}");
    assert_eq!(
        header(&dead[0], "message-id"),
        Some(second_out.envelope.message_id.to_string()),
        "the dead letter is the second colliding message"
    );
    shutdown.cancel();
    task.await??;
    Ok(())
}
