//! The whole service (`run`: HTTP + relay + consumer) against a real
//! Kafka-protocol broker (librdkafka's mock cluster): a status change made over
//! HTTP is read back from `applications.events`, and an attach command sent to
//! `applications.commands` is answered there and shows on the application.

use crate::common;

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use sagaflow_bus::{KafkaConfig, Outgoing};
use sagaflow_events::messages::{
    ApplicationStatusChanged, AttachDocumentToApplication, DocumentAttached,
};
use sagaflow_events::topics;
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TopicReader};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TENANT: &str = "acme";
const USER: &str = "alice";

async fn produce(bootstrap: &str, command: &Outgoing) -> anyhow::Result<()> {
    let mut headers = OwnedHeaders::new();
    for (key, value) in command.envelope.to_headers() {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
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
    Ok(())
}

/// Waits (on a blocking thread) for a message on `topic` matching `predicate`.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_events_and_attach_commands_over_kafka() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let db = common::db().await?;
    let broker = Broker::mock()?;
    let dlq = topics::dead_letter(topics::APPLICATIONS_COMMANDS);
    broker
        .create_topics(
            &[
                topics::APPLICATIONS_COMMANDS,
                topics::APPLICATIONS_EVENTS,
                &dlq,
            ],
            2,
        )
        .await?;
    let port = sagaflow_test_support::free_port()?;
    let settings = sagaflow_applications::Settings {
        listen: ([127, 0, 0, 1], port).into(),
        internal_token_secret: Some(sagaflow_test_support::service_auth::Secret::new(
            sagaflow_test_support::service_auth::INTERNAL_TOKEN_SECRET,
        )),
        ..Default::default()
    };
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(sagaflow_applications::run(
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        settings,
        shutdown.clone(),
    ));

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{path}")).header(
            "authorization",
            sagaflow_test_support::service_auth::internal_bearer("applications", TENANT, USER),
        )
    };
    // The listener is bound before `run` returns control; poll until it answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(reqwest::Method::GET, "/v1/applications")
        .send()
        .await
        .is_err()
    {
        anyhow::ensure!(Instant::now() < deadline, "the API never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The port itself refuses a caller without the gateway's token, whatever
    // identity headers it sends.
    let direct = http
        .get(format!("{base}/v1/applications"))
        .header("x-tenant-id", TENANT)
        .header("x-user-id", USER)
        .send()
        .await?;
    assert_eq!(direct.status(), reqwest::StatusCode::UNAUTHORIZED);

    let created: Value = call(reqwest::Method::POST, "/v1/applications")
        .json(&json!({"company": "Acme", "role": "Dev"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let app = created["id"].as_str().expect("id").to_owned();
    let request_id = Uuid::now_v7();
    call(reqwest::Method::PATCH, &format!("/v1/applications/{app}"))
        .header("x-request-id", request_id.to_string())
        .json(&json!({"status": "applied"}))
        .send()
        .await?
        .error_for_status()?;

    let changed = wait_for(broker.bootstrap(), topics::APPLICATIONS_EVENTS, move |m| {
        header(m, "correlation-id") == Some(request_id.to_string())
    })
    .await?;
    assert_eq!(
        header(&changed, "message-type").as_deref(),
        Some("ApplicationStatusChanged")
    );
    assert_eq!(header(&changed, "tenant-id").as_deref(), Some(TENANT));
    assert_eq!(changed.key(), Some(app.as_bytes()), "keyed by application");
    let event: ApplicationStatusChanged =
        sagaflow_events::decode(changed.payload().unwrap_or_default())?;
    assert_eq!(event.application_id.to_string(), app);
    assert_eq!(
        (event.from_status.as_deref(), event.to_status.as_str()),
        (Some("saved"), "applied")
    );
    assert_eq!(event.user_id, USER);

    // The planner's command, as it would send it.
    let (saga, generation) = (Uuid::now_v7(), Uuid::now_v7());
    let application_id = Uuid::parse_str(&app)?;
    let command = |tenant: &str| {
        Outgoing::new(
            tenant,
            Some(saga),
            saga.to_string(),
            &AttachDocumentToApplication {
                saga_id: saga,
                tenant_id: None,
                user_id: USER.into(),
                application_id,
                generation_id: generation,
            },
        )
    };
    let first = command(TENANT)?;
    produce(&broker.bootstrap(), &first).await?;
    let cause = first.envelope.message_id.to_string();
    let reply = wait_for(broker.bootstrap(), topics::APPLICATIONS_EVENTS, move |m| {
        header(m, "causation-id").as_deref() == Some(cause.as_str())
    })
    .await?;
    assert_eq!(
        header(&reply, "message-type").as_deref(),
        Some("DocumentAttached")
    );
    assert_eq!(header(&reply, "saga-id"), Some(saga.to_string()));
    assert_eq!(
        header(&reply, "correlation-id"),
        Some(first.envelope.correlation_id.to_string())
    );
    let attached: DocumentAttached = sagaflow_events::decode(reply.payload().unwrap_or_default())?;
    assert_eq!(
        (attached.application_id, attached.generation_id),
        (application_id, generation)
    );

    // A retried command (new message id, same saga): the same answer.
    let retry = command(TENANT)?;
    produce(&broker.bootstrap(), &retry).await?;
    let cause = retry.envelope.message_id.to_string();
    let again = wait_for(broker.bootstrap(), topics::APPLICATIONS_EVENTS, move |m| {
        header(m, "causation-id").as_deref() == Some(cause.as_str())
    })
    .await?;
    let again: DocumentAttached = sagaflow_events::decode(again.payload().unwrap_or_default())?;
    assert_eq!(again, attached);

    let detail: Value = call(reqwest::Method::GET, &format!("/v1/applications/{app}"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(
        detail["documents"].as_array().map(Vec::len),
        Some(1),
        "{detail}"
    );
    assert_eq!(
        detail["documents"][0]["generation_id"],
        generation.to_string()
    );
    assert_eq!(detail["documents"][0]["saga_id"], saga.to_string());

    shutdown.cancel();
    service.await??;
    Ok(())
}
