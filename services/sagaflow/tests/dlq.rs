//! `sagaflow dlq`: dead letters made by a real inbox consumer (the inventory
//! service) are listed, filtered, shown, replayed once through the consumer's
//! inbox, and purged; on the mock cluster through the library, and on the local
//! broker through the `sagaflow` binary. And `sagaflow events tail`, the other
//! operator command that reads topics: messages printed decoded, poison included.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use sagaflow::platform::{self, Service};
use sagaflow_bus::dead_letter::{self, RawRecord};
use sagaflow_bus::dlq::{self, DeadLetter, Filter, REPLAYED_FROM, REPLAYS_TOPIC, Replayer};
use sagaflow_bus::{KafkaConfig, Outgoing};
use sagaflow_events::Envelope;
use sagaflow_events::messages::{ReserveInventory, StockItem};
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TestDb, TopicReader, eventually};
use serde_json::Value;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(15);
const INVENTORY_DLQ: &str = "inventory.commands.dlq";

/// The inventory service's database, migrated, with 10 MUGs.
async fn inventory_db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("inventory").await?;
    platform::migrate(Service::Inventory, &db.pool).await?;
    sagaflow_inventory::set_stock(&db.pool, "MUG", 10).await?;
    Ok(db)
}

/// The inventory service (relay + inbox consumer) until the token is cancelled.
fn run_inventory(
    pool: &PgPool,
    kafka: &KafkaConfig,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(sagaflow_inventory::run(
        pool.clone(),
        kafka.clone(),
        Default::default(),
        shutdown.clone(),
    ));
    (shutdown, task)
}

/// Produces a record with a platform envelope of `message_type` straight to
/// `inventory.commands`; returns its message id.
async fn produce_command(
    kafka: &KafkaConfig,
    message_type: &str,
    key: &str,
    payload: &[u8],
) -> anyhow::Result<String> {
    let producer: FutureProducer = kafka.producer().create()?;
    let envelope = Envelope::new(message_type, TENANT);
    let mut headers = OwnedHeaders::new();
    for (name, value) in envelope.to_headers() {
        headers = headers.insert(Header {
            key: name,
            value: Some(value.as_bytes()),
        });
    }
    producer
        .send(
            FutureRecord::to(sagaflow_events::topics::INVENTORY_COMMANDS)
                .key(key)
                .payload(payload)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(err, _)| err)?;
    Ok(envelope.message_id.to_string())
}

/// A valid `ReserveInventory` of one MUG for a new saga, dead-lettered the way the
/// inventory consumer does when its handler kept failing (say the database was down).
async fn dead_letter_valid_reserve(kafka: &KafkaConfig) -> anyhow::Result<(Outgoing, Uuid)> {
    let saga = Uuid::now_v7();
    let command = ReserveInventory {
        saga_id: saga,
        items: vec![StockItem {
            sku: "MUG".into(),
            quantity: 1,
        }],
    };
    let out = Outgoing::new(TENANT, Some(saga), saga.to_string(), &command)?;
    let headers = out
        .envelope
        .to_headers()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Some(value.into_bytes())))
        .collect();
    let producer: FutureProducer = kafka.producer().create()?;
    let record = RawRecord {
        topic: &out.topic,
        partition: 2,
        offset: 41,
        key: Some(out.key.as_bytes()),
        payload: Some(&out.payload),
        headers,
    };
    dead_letter::publish(
        &producer,
        sagaflow_inventory::NAME,
        &record,
        "still failing after 5 attempts: database unavailable",
    )
    .await?;
    Ok((out, saga))
}

/// Dead letters of `inventory.commands` (every one, purged too).
async fn inventory_letters(kafka: &KafkaConfig) -> anyhow::Result<Vec<DeadLetter>> {
    let filter = Filter {
        topics: vec!["inventory.commands".into()],
        include_acknowledged: true,
        ..Filter::default()
    };
    Ok(dlq::list(kafka, &filter, TIMEOUT).await?)
}

/// Waits until `group` has committed every record of `topic`: the consumer has
/// dealt with everything produced so far (a skipped duplicate leaves no other trace).
async fn wait_consumed(kafka: &KafkaConfig, group: &str, topic: &str) -> anyhow::Result<()> {
    let consumer: BaseConsumer = kafka
        .consumer(group)
        .set("enable.auto.commit", "false")
        .create()?;
    let partitions = consumer
        .fetch_metadata(Some(topic), TIMEOUT)?
        .topics()
        .first()
        .map(|t| t.partitions().len() as i32)
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut list = TopicPartitionList::new();
        let mut behind = false;
        for partition in 0..partitions {
            list.add_partition(topic, partition);
        }
        let committed = consumer.committed_offsets(list, TIMEOUT)?;
        for partition in 0..partitions {
            let (_, high) = consumer.fetch_watermarks(topic, partition, TIMEOUT)?;
            let at = committed
                .find_partition(topic, partition)
                .map(|e| match e.offset() {
                    Offset::Offset(at) => at,
                    _ => 0,
                })
                .unwrap_or(0);
            behind |= at < high;
        }
        if !behind {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{group} did not consume {topic}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn inbox_rows(pool: &PgPool, message_id: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM sagaflow_inbox WHERE consumer = $1 AND message_id = $2::uuid",
    )
    .bind(sagaflow_inventory::NAME)
    .bind(message_id)
    .fetch_one(pool)
    .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_from_the_inventory_consumer_is_listed_filtered_shown_and_purged()
-> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let broker = Broker::mock()?;
    create_platform_topics(&broker).await?;
    let kafka = KafkaConfig::new(broker.bootstrap());
    let inventory = inventory_db().await?;

    // Two poison messages on one key (so one partition, in order): a payload that
    // is not Avro, and a message type inventory does not handle.
    let garbage = b"\x00\x00\x00\x00\x07not avro at all".to_vec();
    let garbled = produce_command(&kafka, "ReserveInventory", "k1", &garbage).await?;
    let unknown = produce_command(&kafka, "PaintTheShed", "k1", b"{}").await?;
    let (shutdown, service) = run_inventory(&inventory.pool, &kafka);

    let deadline = Instant::now() + Duration::from_secs(30);
    let letters = loop {
        let letters = inventory_letters(&kafka).await?;
        if letters.len() >= 2 || Instant::now() > deadline {
            break letters;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(letters.len(), 2, "both dead-lettered: {letters:?}");
    let (first, second) = (&letters[0], &letters[1]);
    assert_eq!(first.message_id().as_deref(), Some(garbled.as_str()));
    assert_eq!(second.message_id().as_deref(), Some(unknown.as_str()));
    assert!(
        first.reason().is_some_and(|r| r.starts_with("contract:")),
        "{:?}",
        first.reason()
    );
    assert_eq!(
        second.reason().as_deref(),
        Some("inventory does not handle PaintTheShed")
    );
    for letter in [first, second] {
        assert_eq!(letter.id.topic, INVENTORY_DLQ);
        assert_eq!(
            letter.original_topic().as_deref(),
            Some("inventory.commands")
        );
        assert_eq!(letter.consumer().as_deref(), Some("inventory"));
        assert!(letter.timestamp.is_some());
        assert!(!letter.acknowledged && !letter.replayed);
    }
    assert_eq!(first.id.partition, second.id.partition);
    assert!(first.id.offset < second.id.offset);

    // Filters.
    let count = |filter: Filter| {
        let kafka = kafka.clone();
        async move { anyhow::Ok(dlq::list(&kafka, &filter, TIMEOUT).await?.len()) }
    };
    assert_eq!(count(Filter::default()).await?, 2, "every dlq topic");
    let by_type = Filter {
        message_type: Some("PaintTheShed".into()),
        ..Filter::default()
    };
    assert_eq!(count(by_type).await?, 1);
    let by_reason = Filter {
        reason: Some("DOES NOT HANDLE".into()),
        ..Filter::default()
    };
    assert_eq!(count(by_reason).await?, 1);
    let other_topic = Filter {
        topics: vec!["payment.commands".into()],
        ..Filter::default()
    };
    assert_eq!(count(other_topic).await?, 0);
    let future = Filter {
        since: Some(from_now(60)),
        ..Filter::default()
    };
    assert_eq!(count(future).await?, 0);
    let past = Filter {
        until: Some(dlq::seconds_ago(3600)),
        ..Filter::default()
    };
    assert_eq!(count(past).await?, 0);
    let recent = Filter {
        since: Some(dlq::seconds_ago(3600)),
        until: Some(from_now(60)),
        limit: Some(1),
        ..Filter::default()
    };
    assert_eq!(count(recent).await?, 1);

    // Show: the payload as it was, and why it does not decode.
    let shown = dlq::show(&kafka, &first.id, TIMEOUT).await?.detail_json();
    assert_eq!(shown["payload_hex"], dlq::record::hex(&garbage));
    assert_eq!(shown["key"], "k1");
    assert!(shown["decoded"]["error"].is_string(), "{shown}");
    assert!(
        shown["headers"]
            .as_array()
            .is_some_and(|h| h.iter().any(|h| h["name"] == "dlq-original-offset")),
        "{shown}"
    );
    let missing = format!("{INVENTORY_DLQ}/{}/999", first.id.partition).parse()?;
    let err = dlq::show(&kafka, &missing, TIMEOUT)
        .await
        .expect_err("no such offset");
    assert!(matches!(err, dlq::Error::NotFound(_)), "{err}");

    // Purge: the second alone would hide the first too, so it is refused.
    let err = dlq::acknowledge(&kafka, std::slice::from_ref(&second.id), false, TIMEOUT)
        .await
        .expect_err("the first is not purged");
    assert!(
        err.to_string().contains(&first.id.to_string()),
        "names the earlier record: {err}"
    );
    let done = dlq::acknowledge(&kafka, std::slice::from_ref(&first.id), false, TIMEOUT).await?;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].to, first.id.offset + 1);
    let open = dlq::list(&kafka, &Filter::default(), TIMEOUT).await?;
    assert_eq!(open.len(), 1, "the purged one is hidden");
    assert_eq!(open[0].id, second.id);
    let all = inventory_letters(&kafka).await?;
    assert_eq!(
        all.iter().map(|l| l.acknowledged).collect::<Vec<_>>(),
        [true, false],
        "--all shows it, marked"
    );
    // Purging by time takes the rest; nothing is purged twice.
    let done = dlq::acknowledge_before(&kafka, &[], from_now(1), TIMEOUT).await?;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(
        (done[0].from, done[0].to),
        (second.id.offset, second.id.offset + 1)
    );
    assert!(
        dlq::list(&kafka, &Filter::default(), TIMEOUT)
            .await?
            .is_empty()
    );
    assert!(
        dlq::acknowledge_before(&kafka, &[], from_now(1), TIMEOUT)
            .await?
            .is_empty()
    );

    // Nothing else was taken from stock.
    assert_eq!(
        sagaflow_inventory::stock(&inventory.pool, "MUG").await?,
        Some(10)
    );
    shutdown.cancel();
    service.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_dead_letter_is_handled_once_by_the_inventory_service() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let broker = Broker::mock()?;
    create_platform_topics(&broker).await?;
    // The mock cluster has no CreateTopics: the marker topic is made here.
    broker.create_topics(&[REPLAYS_TOPIC], 1).await?;
    let kafka = KafkaConfig::new(broker.bootstrap());
    let inventory = inventory_db().await?;
    let (out, saga) = dead_letter_valid_reserve(&kafka).await?;
    let message_id = out.envelope.message_id.to_string();
    let (shutdown, service) = run_inventory(&inventory.pool, &kafka);

    let letters = inventory_letters(&kafka).await?;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.message_id().as_deref(), Some(message_id.as_str()));
    let shown = dlq::show(&kafka, &letter.id, TIMEOUT).await?.detail_json();
    assert_eq!(shown["decoded"]["message_type"], "ReserveInventory");
    assert_eq!(shown["decoded"]["body"]["saga_id"], saga.to_string());

    let replayer = Replayer::new(&kafka, TIMEOUT).await?;
    let replayed = replayer.replay(letter, false).await?;
    assert_eq!(replayed.topic, "inventory.commands");
    assert_eq!(replayed.message_id.as_deref(), Some(message_id.as_str()));
    eventually(
        "the replay to be handled",
        Duration::from_secs(30),
        || async { Ok(sagaflow_inventory::stock(&inventory.pool, "MUG").await? == Some(9)) },
    )
    .await?;
    assert_eq!(inbox_rows(&inventory.pool, &message_id).await?, 1);

    // Recorded: listed as replayed, and refused again unless forced.
    let letter = inventory_letters(&kafka).await?.remove(0);
    assert!(letter.replayed);
    let err = replayer.replay(&letter, false).await.expect_err("refused");
    assert!(matches!(err, dlq::Error::AlreadyReplayed(_)), "{err}");
    // Forced, it reaches the consumer again, whose inbox skips it.
    replayer.replay(&letter, true).await?;
    wait_consumed(&kafka, sagaflow_inventory::NAME, "inventory.commands").await?;
    assert_eq!(
        sagaflow_inventory::stock(&inventory.pool, "MUG").await?,
        Some(9)
    );
    assert_eq!(inbox_rows(&inventory.pool, &message_id).await?, 1);

    // Both copies on the command topic: same key, payload and message id, and the
    // header naming the dead letter.
    let mut commands = TopicReader::new(&broker.bootstrap(), "inventory.commands")?;
    let copies = commands.read_at_least(2, Duration::from_secs(10)).to_vec();
    assert_eq!(copies.len(), 2);
    for copy in &copies {
        use rdkafka::Message;
        assert_eq!(
            header(copy, "message-id").as_deref(),
            Some(message_id.as_str())
        );
        assert_eq!(header(copy, REPLAYED_FROM), Some(letter.id.to_string()));
        assert_eq!(header(copy, "dlq-reason"), None, "dlq headers are dropped");
        assert_eq!(copy.key(), Some(out.key.as_bytes()));
        assert_eq!(copy.payload(), Some(out.payload.as_slice()));
    }
    // One reply for the saga, not two.
    let mut replies = TopicReader::new(&broker.bootstrap(), "inventory.events")?;
    replies.read_for(Duration::from_secs(2));
    let answered = replies
        .seen()
        .iter()
        .filter(|m| header(m, "causation-id").as_deref() == Some(message_id.as_str()))
        .count();
    assert_eq!(answered, 1);
    shutdown.cancel();
    service.await??;
    Ok(())
}

#[tokio::test]
async fn an_unreachable_broker_fails_within_the_timeout() {
    let kafka = KafkaConfig::new("127.0.0.1:1");
    let started = Instant::now();
    let err = dlq::list(&kafka, &Filter::default(), Duration::from_secs(2))
        .await
        .expect_err("nothing listens there");
    assert!(matches!(err, dlq::Error::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// `sagaflow dlq ...` with the broker's address; returns (success, stdout, stderr).
fn cli(bootstrap: &str, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
    let output = Command::new(env!("CARGO_BIN_EXE_sagaflow"))
        .arg("dlq")
        .args(args)
        .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
        .env("RUST_LOG", "warn")
        .output()?;
    Ok((
        output.status.success(),
        String::from_utf8(output.stdout)?,
        String::from_utf8(output.stderr)?,
    ))
}

fn json_lines(stdout: &str) -> anyhow::Result<Vec<Value>> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).with_context(|| format!("not JSON: {line}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_shows_replays_and_purges_on_nisshi() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let broker = Broker::local().context("starting the local broker")?;
    create_platform_topics(&broker)
        .await
        .context("creating topics on the local broker")?;
    let bootstrap = broker.bootstrap();
    let kafka = KafkaConfig::new(&bootstrap);
    let (out, saga) = dead_letter_valid_reserve(&kafka)
        .await
        .context("dead-lettering on the local broker")?;
    let message_id = out.envelope.message_id.to_string();

    let (ok, stdout, stderr) = cli(&bootstrap, &["list", "--json"])?;
    assert!(ok, "{stderr}");
    let listed = json_lines(&stdout)?;
    assert_eq!(listed.len(), 1, "{stdout}");
    let id = listed[0]["id"].as_str().unwrap_or_default().to_owned();
    assert!(id.starts_with("inventory.commands.dlq/"), "{id}");
    assert_eq!(listed[0]["message_id"], message_id.as_str());
    assert_eq!(
        listed[0]["reason"],
        "still failing after 5 attempts: database unavailable"
    );

    let (ok, stdout, stderr) = cli(&bootstrap, &["list", "--topic", "inventory.commands"])?;
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("ID"), "a table: {stdout}");
    assert!(
        stdout.contains(&id) && stdout.contains("ReserveInventory"),
        "{stdout}"
    );

    let (ok, stdout, stderr) = cli(&bootstrap, &["show", &id, "--json"])?;
    assert!(ok, "{stderr}");
    let shown: Value = serde_json::from_str(stdout.trim())?;
    assert_eq!(shown["decoded"]["body"]["saga_id"], saga.to_string());

    // The marker topic does not exist yet: replay creates it on this broker.
    let (ok, stdout, stderr) = cli(&bootstrap, &["replay", &id, "--dry-run"])?;
    assert!(ok && stdout.contains("would replay"), "{stdout}{stderr}");
    let (ok, stdout, stderr) = cli(&bootstrap, &["replay", &id, "--json"])?;
    assert!(ok, "{stderr}");
    let replayed = json_lines(&stdout)?;
    assert_eq!(replayed[0]["action"], "replayed", "{stdout}");
    assert_eq!(replayed[0]["topic"], "inventory.commands");
    let mut commands =
        TopicReader::new(&bootstrap, "inventory.commands").context("reading the commands")?;
    let copy = commands
        .wait_for(Duration::from_secs(20), |m| {
            header(m, "message-id").as_deref() == Some(message_id.as_str())
        })
        .expect("the replayed record");
    assert_eq!(header(&copy, REPLAYED_FROM).as_deref(), Some(id.as_str()));

    let (ok, _, stderr) = cli(&bootstrap, &["replay", &id])?;
    assert!(!ok && stderr.contains("already replayed"), "{stderr}");

    let (ok, _, stderr) = cli(&bootstrap, &["purge", &id])?;
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = cli(&bootstrap, &["list", "--json"])?;
    assert!(ok, "{stderr}");
    assert!(stdout.trim().is_empty(), "purged: {stdout}");
    let (ok, stdout, stderr) = cli(&bootstrap, &["list", "--all", "--json"])?;
    assert!(ok, "{stderr}");
    let all = json_lines(&stdout)?;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["acknowledged"], true);
    assert_eq!(all[0]["replayed"], true);

    // Mistakes a person can fix.
    let (ok, _, stderr) = cli(&bootstrap, &["show", "inventory.commands/0/1"])?;
    assert!(
        !ok && stderr.contains("not a dead-letter topic"),
        "{stderr}"
    );
    let (ok, _, stderr) = cli(&bootstrap, &["show", "inventory.commands.dlq/zero/1"])?;
    assert!(!ok && stderr.contains("not a dead-letter id"), "{stderr}");
    let (ok, _, stderr) = cli(&bootstrap, &["list", "--topic", "inventroy.commands"])?;
    assert!(!ok && stderr.contains("unknown topic"), "{stderr}");
    Ok(())
}

/// `seconds` from now.
fn from_now(seconds: u64) -> dlq::Timestamp {
    dlq::Timestamp::from(std::time::SystemTime::now() + Duration::from_secs(seconds))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tail_prints_a_topics_messages_decoded() -> anyhow::Result<()> {
    let broker = Broker::mock()?;
    create_platform_topics(&broker).await?;
    let kafka = KafkaConfig::new(broker.bootstrap());
    let saga = Uuid::now_v7();
    let command = ReserveInventory {
        saga_id: saga,
        items: vec![StockItem {
            sku: "MUG".into(),
            quantity: 3,
        }],
    };
    let out = Outgoing::new(TENANT, Some(saga), saga.to_string(), &command)?;
    let poison = b"not a frame".to_vec();
    produce_command(&kafka, "ReserveInventory", &out.key, &out.payload).await?;
    produce_command(&kafka, "ReserveInventory", "poison", &poison).await?;
    let tail = |output: &'static str| {
        let bootstrap = broker.bootstrap();
        async move {
            let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_sagaflow"))
                .args([
                    "events",
                    "tail",
                    sagaflow_events::topics::INVENTORY_COMMANDS,
                ])
                .args(["--from-beginning", "--limit", "2", "--idle-secs", "20"])
                .args(["--output", output])
                .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
                .env("RUST_LOG", "warn")
                .output()
                .await?;
            anyhow::ensure!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            anyhow::Ok(String::from_utf8(output.stdout)?)
        }
    };
    let lines = json_lines(&tail("json").await?)?;
    assert_eq!(lines.len(), 2, "{lines:?}");
    let decoded = lines
        .iter()
        .find(|l| l["key"] == saga.to_string())
        .context("the command")?;
    assert_eq!(decoded["decoded"]["message_type"], "ReserveInventory");
    assert_eq!(decoded["decoded"]["body"]["items"][0]["quantity"], 3);
    assert_eq!(decoded["headers"]["tenant-id"], TENANT);
    assert_eq!(decoded["headers"]["message-type"], "ReserveInventory");
    let undecodable = lines
        .iter()
        .find(|l| l["key"] == "poison")
        .context("the poison")?;
    assert!(undecodable["decoded"]["error"].is_string(), "{undecodable}");
    let table = tail("table").await?;
    assert!(
        table.contains(&format!("ReserveInventory key={saga} saga=")),
        "{table}"
    );
    assert!(table.contains("undecodable"), "{table}");
    Ok(())
}

/// A schema registry speaking the Confluent REST API as documented (subjects,
/// versions, global ids, BACKWARD compatibility, error codes), in memory.
#[derive(Clone, Default)]
struct FakeRegistry {
    state: std::sync::Arc<std::sync::Mutex<RegistryState>>,
}

#[derive(Default)]
struct RegistryState {
    /// subject -> schema ids, oldest first.
    subjects: std::collections::BTreeMap<String, Vec<i64>>,
    /// id -> (canonical form, the schema as registered).
    schemas: Vec<(String, String)>,
    /// Answer 500 / 50001 to everything.
    broken: bool,
}

fn registry_error(status: u16, code: i64, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::from_u16(status).expect("status"),
        [("content-type", sagaflow::schema_registry::CONTENT_TYPE)],
        serde_json::json!({ "error_code": code, "message": message }).to_string(),
    )
        .into_response()
}

impl FakeRegistry {
    async fn start(&self) -> anyhow::Result<String> {
        use axum::extract::{Path, State};
        use axum::response::IntoResponse;
        async fn register(
            State(fake): State<FakeRegistry>,
            Path(subject): Path<String>,
            body: String,
        ) -> axum::response::Response {
            let mut state = fake.state.lock().expect("not poisoned");
            if state.broken {
                return registry_error(500, 50001, "Error in the backend data store");
            }
            let request: Value = serde_json::from_str(&body).unwrap_or_default();
            let Ok(schema) =
                apache_avro::Schema::parse_str(request["schema"].as_str().unwrap_or(""))
            else {
                return registry_error(422, 42201, "Invalid schema");
            };
            let text = schema.canonical_form();
            let source = request["schema"].as_str().unwrap_or_default().to_owned();
            // A schema the subject already has: its id, no compatibility check.
            if let Some(at) = state.schemas.iter().position(|(c, _)| *c == text)
                && state
                    .subjects
                    .get(&subject)
                    .is_some_and(|ids| ids.contains(&(at as i64 + 1)))
            {
                return axum::Json(serde_json::json!({ "id": at as i64 + 1 })).into_response();
            }
            if let Some(&latest) = state.subjects.get(&subject).and_then(|ids| ids.last()) {
                let (canonical, stored) = &state.schemas[latest as usize - 1];
                let old = apache_avro::Schema::parse_str(stored).expect("stored");
                if *canonical != text
                    && apache_avro::schema_compatibility::SchemaCompatibility::can_read(
                        &old, &schema,
                    )
                    .is_err()
                {
                    return registry_error(
                        409,
                        409,
                        "Schema being registered is incompatible with an earlier schema",
                    );
                }
            }
            let id = match state.schemas.iter().position(|(c, _)| *c == text) {
                Some(at) => at as i64 + 1,
                None => {
                    state.schemas.push((text, source));
                    state.schemas.len() as i64
                }
            };
            let versions = state.subjects.entry(subject).or_default();
            if !versions.contains(&id) {
                versions.push(id);
            }
            axum::Json(serde_json::json!({ "id": id })).into_response()
        }
        async fn compatibility(
            State(fake): State<FakeRegistry>,
            Path(subject): Path<String>,
            body: String,
        ) -> axum::response::Response {
            let state = fake.state.lock().expect("not poisoned");
            let Some(&latest) = state.subjects.get(&subject).and_then(|ids| ids.last()) else {
                return registry_error(404, 40401, "Subject not found.");
            };
            let request: Value = serde_json::from_str(&body).unwrap_or_default();
            let Ok(schema) =
                apache_avro::Schema::parse_str(request["schema"].as_str().unwrap_or(""))
            else {
                return registry_error(422, 42201, "Invalid schema");
            };
            let old = apache_avro::Schema::parse_str(&state.schemas[latest as usize - 1].1)
                .expect("stored");
            let ok =
                apache_avro::schema_compatibility::SchemaCompatibility::can_read(&old, &schema)
                    .is_ok();
            axum::Json(serde_json::json!({ "is_compatible": ok })).into_response()
        }
        let app = axum::Router::new()
            .route(
                "/subjects/{subject}/versions",
                axum::routing::post(register),
            )
            .route(
                "/compatibility/subjects/{subject}/versions/latest",
                axum::routing::post(compatibility),
            )
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }
}

async fn schemas_cli(url: &str, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_sagaflow"))
        .arg("schemas")
        .args(args)
        .args(["--registry-url", url, "--output", "json"])
        .env("RUST_LOG", "warn")
        .output()
        .await?;
    Ok((
        output.status.success(),
        String::from_utf8(output.stdout)?,
        String::from_utf8(output.stderr)?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_register_and_check_against_a_schema_registry() -> anyhow::Result<()> {
    let fake = FakeRegistry::default();
    let url = fake.start().await?;
    let (ok, stdout, stderr) = schemas_cli(&url, &["register"]).await?;
    assert!(ok, "{stderr}");
    let registered = json_lines(&stdout)?;
    assert_eq!(
        registered.len(),
        sagaflow_events::registry::builtin().entries().len()
    );
    let checkout: Vec<&Value> = registered
        .iter()
        .filter(|l| {
            l["subject"] == "orchestrator.commands-io.sagaflow.orchestrator.InitiateCheckout"
        })
        .collect();
    assert_eq!(checkout.len(), 2, "both versions, in order: {checkout:?}");
    assert_eq!(
        (
            checkout[0]["version"].clone(),
            checkout[1]["version"].clone()
        ),
        (1.into(), 2.into())
    );
    assert_ne!(checkout[0]["registry_id"], checkout[1]["registry_id"]);
    // Registering again changes nothing: the same ids.
    let (ok, again, _) = schemas_cli(&url, &["register"]).await?;
    assert!(ok);
    assert_eq!(json_lines(&again)?, registered);
    let (ok, stdout, stderr) = schemas_cli(&url, &["check"]).await?;
    assert!(ok, "{stderr}");
    assert!(json_lines(&stdout)?.iter().all(|l| l["compatible"] == true));

    // Someone registered a SendNotification without `subject`: ours cannot read it.
    let other = FakeRegistry::default();
    let other_url = other.start().await?;
    let theirs = r#"{"type":"record","name":"SendNotification","namespace":"io.sagaflow.notification","fields":[{"name":"notification_id","type":"string"}]}"#;
    let subject = "notifications-io.sagaflow.notification.SendNotification";
    let registry = sagaflow::schema_registry::Client::new(&other_url)?;
    registry.register(subject, theirs).await?;
    let (ok, stdout, stderr) = schemas_cli(&other_url, &["check"]).await?;
    assert!(!ok, "{stdout}");
    assert!(stderr.contains(subject), "{stderr}");
    let lines = json_lines(&stdout)?;
    let verdict = lines
        .iter()
        .find(|l| l["subject"] == subject)
        .context("checked")?;
    assert_eq!(verdict["compatible"], false);
    // A registry that fails says so, with its error code.
    other.state.lock().map(|mut s| s.broken = true).ok();
    let (ok, _, stderr) = schemas_cli(&other_url, &["register"]).await?;
    assert!(!ok);
    assert!(stderr.contains("50001"), "{stderr}");
    let invalid = registry.register("x-io.sagaflow.X", "{not avro").await;
    assert!(invalid.is_err());
    Ok(())
}
