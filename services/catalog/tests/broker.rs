//! The catalogue and pricing services running (`run`) against librdkafka's mock
//! cluster: the demo seed and an operator's PUT over HTTP are published on
//! `catalog.events` with their versions, and the pricing service prices a
//! checkout from them: the catalogue price plus the shipping country's tax.

use crate::common;

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use rdkafka::producer::FutureProducer;
use sagaflow_bus::testing::produce;
use sagaflow_bus::{KafkaConfig, Outgoing};
use sagaflow_events::messages::{OrderLine, OrderPriced, PriceOrder, ProductChanged};
use sagaflow_events::topics;
use sagaflow_test_support::service_auth::{OPERATOR_JWT_SECRET, Secret};
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TestDb, TopicReader};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn wait_for(
    bootstrap: String,
    topic: &'static str,
    predicate: impl Fn(&OwnedMessage) -> bool + Send + 'static,
) -> anyhow::Result<OwnedMessage> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut reader = TopicReader::new(&bootstrap, topic)?;
        reader
            .wait_for(Duration::from_secs(30), predicate)
            .ok_or_else(|| anyhow::anyhow!("no matching message on {topic}"))
    })
    .await?
}

fn product_version(message: &OwnedMessage, sku: &str, version: i64) -> bool {
    header(message, "message-type").as_deref() == Some("ProductChanged")
        && sagaflow_events::decode::<ProductChanged>(message.payload().unwrap_or_default())
            .is_ok_and(|p| p.sku == sku && p.version == version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_changes_reach_pricing_over_kafka() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let catalog_db = common::db().await?;
    let pricing_db = TestDb::create("catalog_pricing").await?;
    sagaflow_pricing::migrate(&pricing_db.pool).await?;
    let broker = Broker::mock()?;
    let dlqs: Vec<String> = [topics::PRICING_COMMANDS, topics::CATALOG_EVENTS]
        .iter()
        .map(|t| topics::dead_letter(t))
        .collect();
    let mut all = vec![
        topics::CATALOG_EVENTS,
        topics::PRICING_COMMANDS,
        topics::PRICING_EVENTS,
    ];
    all.extend(dlqs.iter().map(String::as_str));
    broker.create_topics(&all, 2).await?;

    let secret = Some(Secret::new(OPERATOR_JWT_SECRET));
    let catalog_port = sagaflow_test_support::free_port()?;
    let shutdown = CancellationToken::new();
    let catalog = tokio::spawn(sagaflow_catalog::run(
        catalog_db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        sagaflow_catalog::Settings {
            listen: ([127, 0, 0, 1], catalog_port).into(),
            seed_demo: true,
            operator_jwt_secret: secret.clone(),
        },
        shutdown.clone(),
    ));
    let pricing = tokio::spawn(sagaflow_pricing::run(
        pricing_db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        sagaflow_pricing::Settings {
            listen: ([127, 0, 0, 1], sagaflow_test_support::free_port()?).into(),
            operator_jwt_secret: secret,
            ..Default::default()
        },
        shutdown.clone(),
    ));

    // The seed is published.
    wait_for(broker.bootstrap(), topics::CATALOG_EVENTS, |m| {
        product_version(m, "MUG-BLUE", 1)
    })
    .await?;

    // An operator changes the price over HTTP: version 2 is published, keyed by SKU.
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{catalog_port}/products/MUG-BLUE");
    let deadline = Instant::now() + Duration::from_secs(10);
    let response = loop {
        let sent = http
            .put(&url)
            .header("authorization", common::ops())
            .json(&json!({
                "name": "Blue mug",
                "prices": [{ "currency": "EUR", "amount_minor": 1400 }, { "currency": "USD", "amount_minor": 1500 }]
            }))
            .send()
            .await;
        match sent {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(err) => return Err(err.into()),
        }
    };
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let anonymous = http.put(&url).json(&json!({})).send().await?;
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
    let published = wait_for(broker.bootstrap(), topics::CATALOG_EVENTS, |m| {
        product_version(m, "MUG-BLUE", 2)
    })
    .await?;
    assert_eq!(published.key(), Some("MUG-BLUE".as_bytes()));

    // Pricing keeps the newest price (wait for it; the table fills asynchronously).
    sagaflow_test_support::eventually("pricing's price table", Duration::from_secs(30), || {
        let pool = pricing_db.pool.clone();
        async move {
            let version: Option<i64> =
                sqlx::query_scalar("SELECT version FROM catalog_products WHERE sku = 'MUG-BLUE'")
                    .fetch_optional(&pool)
                    .await?;
            Ok(version == Some(2))
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
        shipping_country: Some("FR".into()),
    };
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()?;
    produce(
        &producer,
        &Outgoing::new("acme", Some(saga), saga.to_string(), &command)?,
    )
    .await?;
    let reply = wait_for(broker.bootstrap(), topics::PRICING_EVENTS, move |m| {
        header(m, "saga-id").as_deref() == Some(saga.to_string().as_str())
    })
    .await?;
    let priced: OrderPriced = sagaflow_events::decode(reply.payload().unwrap_or_default())?;
    // 2 × 1400 = 2800; FR 20% = 560.
    assert_eq!(
        (priced.subtotal_minor, priced.tax_minor, priced.total_minor),
        (2800, 560, 3360)
    );

    shutdown.cancel();
    catalog.await??;
    pricing.await??;
    Ok(())
}
