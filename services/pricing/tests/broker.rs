//! The whole service (`run`: consumer, relay, operator API) against librdkafka's
//! mock cluster: a `ProductChanged` on `catalog.events` fills the price table, and
//! a `PriceOrder` on `pricing.commands` is answered on `pricing.events` with the
//! catalogue price plus the shipping country's tax.

use crate::common;

use std::time::Duration;

use common::product;
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::producer::FutureProducer;
use sagaflow_bus::testing::produce;
use sagaflow_bus::{KafkaConfig, Outgoing};
use sagaflow_events::messages::{OrderLine, OrderPriced, PriceOrder};
use sagaflow_events::topics;
use sagaflow_test_support::service_auth::{OPERATOR_JWT_SECRET, Secret};
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TopicReader};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_from_catalogue_events_over_kafka() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let db = common::db().await?;
    let broker = Broker::mock()?;
    let dlq_commands = topics::dead_letter(topics::PRICING_COMMANDS);
    let dlq_catalog = topics::dead_letter(topics::CATALOG_EVENTS);
    broker
        .create_topics(
            &[
                topics::PRICING_COMMANDS,
                topics::PRICING_EVENTS,
                topics::CATALOG_EVENTS,
                &dlq_commands,
                &dlq_catalog,
            ],
            2,
        )
        .await?;
    let settings = sagaflow_pricing::Settings {
        listen: ([127, 0, 0, 1], sagaflow_test_support::free_port()?).into(),
        operator_jwt_secret: Some(Secret::new(OPERATOR_JWT_SECRET)),
        ..Default::default()
    };
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(sagaflow_pricing::run(
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        settings,
        shutdown.clone(),
    ));

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()?;
    let event = product("MUG-BLUE", 1, true, &[("EUR", 1250)]);
    produce(
        &producer,
        &Outgoing::new("platform", None, "MUG-BLUE", &event)?,
    )
    .await?;
    // The price table is filled asynchronously: wait for it before ordering.
    sagaflow_test_support::eventually("the price table", Duration::from_secs(30), || {
        let pool = db.pool.clone();
        async move {
            let n: i64 =
                sqlx::query_scalar("SELECT count(*) FROM catalog_prices WHERE sku = 'MUG-BLUE'")
                    .fetch_one(&pool)
                    .await?;
            Ok(n == 1)
        }
    })
    .await?;

    let saga = Uuid::now_v7();
    let command = PriceOrder {
        saga_id: saga,
        items: vec![OrderLine {
            sku: "MUG-BLUE".into(),
            quantity: 2,
        }],
        currency: "EUR".into(),
        discount_code: None,
        shipping_country: Some("NL".into()),
    };
    produce(
        &producer,
        &Outgoing::new("acme", Some(saga), saga.to_string(), &command)?,
    )
    .await?;

    let bootstrap = broker.bootstrap();
    let reply = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut reader = TopicReader::new(&bootstrap, topics::PRICING_EVENTS)?;
        reader
            .wait_for(Duration::from_secs(30), |m| {
                header(m, "saga-id").as_deref() == Some(saga.to_string().as_str())
            })
            .ok_or_else(|| anyhow::anyhow!("no reply on pricing.events"))
    })
    .await??;
    assert_eq!(
        header(&reply, "message-type").as_deref(),
        Some("OrderPriced")
    );
    let priced: OrderPriced = sagaflow_events::decode(reply.payload().unwrap_or_default())?;
    // 2 × 1250 = 2500; NL 21% = 525.
    assert_eq!(
        (priced.subtotal_minor, priced.tax_minor, priced.total_minor),
        (2500, 525, 3025)
    );
    assert_eq!(priced.lines[0].unit_price_minor, 1250);

    shutdown.cancel();
    service.await??;
    Ok(())
}
