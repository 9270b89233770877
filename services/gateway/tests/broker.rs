//! The whole gateway (`run`: HTTP server, outbox relay, projection consumer) against
//! librdkafka's mock cluster and a real PostgreSQL: a POST over TCP reaches
//! `orchestrator.commands`, and a `SagaProgressed` on `orchestrator.events` reaches
//! the read model; an `InitiateCheckout` another producer puts on
//! `orchestrator.commands` makes its saga visible to its owner.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use sagaflow_bus::{KafkaConfig, Outgoing};
use sagaflow_events::messages::{InitiateCheckout, OrderLine, SagaProgressed};
use sagaflow_gateway::Settings;
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TestDb, TopicReader};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::{TENANT, USER, checkout_body, product_changed};

const WAIT: Duration = Duration::from_secs(20);

/// One HTTP/1.1 request over a fresh connection; returns the status and JSON body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8(response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no header end in {response:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("no status in {head:?}"))?
        .parse()?;
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body)?
    };
    Ok((status, body))
}

async fn wait_until_listening(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while TcpStream::connect(addr).await.is_err() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "gateway did not listen on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_reaches_the_orchestrator_and_progress_comes_back() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let broker = Broker::mock()?;
    broker
        .create_topics(
            &[
                "orchestrator.commands",
                "orchestrator.events",
                "catalog.events",
            ],
            2,
        )
        .await?;
    let db = TestDb::create("gw").await?;
    sagaflow_gateway::migrate(&db.pool).await?;
    let addr: SocketAddr = format!("127.0.0.1:{}", sagaflow_test_support::free_port()?).parse()?;
    let settings = Settings {
        listen: addr,
        ..common::settings()
    };
    let shutdown = CancellationToken::new();
    let gateway = tokio::spawn(sagaflow_gateway::run(
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        settings,
        shutdown.clone(),
    ));
    wait_until_listening(addr).await?;

    // The catalogue reaches the gateway's read model over catalog.events: until
    // then its SKUs are unknown (404) and a checkout of them would be refused.
    for change in [
        product_changed("SKU-RED-M", "Red shirt M", true, &[("EUR", 1999)], 1),
        product_changed("SKU-BLUE-L", "Blue shirt L", true, &[("EUR", 4500)], 1),
    ] {
        publish(
            &broker,
            &Outgoing::new("catalog", None, change.sku.clone(), &change)?,
        )
        .await?;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    for sku in ["SKU-RED-M", "SKU-BLUE-L"] {
        while http(addr, "GET", &format!("/v1/products/{sku}"), &[], "")
            .await?
            .0
            != 200
        {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{sku} never reached the catalogue read model"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let bearer = common::bearer(TENANT, USER);
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let mut post_headers = auth.to_vec();
    post_headers.push(("Idempotency-Key", "e2e-1"));
    let (status, body) = http(
        addr,
        "POST",
        "/v1/checkouts",
        &post_headers,
        &checkout_body().to_string(),
    )
    .await?;
    assert_eq!(status, 202, "{body}");
    let checkout_id = Uuid::parse_str(body["checkout_id"].as_str().unwrap_or_default())?;

    let bootstrap = broker.bootstrap();
    let record = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut reader = TopicReader::new(&bootstrap, "orchestrator.commands")?;
        Ok(reader.wait_for(WAIT, |m| {
            header(m, "saga-id") == Some(checkout_id.to_string())
        }))
    })
    .await??
    .ok_or_else(|| anyhow::anyhow!("no InitiateCheckout on orchestrator.commands"))?;
    assert_eq!(
        header(&record, "message-type").as_deref(),
        Some("InitiateCheckout")
    );
    assert_eq!(header(&record, "tenant-id").as_deref(), Some(TENANT));
    assert_eq!(record.key(), Some(checkout_id.to_string().as_bytes()));
    let command: InitiateCheckout = sagaflow_events::decode(record.payload().unwrap_or_default())?;
    assert_eq!(command.checkout_id, checkout_id);
    assert_eq!(command.user_id, USER);
    assert_eq!(command.items.len(), 2);

    // The orchestrator's answer, as it would publish it.
    let progress = SagaProgressed {
        saga_id: checkout_id,
        definition: "checkout".into(),
        definition_version: 1,
        seq: 1,
        status: "running".into(),
        step: None,
        kind: "started".into(),
        detail: json!({}).to_string(),
        at_ms: 1_767_225_600_000,
        entries: Vec::new(),
        result: None,
    };
    publish(
        &broker,
        &Outgoing::new(
            TENANT,
            Some(checkout_id),
            checkout_id.to_string(),
            &progress,
        )?,
    )
    .await?;

    let uri = format!("/v1/checkouts/{checkout_id}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, view) = http(addr, "GET", &uri, &auth, "").await?;
        assert_eq!(status, 200, "{view}");
        if view["status"] == "running" {
            assert_eq!(view["steps"][0]["kind"], "started");
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "progress never projected: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The gateway's own InitiateCheckout came back on orchestrator.commands: once
    // the projection has handled it, still one row, the gateway's.
    wait_for_inbox(&db.pool, "InitiateCheckout", 1).await?;
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT source, status FROM checkouts")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(rows, vec![("gateway".to_owned(), "running".to_owned())]);

    shutdown.cancel();
    tokio::time::timeout(WAIT, gateway).await???;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_started_by_another_producer_reaches_its_owner() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let broker = Broker::mock()?;
    broker
        .create_topics(
            &[
                "orchestrator.commands",
                "orchestrator.events",
                "catalog.events",
            ],
            2,
        )
        .await?;
    let db = TestDb::create("gw").await?;
    sagaflow_gateway::migrate(&db.pool).await?;
    let addr: SocketAddr = format!("127.0.0.1:{}", sagaflow_test_support::free_port()?).parse()?;
    let shutdown = CancellationToken::new();
    let gateway = tokio::spawn(sagaflow_gateway::run(
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        Settings {
            listen: addr,
            ..common::settings()
        },
        shutdown.clone(),
    ));
    wait_until_listening(addr).await?;

    // The planner's start, and progress that overtakes it (published first).
    let checkout_id = Uuid::now_v7();
    let progress = SagaProgressed {
        saga_id: checkout_id,
        definition: "checkout".into(),
        definition_version: 1,
        seq: 1,
        status: "running".into(),
        step: None,
        kind: "started".into(),
        detail: json!({}).to_string(),
        at_ms: 1_767_225_600_000,
        entries: Vec::new(),
        result: None,
    };
    let start = InitiateCheckout {
        checkout_id,
        user_id: USER.into(),
        cart_id: Uuid::now_v7(),
        items: vec![OrderLine {
            sku: "SKU-RED-M".into(),
            quantity: 1,
        }],
        currency: "EUR".into(),
        payment_method: "card_visa_4242".into(),
        customer_email: "ada@example.com".into(),
        discount_code: None,
        shipping_country: Some("DE".into()),
    };
    let key = checkout_id.to_string();
    publish(
        &broker,
        &Outgoing::new(TENANT, Some(checkout_id), key.clone(), &progress)?,
    )
    .await?;
    wait_for_inbox(&db.pool, "SagaProgressed", 1).await?;
    publish(
        &broker,
        &Outgoing::new(TENANT, Some(checkout_id), key, &start)?,
    )
    .await?;

    let bearer = common::bearer(TENANT, USER);
    let auth = [("Authorization", bearer.as_str())];
    let uri = format!("/v1/checkouts/{checkout_id}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, view) = http(addr, "GET", &uri, &auth, "").await?;
        if status == 200 {
            assert_eq!(view["status"], "running", "{view}");
            assert_eq!(view["steps"][0]["kind"], "started");
            break;
        }
        assert_eq!(status, 404, "{view}");
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the planner's checkout never became visible"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, page) = http(addr, "GET", "/v1/sagas", &auth, "").await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["saga_id"], json!(checkout_id));
    let other = common::bearer(TENANT, "user-2");
    let (status, _) = http(addr, "GET", &uri, &[("Authorization", other.as_str())], "").await?;
    assert_eq!(status, 404);

    shutdown.cancel();
    tokio::time::timeout(WAIT, gateway).await???;
    Ok(())
}

/// Publishes `out` as its producer's relay would (key, payload, envelope headers).
async fn publish(broker: &Broker, out: &Outgoing) -> anyhow::Result<()> {
    let mut kafka_headers = OwnedHeaders::new();
    for (name, value) in out.envelope.to_headers() {
        kafka_headers = kafka_headers.insert(Header {
            key: name,
            value: Some(value.as_bytes()),
        });
    }
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()?;
    producer
        .send(
            FutureRecord::to(&out.topic)
                .key(&out.key)
                .payload(&out.payload)
                .headers(kafka_headers),
            Timeout::After(Duration::from_secs(10)),
        )
        .await
        .map_err(|(err, _)| err)?;
    Ok(())
}

/// Waits until the projection has handled `n` messages of `message_type`.
async fn wait_for_inbox(pool: &sqlx::PgPool, message_type: &str, n: i64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let handled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sagaflow_inbox WHERE consumer = $1 AND message_type = $2",
        )
        .bind(sagaflow_gateway::NAME)
        .bind(message_type)
        .fetch_one(pool)
        .await?;
        if handled >= n {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the projection never handled {n} {message_type}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
