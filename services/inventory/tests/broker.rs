//! The whole service (`run`: relay + consumer) against a real Kafka-protocol broker.

use crate::common;

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use sagaflow_bus::{KafkaConfig, Outgoing};
use sagaflow_events::messages::{InventoryReserved, ReserveInventory, StockItem};
use sagaflow_events::topics;
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TopicReader};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_over_kafka_replies_on_inventory_events() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let db = common::db().await?;
    sagaflow_inventory::set_stock(&db.pool, "A", 5).await?;
    let broker = Broker::mock()?;
    let dlq = topics::dead_letter(topics::INVENTORY_COMMANDS);
    broker
        .create_topics(
            &[topics::INVENTORY_COMMANDS, topics::INVENTORY_EVENTS, &dlq],
            2,
        )
        .await?;

    let shutdown = CancellationToken::new();
    let service = tokio::spawn(sagaflow_inventory::run(
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        sagaflow_inventory::Settings::default(),
        shutdown.clone(),
    ));

    let saga = Uuid::now_v7();
    let command = Outgoing::new(
        "tenant-a",
        Some(saga),
        saga.to_string(),
        &ReserveInventory {
            saga_id: saga,
            items: vec![StockItem {
                sku: "A".into(),
                quantity: 2,
            }],
        },
    )?;
    let mut headers = OwnedHeaders::new();
    for (key, value) in command.envelope.to_headers() {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()?;
    producer
        .send(
            FutureRecord::to(&command.topic)
                .key(&command.key)
                .payload(&command.payload)
                .headers(headers),
            Timeout::After(Duration::from_secs(10)),
        )
        .await
        .map_err(|(err, _)| err)?;

    let command_id = command.envelope.message_id.to_string();
    let reply = tokio::task::spawn_blocking({
        let bootstrap = broker.bootstrap();
        move || -> anyhow::Result<_> {
            let mut reader = TopicReader::new(&bootstrap, topics::INVENTORY_EVENTS)?;
            Ok(reader.wait_for(Duration::from_secs(30), |m| {
                header(m, "causation-id").as_deref() == Some(command_id.as_str())
            }))
        }
    })
    .await??
    .ok_or_else(|| anyhow::anyhow!("no reply on inventory.events"))?;

    assert_eq!(
        header(&reply, "message-type").as_deref(),
        Some("InventoryReserved")
    );
    assert_eq!(header(&reply, "saga-id"), Some(saga.to_string()));
    assert_eq!(
        header(&reply, "correlation-id"),
        Some(command.envelope.correlation_id.to_string())
    );
    assert_eq!(reply.key(), Some(saga.to_string().as_bytes()));
    let body: InventoryReserved = sagaflow_events::decode(reply.payload().unwrap_or_default())?;
    assert_eq!(body.saga_id, saga);
    assert_eq!(sagaflow_inventory::stock(&db.pool, "A").await?, Some(3));

    shutdown.cancel();
    service.await??;
    Ok(())
}
