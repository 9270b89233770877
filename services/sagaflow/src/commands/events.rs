//! `sagaflow events tail <topic>`: prints a topic's messages decoded (schema id →
//! message type → JSON), with their envelope headers, without joining a consumer
//! group or committing anything. It reads every partition from the end (new
//! messages only), the beginning (`--from-beginning`) or the last `--last` of each,
//! and stops after `--limit` messages or `--idle-secs` without one. `--output json`
//! prints one JSON object per line; a payload that does not decode is shown with
//! its error, never skipped.

use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};
use sagaflow_bus::KafkaConfig;
use serde_json::{Value, json};

use super::Output;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Print a topic's messages, decoded.
    Tail(TailArgs),
}

#[derive(clap::Args, Debug)]
pub struct TailArgs {
    /// The topic, e.g. `orchestrator.events` (see `sagaflow topics list`).
    pub topic: String,
    /// Start at the beginning of every partition (default: only new messages).
    #[arg(long, conflicts_with = "last")]
    pub from_beginning: bool,
    /// Start this many messages before the end of every partition.
    #[arg(long, value_name = "N")]
    pub last: Option<i64>,
    /// Stop after this many messages.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Stop after this many seconds without a message (0: never).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub idle_secs: u64,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(flatten)]
    pub kafka: KafkaConfig,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let Sub::Tail(tail) = args.command;
    tokio::task::spawn_blocking(move || tail_blocking(&tail))
        .await
        .context("the tail thread")?
}

fn tail_blocking(args: &TailArgs) -> anyhow::Result<()> {
    let consumer: BaseConsumer = args
        .kafka
        .consumer(&format!("sagaflow-tail-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .context("creating the consumer")?;
    let metadata = consumer
        .fetch_metadata(Some(&args.topic), Duration::from_secs(10))
        .with_context(|| format!("reading the metadata of {}", args.topic))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == args.topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    anyhow::ensure!(
        !partitions.is_empty(),
        "no topic `{}` (see `sagaflow topics list`)",
        args.topic
    );
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let offset = match (args.from_beginning, args.last) {
            (true, _) => Offset::Beginning,
            (false, Some(last)) => {
                let (low, high) = consumer
                    .fetch_watermarks(&args.topic, partition, Duration::from_secs(10))
                    .context("reading the watermarks")?;
                Offset::Offset((high - last.max(0)).max(low))
            }
            (false, None) => Offset::End,
        };
        assignment.add_partition_offset(&args.topic, partition, offset)?;
    }
    consumer
        .assign(&assignment)
        .context("assigning the partitions")?;
    let mut printed = 0;
    let mut last_seen = Instant::now();
    while args.limit.is_none_or(|limit| printed < limit) {
        if args.idle_secs > 0 && last_seen.elapsed() >= Duration::from_secs(args.idle_secs) {
            break;
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                last_seen = Instant::now();
                print(&describe(&message), args.output);
                printed += 1;
            }
            Some(Err(err)) => tracing::warn!(error = %err, "reading {}", args.topic),
            None => {}
        }
    }
    Ok(())
}

/// A message as JSON: where it is, its key and headers, and its payload decoded.
pub fn describe(message: &BorrowedMessage<'_>) -> Value {
    let mut headers = serde_json::Map::new();
    if let Some(all) = message.headers() {
        for header in all.iter() {
            let value = header
                .value
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            headers.insert(header.key.to_owned(), Value::String(value));
        }
    }
    let decoded = match message.payload().map(sagaflow_events::decode_json) {
        Some(Ok((message_type, body))) => json!({ "message_type": message_type, "body": body }),
        Some(Err(err)) => json!({ "error": err.to_string() }),
        None => json!({ "error": "no payload (a tombstone)" }),
    };
    json!({
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp_ms": message.timestamp().to_millis(),
        "key": message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        "headers": headers,
        "decoded": decoded,
    })
}

fn print(message: &Value, output: Output) {
    match output {
        Output::Json => println!("{message}"),
        Output::Table => {
            let decoded = &message["decoded"];
            let what = decoded["message_type"].as_str().map_or_else(
                || format!("undecodable ({})", decoded["error"]),
                str::to_owned,
            );
            println!(
                "{}[{}]@{} {what} key={} saga={} tenant={}\n  {}",
                message["topic"].as_str().unwrap_or_default(),
                message["partition"],
                message["offset"],
                message["key"].as_str().unwrap_or("-"),
                message["headers"]["saga-id"].as_str().unwrap_or("-"),
                message["headers"]["tenant-id"].as_str().unwrap_or("-"),
                decoded.get("body").unwrap_or(&Value::Null),
            );
        }
    }
}
