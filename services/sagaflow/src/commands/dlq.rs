//! `sagaflow dlq list|show|replay|purge`: dead letters, the records a consumer
//! could not handle and copied to `<topic>.dlq` (see `sagaflow_bus::dead_letter`).
//!
//! The work is done by `sagaflow_bus::dlq` (reading without a consumer group,
//! replay, acknowledgement); this file is the flags and `dlq/output.rs` the
//! printing (a table, or `--json`: one object per line).
//!
//! - `list`: every platform dead-letter topic (or `--topic`), filtered; records
//!   already purged are hidden unless `--all`.
//! - `show <id>`: headers, key, payload as hex and, when the platform's contracts
//!   decode it, as JSON.
//! - `replay <id>... | --all-matching`: the original record to its original topic,
//!   same key, payload and headers (the same `message-id`, so each consumer's
//!   inbox applies it at most once) plus `dlq-replayed-from=<id>`; every replay is
//!   recorded in `sagaflow.dlq.replays`, and an id already replayed is refused
//!   (skipped with `--all-matching`) unless `--force`.
//! - `purge --before <time> | <id>...`: acknowledges records for the
//!   `sagaflow-dlq-ack` group (Kafka cannot delete one record); an id purges its
//!   partition up to it, so earlier unpurged records must be named too or
//!   `--with-earlier` given.

mod output;

use std::time::Duration;

use anyhow::bail;
use sagaflow_bus::KafkaConfig;
use sagaflow_bus::dlq::{self, DeadLetterId, Filter, Replayer, Timestamp};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// List dead letters, oldest first (purged ones only with `--all`).
    List(ListArgs),
    /// Show everything about one dead letter.
    Show(ShowArgs),
    /// Produce dead letters again to their original topics.
    Replay(ReplayArgs),
    /// Mark dead letters as dealt with, so `list` hides them.
    Purge(PurgeArgs),
}

/// What every action needs.
#[derive(clap::Args, Debug)]
pub struct Common {
    #[command(flatten)]
    pub kafka: KafkaConfig,
    /// Longest wait for the brokers, per request and for reading the topics.
    #[arg(
        long = "timeout-secs",
        env = "SAGAFLOW_DLQ_TIMEOUT_SECS",
        value_name = "SAGAFLOW_DLQ_TIMEOUT_SECS",
        default_value_t = 15,
        value_parser = clap::value_parser!(u64).range(1..=600)
    )]
    pub timeout_secs: u64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl Common {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

/// Which dead letters (`list`, `replay --all-matching`).
#[derive(clap::Args, Debug, Default)]
pub struct Selection {
    /// Only this original topic (or its `.dlq`); repeat for several.
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// Only this message type (the `message-type` header).
    #[arg(long = "type", value_name = "MESSAGE_TYPE")]
    pub message_type: Option<String>,
    /// Only reasons containing this (case-insensitive).
    #[arg(long, value_name = "SUBSTRING")]
    pub reason: Option<String>,
    /// Dead-lettered at or after this RFC 3339 time.
    #[arg(long, value_name = "RFC3339", value_parser = dlq::parse_time, conflicts_with = "since_secs")]
    pub since: Option<Timestamp>,
    /// Dead-lettered in the last N seconds.
    #[arg(long = "since-secs", value_name = "N")]
    pub since_secs: Option<u64>,
    /// Dead-lettered before this RFC 3339 time.
    #[arg(long, value_name = "RFC3339", value_parser = dlq::parse_time, conflicts_with = "until_secs")]
    pub until: Option<Timestamp>,
    /// Dead-lettered more than N seconds ago.
    #[arg(long = "until-secs", value_name = "N")]
    pub until_secs: Option<u64>,
    /// At most N records (the oldest).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Include purged (acknowledged) records.
    #[arg(long)]
    pub all: bool,
}

impl Selection {
    pub fn filter(&self) -> Filter {
        Filter {
            topics: self.topics.clone(),
            message_type: self.message_type.clone(),
            reason: self.reason.clone(),
            since: self.since.or(self.since_secs.map(dlq::seconds_ago)),
            until: self.until.or(self.until_secs.map(dlq::seconds_ago)),
            include_acknowledged: self.all,
            limit: self.limit,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// `<topic>.dlq/<partition>/<offset>`, as `list` prints it.
    #[arg(value_name = "ID")]
    pub id: DeadLetterId,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["ids", "all_matching"])))]
pub struct ReplayArgs {
    /// Dead letters to replay (`<topic>.dlq/<partition>/<offset>`).
    #[arg(value_name = "ID")]
    pub ids: Vec<DeadLetterId>,
    /// Replay every dead letter the selection flags match (already replayed ones
    /// are skipped unless `--force`).
    #[arg(long = "all-matching")]
    pub all_matching: bool,
    #[command(flatten)]
    pub selection: Selection,
    /// Print what would be replayed; produce nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Replay ids already replayed (consumers' inboxes still apply a message once).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["ids", "before", "before_secs"])))]
pub struct PurgeArgs {
    /// Dead letters to purge (`<topic>.dlq/<partition>/<offset>`).
    #[arg(value_name = "ID", conflicts_with_all = ["before", "before_secs"])]
    pub ids: Vec<DeadLetterId>,
    /// Purge everything dead-lettered before this RFC 3339 time.
    #[arg(long, value_name = "RFC3339", value_parser = dlq::parse_time, conflicts_with = "before_secs")]
    pub before: Option<Timestamp>,
    /// Purge everything dead-lettered more than N seconds ago.
    #[arg(long = "before-secs", value_name = "N")]
    pub before_secs: Option<u64>,
    /// With `--before`: only this original topic (or its `.dlq`); repeatable.
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// With ids: also purge the unpurged records before them in their partitions.
    #[arg(long = "with-earlier")]
    pub with_earlier: bool,
    #[command(flatten)]
    pub common: Common,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::List(args) => {
            let letters = dlq::list(
                &args.common.kafka,
                &args.selection.filter(),
                args.common.timeout(),
            )
            .await?;
            output::letters(&letters, args.common.json);
        }
        Action::Show(args) => {
            let letter = dlq::show(&args.common.kafka, &args.id, args.common.timeout()).await?;
            output::detail(&letter, args.common.json);
        }
        Action::Replay(args) => replay(args).await?,
        Action::Purge(args) => {
            let timeout = args.common.timeout();
            let kafka = &args.common.kafka;
            let done = match args.before.or(args.before_secs.map(dlq::seconds_ago)) {
                Some(before) => {
                    dlq::acknowledge_before(kafka, &args.topics, before, timeout).await?
                }
                None => dlq::acknowledge(kafka, &args.ids, args.with_earlier, timeout).await?,
            };
            output::acknowledged(&done, args.common.json);
        }
    }
    Ok(())
}

async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let timeout = args.common.timeout();
    let kafka = &args.common.kafka;
    let letters = if args.all_matching {
        dlq::list(kafka, &args.selection.filter(), timeout).await?
    } else {
        let mut letters = Vec::new();
        for id in &args.ids {
            letters.push(dlq::show(kafka, id, timeout).await?);
        }
        let replayed: Vec<String> = letters
            .iter()
            .filter(|l| l.replayed)
            .map(|l| l.id.to_string())
            .collect();
        if !replayed.is_empty() && !args.force {
            return Err(dlq::Error::AlreadyReplayed(replayed).into());
        }
        letters
    };
    if letters.is_empty() {
        bail!("no dead letter matches");
    }
    let replayer = if args.dry_run {
        None
    } else {
        Some(Replayer::new(kafka, timeout).await?)
    };
    for letter in &letters {
        if letter.replayed && !args.force {
            output::replay_skipped(letter, args.common.json);
            continue;
        }
        match &replayer {
            None => output::replay_planned(letter, args.common.json),
            Some(replayer) => {
                let replayed = replayer.replay(letter, args.force).await?;
                output::replayed(&replayed, args.common.json);
            }
        }
    }
    Ok(())
}
