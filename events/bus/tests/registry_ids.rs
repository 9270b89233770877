//! Schema ids a schema registry assigned, against a real PostgreSQL, librdkafka's
//! mock cluster and a fake registry speaking the Confluent REST API:
//!
//! - a message a third-party serializer wrote (Python, confluent-kafka's
//!   `AvroSerializer`, registering `events/schemas`' ReleaseInventory) is decoded
//!   and handled by a consumer with `SCHEMA_REGISTRY_URL`; its schema is fetched
//!   once per id;
//! - an unknown id without a registry is dead-lettered with the reason;
//! - an id the registry does not have (404, 40403) is dead-lettered with the
//!   registry's reason;
//! - while the registry fails (500) the message waits, neither handled nor
//!   dead-lettered, and is handled once the registry answers.
//!
//! The Python tools come from `infra/dev/python.sh` (a venv in `.tools/`); the
//! test fails, saying why, when Python or PyPI is missing.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sagaflow_bus::{Failure, Handler, InboxConsumer, Incoming, KafkaConfig, Outgoing};
use sagaflow_events::codec;
use sagaflow_events::messages::ReleaseInventory;
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TestDb, TopicReader, eventually, unique_topic};
use serde_json::{Value, json};
use sqlx::PgConnection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::{message, produce_to, producer, unchanged};

const WAIT: Duration = Duration::from_secs(30);
const TENANT: &str = "tenant-registry";

/// What the handler decoded: (message id, tenant, saga id, reason).
type Seen = Arc<Mutex<Vec<(Uuid, String, Uuid, String)>>>;

/// Decodes every message as `ReleaseInventory` and keeps what it read.
#[derive(Clone, Default)]
struct Decoding {
    seen: Seen,
}

impl Handler for Decoding {
    async fn handle(
        &self,
        _tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let body: ReleaseInventory = message.decode()?;
        self.seen.lock().expect("not poisoned").push((
            message.envelope.message_id,
            message.envelope.tenant_id.clone(),
            body.saga_id,
            body.reason,
        ));
        Ok(Vec::new())
    }
}

/// A schema registry in memory, as the Confluent REST API documents it: `POST
/// /subjects/{subject}/versions` registers a schema and answers `{"id": N}` (ids
/// from `first_id`, far from the built-in ones), `GET /schemas/ids/{id}` answers
/// `{"schema": ...}` or 404 / 40403; errors are `{"error_code", "message"}`.
#[derive(Clone)]
struct FakeRegistry {
    state: Arc<Mutex<RegistryState>>,
}

struct RegistryState {
    /// id -> schema text.
    schemas: BTreeMap<u32, String>,
    next_id: u32,
    /// GET /schemas/ids/{id} calls, by id.
    lookups: BTreeMap<u32, usize>,
    /// Answer 500 / 50001 to look-ups.
    failing: bool,
}

fn registry_error(status: u16, code: i64, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::from_u16(status).expect("status"),
        [("content-type", sagaflow_bus::schema_registry::CONTENT_TYPE)],
        json!({ "error_code": code, "message": message }).to_string(),
    )
        .into_response()
}

impl FakeRegistry {
    fn new(first_id: u32) -> Self {
        Self {
            state: Arc::new(Mutex::new(RegistryState {
                schemas: BTreeMap::new(),
                next_id: first_id,
                lookups: BTreeMap::new(),
                failing: false,
            })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RegistryState> {
        self.state.lock().expect("not poisoned")
    }

    /// Holds `schema` under `id` (as if another client had registered it).
    fn put(&self, id: u32, schema: &str) {
        self.state().schemas.insert(id, schema.to_owned());
    }

    fn lookups(&self, id: u32) -> usize {
        self.state().lookups.get(&id).copied().unwrap_or(0)
    }

    /// Serves the API on a free port of 127.0.0.1; its base URL.
    async fn start(&self) -> anyhow::Result<String> {
        use axum::extract::{Path, State};
        use axum::response::IntoResponse;
        async fn register(
            State(fake): State<FakeRegistry>,
            Path(_subject): Path<String>,
            body: String,
        ) -> axum::response::Response {
            let request: Value = serde_json::from_str(&body).unwrap_or_default();
            let Some(schema) = request["schema"].as_str() else {
                return registry_error(422, 42201, "Invalid schema");
            };
            let mut state = fake.state();
            let known = state
                .schemas
                .iter()
                .find(|(_, s)| s.as_str() == schema)
                .map(|(id, _)| *id);
            let id = known.unwrap_or_else(|| {
                let id = state.next_id;
                state.next_id += 1;
                state.schemas.insert(id, schema.to_owned());
                id
            });
            axum::Json(json!({ "id": id })).into_response()
        }
        async fn by_id(
            State(fake): State<FakeRegistry>,
            Path(id): Path<u32>,
        ) -> axum::response::Response {
            let mut state = fake.state();
            *state.lookups.entry(id).or_default() += 1;
            if state.failing {
                return registry_error(500, 50001, "Error in the backend data store");
            }
            match state.schemas.get(&id) {
                Some(schema) => axum::Json(json!({ "schema": schema })).into_response(),
                None => registry_error(404, 40403, &format!("Schema {id} not found")),
            }
        }
        let app = axum::Router::new()
            .route(
                "/subjects/{subject}/versions",
                axum::routing::post(register),
            )
            .route("/schemas/ids/{id}", axum::routing::get(by_id))
            .fallback(|| async { registry_error(404, 404, "HTTP 404 Not Found") })
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }
}

/// The python of the venv `infra/dev/python.sh` makes (once) for the Python example.
async fn python() -> anyhow::Result<String> {
    static PYTHON: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    PYTHON
        .get_or_try_init(|| async {
            let root = sagaflow_test_support::workspace_root();
            let output = tokio::process::Command::new("bash")
                .arg(root.join("infra/dev/python.sh"))
                .arg("kafka")
                .arg(root.join("examples/python-producer/requirements.txt"))
                .output()
                .await
                .map_err(|e| anyhow::anyhow!("running infra/dev/python.sh (needs bash): {e}"))?;
            anyhow::ensure!(
                output.status.success(),
                "infra/dev/python.sh could not provide Python with confluent-kafka: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            Ok(String::from_utf8(output.stdout)?.trim().to_owned())
        })
        .await
        .cloned()
}

/// A consumer of `topic` whose handler decodes; `registry` is its
/// `SCHEMA_REGISTRY_URL`.
fn consume(
    broker: &Broker,
    db: &TestDb,
    topic: &str,
    registry: Option<String>,
) -> (
    Seen,
    CancellationToken,
    JoinHandle<Result<(), sagaflow_bus::Error>>,
) {
    let handler = Decoding::default();
    let seen = handler.seen.clone();
    let kafka = KafkaConfig {
        schema_registry_url: registry,
        // Outages (a failing registry) are retried from 20 ms on.
        inbox_unavailable_backoff_ms: 20,
        ..KafkaConfig::new(broker.bootstrap())
    };
    let shutdown = CancellationToken::new();
    let consumer = InboxConsumer::new(
        &format!("registry-ids-{}", Uuid::new_v4()),
        &[topic],
        db.pool.clone(),
        kafka,
        handler,
    );
    (seen, shutdown.clone(), tokio::spawn(consumer.run(shutdown)))
}

/// A broker, a database with the inbox tables, and a topic with its dead-letter
/// topic (one partition).
async fn setup(label: &str) -> anyhow::Result<(Broker, TestDb, String, String)> {
    let broker = Broker::mock()?;
    let db = TestDb::create(label).await?;
    sagaflow_bus::migrate::run(&db.pool, None).await?;
    let topic = unique_topic(label);
    let dlq = sagaflow_events::topics::dead_letter(&topic);
    broker.create_topics(&[&topic, &dlq], 1).await?;
    Ok((broker, db, topic, dlq))
}

/// A `ReleaseInventory` for `topic` framed with schema id `id` instead of the
/// built-in one (the datum is the same: the registry holds the same schema).
fn framed_with(topic: &str, saga: Uuid, id: u32) -> Outgoing {
    let mut out = message(topic, saga);
    let (_, datum) = codec::unframe(&out.payload).expect("framed");
    out.payload = codec::frame(id, datum);
    out
}

fn release_inventory_schema() -> String {
    let builtin = sagaflow_events::registry::builtin();
    builtin
        .current("ReleaseInventory")
        .expect("built in")
        .source
        .clone()
}

/// The `dlq-reason` of the one dead letter of `dlq`.
fn dead_letter_reason(broker: &Broker, dlq: &str) -> anyhow::Result<String> {
    let mut reader = TopicReader::new(&broker.bootstrap(), dlq)?;
    let dead = reader.read_at_least(1, WAIT).to_vec();
    anyhow::ensure!(dead.len() == 1, "{} dead letters", dead.len());
    Ok(header(&dead[0], "dlq-reason").unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_avro_serializer_with_a_registry_id_is_decoded_and_handled()
-> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let python = python().await?;
    let (broker, db, topic, dlq) = setup("thirdparty").await?;
    let registry = FakeRegistry::new(100_001);
    let url = registry.start().await?;
    let (seen, shutdown, task) = consume(&broker, &db, &topic, Some(url.clone()));

    let script = sagaflow_test_support::workspace_root()
        .join("events/bus/tests/python/produce_registered.py");
    let output = tokio::process::Command::new(&python)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(script)
        .args([&broker.bootstrap(), &url, &topic, TENANT, "3"])
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "the Python producer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sent: Vec<Value> = String::from_utf8(output.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(sent.len(), 3, "{sent:?}");
    let id = sent[0]["schema_id"].as_u64().expect("schema id") as u32;
    assert_eq!(
        id, 100_001,
        "the id the registry assigned frames the message"
    );
    assert!(sent.iter().all(|s| s["schema_id"] == id));
    assert!(
        sagaflow_events::registry::builtin().by_id(id).is_none(),
        "not a built-in id"
    );

    eventually("the three messages handled", WAIT, || async {
        Ok(seen.lock().expect("not poisoned").len() >= 3)
    })
    .await?;
    let decoded: BTreeSet<(Uuid, String, Uuid, String)> =
        seen.lock().expect("not poisoned").iter().cloned().collect();
    let expected: BTreeSet<(Uuid, String, Uuid, String)> = sent
        .iter()
        .map(|s| -> anyhow::Result<_> {
            Ok((
                s["message_id"].as_str().unwrap_or_default().parse()?,
                TENANT.to_owned(),
                s["saga_id"].as_str().unwrap_or_default().parse()?,
                s["reason"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(decoded, expected);
    assert!(
        expected
            .iter()
            .all(|(_, _, _, r)| r.ends_with("\u{e9}\u{e8}")),
        "{expected:?}"
    );
    assert_eq!(registry.lookups(id), 1, "fetched once, then cached");
    let learned = sagaflow_events::registry::writer(id).expect("learned");
    assert_eq!(learned.message_type, "ReleaseInventory");

    let mut reader = TopicReader::new(&broker.bootstrap(), &dlq)?;
    assert!(reader.read_for(Duration::from_secs(1)).is_empty());
    shutdown.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_id_without_a_registry_is_dead_lettered_with_the_reason() -> anyhow::Result<()> {
    let (broker, db, topic, dlq) = setup("noregistry").await?;
    let (seen, shutdown, task) = consume(&broker, &db, &topic, None);
    let producer = producer(&broker.bootstrap())?;
    produce_to(
        &producer,
        &framed_with(&topic, Uuid::now_v7(), 200_001),
        0,
        unchanged,
    )
    .await?;
    let after = Uuid::now_v7();
    produce_to(&producer, &message(&topic, after), 0, unchanged).await?;

    let reason = dead_letter_reason(&broker, &dlq)?;
    assert!(reason.contains("unknown schema id 200001"), "{reason}");
    eventually("the next message handled", WAIT, || async {
        Ok(seen.lock().expect("not poisoned").len() == 1)
    })
    .await?;
    assert_eq!(seen.lock().expect("not poisoned")[0].2, after);
    shutdown.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_the_registry_does_not_have_is_dead_lettered_with_its_reason() -> anyhow::Result<()> {
    let (broker, db, topic, dlq) = setup("notfound").await?;
    let registry = FakeRegistry::new(300_100);
    let url = registry.start().await?;
    let (seen, shutdown, task) = consume(&broker, &db, &topic, Some(url));
    let producer = producer(&broker.bootstrap())?;
    produce_to(
        &producer,
        &framed_with(&topic, Uuid::now_v7(), 300_001),
        0,
        unchanged,
    )
    .await?;

    let reason = dead_letter_reason(&broker, &dlq)?;
    assert!(
        reason.contains("40403") && reason.contains("Schema 300001 not found"),
        "{reason}"
    );
    assert!(seen.lock().expect("not poisoned").is_empty());
    assert_eq!(registry.lookups(300_001), 1, "a 404 is not retried");
    shutdown.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_registry_holds_the_message_until_it_answers() -> anyhow::Result<()> {
    let (broker, db, topic, dlq) = setup("failing").await?;
    let registry = FakeRegistry::new(400_100);
    registry.put(400_001, &release_inventory_schema());
    registry.state().failing = true;
    let url = registry.start().await?;
    let (seen, shutdown, task) = consume(&broker, &db, &topic, Some(url));
    let producer = producer(&broker.bootstrap())?;
    let saga = Uuid::now_v7();
    produce_to(&producer, &framed_with(&topic, saga, 400_001), 0, unchanged).await?;

    // More look-ups than the bounded retries of a transient failure allow: the
    // message is waited on, not given up.
    eventually("the registry asked several times", WAIT, || async {
        Ok(registry.lookups(400_001) >= 8)
    })
    .await?;
    assert!(seen.lock().expect("not poisoned").is_empty());
    let mut reader = TopicReader::new(&broker.bootstrap(), &dlq)?;
    assert!(
        reader.read_for(Duration::from_secs(1)).is_empty(),
        "nothing dead-lettered"
    );

    registry.state().failing = false;
    eventually(
        "the message handled once the registry answers",
        WAIT,
        || async { Ok(seen.lock().expect("not poisoned").len() == 1) },
    )
    .await?;
    assert_eq!(seen.lock().expect("not poisoned")[0].2, saga);
    assert!(reader.read_for(Duration::from_millis(500)).is_empty());
    shutdown.cancel();
    task.await??;
    Ok(())
}
