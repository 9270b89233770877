//! `sagaflow-chaos run` flags. Every flag has an environment key; the doc comments
//! are the `--help` text.

use std::path::PathBuf;

/// Sagaflow's chaos suite: runs checkouts through the gateway while it kills
/// processes and injects duplicate and poison messages, then checks invariants.
#[derive(clap::Parser, Debug)]
#[command(name = "sagaflow-chaos", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Bring a platform up (or use one), run the load with faults, check invariants;
    /// exits 1 when any invariant is violated, 2 when the run could not be done.
    Run(Box<RunArgs>),
}

/// One chaos run.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Checkouts to start through the gateway.
    #[arg(long, env = "CHAOS_CHECKOUTS", default_value_t = 300)]
    pub checkouts: usize,

    /// Checkouts started per second (open loop).
    #[arg(long, env = "CHAOS_RATE", default_value_t = 10.0)]
    pub rate: f64,

    /// SIGKILLs of random processes during the load (each restarted after
    /// `--restart-min-ms`..`--restart-max-ms`).
    #[arg(long, env = "CHAOS_KILLS", default_value_t = 10)]
    pub kills: usize,

    /// What may be killed, comma-separated: `all`, `participants` (inventory,
    /// pricing, payment, order, cart, notification), `broker`, or service names.
    #[arg(
        long,
        env = "CHAOS_KILL_TARGETS",
        value_delimiter = ',',
        default_value = "all"
    )]
    pub kill_targets: Vec<String>,

    /// Shortest delay before a killed process is started again.
    #[arg(long, env = "CHAOS_RESTART_MIN_MS", default_value_t = 1_000)]
    pub restart_min_ms: u64,

    /// Longest delay before a killed process is started again.
    #[arg(long, env = "CHAOS_RESTART_MAX_MS", default_value_t = 5_000)]
    pub restart_max_ms: u64,

    /// Already-consumed command and reply records produced again, same message id.
    #[arg(long, env = "CHAOS_DUPLICATES", default_value_t = 20)]
    pub duplicates: usize,

    /// Garbage payloads with valid-looking headers sent to participant command topics.
    #[arg(long, env = "CHAOS_POISON", default_value_t = 5)]
    pub poison: usize,

    /// Abort the run (and fail) when it takes longer than this, setup included.
    #[arg(
        long = "duration-limit",
        env = "CHAOS_DURATION_LIMIT",
        default_value_t = 900
    )]
    pub duration_limit_secs: u64,

    /// After the load, wait this long at most for every saga to end and the
    /// outboxes and consumers to drain.
    #[arg(
        long = "settle-timeout",
        env = "CHAOS_SETTLE_TIMEOUT",
        default_value_t = 180
    )]
    pub settle_timeout_secs: u64,

    /// Seed of every random choice (fault times, targets, delays, carts); printed
    /// in the summary so a run can be repeated. Random when unset.
    #[arg(long, env = "CHAOS_SEED")]
    pub seed: Option<u64>,

    /// The `sagaflow` binary. Default: `target/release/sagaflow` or
    /// `target/debug/sagaflow` (whichever exists; the newer if both), looked up
    /// from the current directory upwards.
    #[arg(long, env = "CHAOS_SAGAFLOW_BIN")]
    pub sagaflow_bin: Option<PathBuf>,

    /// The local broker binary, Nisshi (local mode). Default: `.tools/bin/nisshi`,
    /// looked up from the current directory upwards (`infra/dev/broker.sh install`
    /// puts it there).
    #[arg(long, env = "SAGAFLOW_BROKER_BIN")]
    pub broker_bin: Option<PathBuf>,

    /// Where process logs, the broker's data and the report go. Default:
    /// `.data/chaos/<run id>` under the current directory.
    #[arg(long, env = "CHAOS_RUN_DIR")]
    pub run_dir: Option<PathBuf>,

    /// PostgreSQL server (any database on it); the run's databases are created there.
    #[arg(
        long,
        env = "SAGAFLOW_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres",
        hide_env_values = true
    )]
    pub pg_url: String,

    /// Database names are `<prefix>_<service>`. Default: `chaos_<run id>` (fresh
    /// databases) when spawning, `sagaflow` (the platform's) with `--no-spawn`.
    #[arg(long, env = "CHAOS_DB_PREFIX")]
    pub db_prefix: Option<String>,

    /// Keep the run's databases even when every invariant holds (they are always
    /// kept when one is violated, for inspection).
    #[arg(long, env = "CHAOS_KEEP_DATABASES")]
    pub keep_databases: bool,

    /// Use this Kafka cluster instead of starting the local broker (then the broker
    /// is never killed). Its platform topics are created if missing.
    #[arg(long, env = "CHAOS_KAFKA_BOOTSTRAP")]
    pub kafka_bootstrap: Option<String>,

    /// Host librdkafka's mock cluster in this process instead of starting the local
    /// broker (for machines without it). It speaks the real protocol over TCP but
    /// cannot be killed, so broker kills are skipped.
    #[arg(long, env = "CHAOS_MOCK_BROKER", conflicts_with = "kafka_bootstrap")]
    pub mock_broker: bool,

    /// The topics exist already: do not run `sagaflow topics create` (for a broker
    /// without CreateTopics, such as librdkafka's mock cluster).
    #[arg(long, env = "CHAOS_NO_TOPIC_CREATION")]
    pub no_topic_creation: bool,

    /// The gateway to send checkouts to (with `--no-spawn`).
    #[arg(long, env = "CHAOS_GATEWAY_URL")]
    pub gateway: Option<String>,

    /// Staging mode: start nothing; use `--gateway`, `--pg-url` + `--db-prefix`
    /// and `--kafka-bootstrap`; kills go through `--kill-command` or are skipped.
    #[arg(long, env = "CHAOS_NO_SPAWN")]
    pub no_spawn: bool,

    /// Staging mode: a shell command that kills one instance of `{target}` (a
    /// service name), e.g. `kubectl delete pod -l app.kubernetes.io/name=sagaflow-{target} --wait=false`;
    /// the platform is expected to restart it.
    #[arg(long, env = "CHAOS_KILL_COMMAND")]
    pub kill_command: Option<String>,

    /// A shell command that restarts PostgreSQL (off by default). It takes every
    /// service's database down at once: never use it on a shared server.
    #[arg(long, env = "CHAOS_PG_RESTART_COMMAND")]
    pub pg_restart_command: Option<String>,

    /// Replicas of the gateway, the orchestrator and each checkout participant
    /// (the catalogue, generation, planner and applications run once).
    #[arg(long, env = "CHAOS_REPLICAS", default_value_t = 2)]
    pub replicas: usize,

    /// Database connections per service process (`DB_POOL_SIZE`).
    #[arg(long, env = "CHAOS_DB_POOL_SIZE", default_value_t = 3)]
    pub db_pool_size: u32,

    /// Simulated users (each with its own token).
    #[arg(long, env = "CHAOS_USERS", default_value_t = 20)]
    pub users: usize,

    /// Percent of checkouts paid with `card_declined` (compensated by design).
    #[arg(long, env = "CHAOS_DECLINE_PERCENT", default_value_t = 10)]
    pub decline_percent: u32,

    /// Units of stock per SKU set before the load (local mode; `--no-spawn` reads
    /// the current stock instead).
    #[arg(long, env = "CHAOS_STOCK", default_value_t = 100_000)]
    pub stock: i32,

    /// Partitions per topic (`KAFKA_PARTITIONS`) when topics are created.
    #[arg(long, env = "CHAOS_PARTITIONS", default_value_t = 4)]
    pub partitions: i32,

    /// Staging mode: the bearer token of the load's user (else one is minted with
    /// `sagaflow token` and `GATEWAY_JWT_HS256_SECRET`).
    #[arg(long, env = "CHAOS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Staging mode: the gateway's HS256 secret, to mint tokens with `sagaflow token`.
    #[arg(long, env = "GATEWAY_JWT_HS256_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Soak mode: every this many seconds during the load, sample the size of the
    /// tables that must stay flat and the p50/p99 of the sagas that ended in the
    /// window; the report prints the series and its trend (0: off).
    #[arg(long, env = "CHAOS_SAMPLE_SECS", default_value_t = 0)]
    pub sample_secs: u64,

    /// A setting for every service process, `KEY=VALUE` (repeatable; comma-separated
    /// in the environment key), e.g. `INBOX_RETENTION_SECS=3600` for a soak.
    #[arg(long = "service-env", env = "CHAOS_SERVICE_ENV", value_delimiter = ',', value_parser = parse_setting)]
    pub service_env: Vec<(String, String)>,

    /// Write the report as JSON to this file too.
    #[arg(long, env = "CHAOS_JSON_REPORT")]
    pub json_report: Option<PathBuf>,
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && !key.contains(char::is_whitespace) => {
            Ok((key.to_owned(), value.to_owned()))
        }
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

impl RunArgs {
    /// Defaults for a run driven from code (the smoke test): every flag at its default.
    pub fn defaults() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            args: RunArgs,
        }
        Only::parse_from(["sagaflow-chaos"]).args
    }
}
