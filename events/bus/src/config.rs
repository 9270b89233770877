//! Kafka client settings, read from flags or the environment and validated before
//! anything connects. Every service flattens [`KafkaConfig`] into its own CLI, so
//! the same keys work everywhere (`KAFKA_BOOTSTRAP_SERVERS`, ...).
//!
//! `KAFKA_PROPERTIES` may hold credentials (`sasl.password`): `--help` does not
//! show its value, [`Properties`]' `Debug` shows keys only, and a malformed entry
//! is reported by its position, never its text.

use std::time::Duration;

use rdkafka::ClientConfig;

use crate::failure::Backoff;

/// Default `INBOX_RETENTION_SECS`: 7 days, Kafka's default topic retention.
pub const DEFAULT_INBOX_RETENTION_SECS: u64 = 7 * 86_400;

/// Default `INBOX_LANE_LIMIT`: records queued per partition before it is paused.
pub const DEFAULT_INBOX_LANE_LIMIT: u32 = 256;

/// Default `INBOX_UNAVAILABLE_BACKOFF_MS`: the first wait of an unavailable
/// database (as [`crate::Backoff::UNAVAILABLE`]).
pub const DEFAULT_INBOX_UNAVAILABLE_BACKOFF_MS: u64 = 100;

/// Connection and tuning settings shared by producers and consumers.
#[derive(clap::Args, Debug, Clone)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list of Kafka brokers (Apache Kafka, MSK, Strimzi, Redpanda, Nisshi).
    #[arg(
        long = "kafka-bootstrap-servers",
        env = "KAFKA_BOOTSTRAP_SERVERS",
        value_name = "KAFKA_BOOTSTRAP_SERVERS",
        value_parser = parse_bootstrap
    )]
    pub bootstrap_servers: String,

    /// Longest time a fetch waits for data. Nisshi and the mock cluster do not answer a
    /// waiting fetch when data arrives, so keep this small for low latency.
    #[arg(
        long = "kafka-fetch-wait-max-ms",
        env = "KAFKA_FETCH_WAIT_MAX_MS",
        value_name = "KAFKA_FETCH_WAIT_MAX_MS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    pub fetch_wait_max_ms: u32,

    /// How long the producer waits to batch messages before sending.
    #[arg(
        long = "kafka-linger-ms",
        env = "KAFKA_LINGER_MS",
        value_name = "KAFKA_LINGER_MS",
        default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(0..=10_000)
    )]
    pub linger_ms: u32,

    /// Seconds a published outbox row is kept before the relay deletes it (the
    /// table would otherwise grow forever, and an erased user's payloads with it).
    /// 0 deletes a row on the broker's ack, in the statement that would mark it
    /// sent: the least work per message, with nothing kept for inspection.
    #[arg(
        long = "outbox-retention-secs",
        env = "OUTBOX_RETENTION_SECS",
        value_name = "OUTBOX_RETENTION_SECS",
        default_value_t = 3_600,
        value_parser = clap::value_parser!(u64).range(0..=30 * 86_400)
    )]
    pub outbox_retention_secs: u64,

    /// Failed publications of one outbox row before the relay parks it (sets
    /// `parked_at` and `last_error` and stops sending it; later rows of the same
    /// topic and key wait until an operator unparks or purges it). A row the broker
    /// can never take (too large, unknown topic) is parked at its first failure; a
    /// broker that is unreachable or times out, or a full local queue, counts no
    /// attempt.
    #[arg(
        long = "outbox-max-attempts",
        env = "OUTBOX_MAX_ATTEMPTS",
        value_name = "OUTBOX_MAX_ATTEMPTS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=1_000)
    )]
    pub outbox_max_attempts: u32,

    /// Seconds an inbox row (the dedup record of a handled message) is kept before
    /// the relay deletes it. Must be longer than the broker's retention of every
    /// topic this service consumes (and than any replay you might do): a message
    /// redelivered after its inbox row is gone is handled a second time. Default 7
    /// days (Kafka's default `retention.ms`); at least five minutes.
    #[arg(
        long = "inbox-retention-secs",
        env = "INBOX_RETENTION_SECS",
        value_name = "INBOX_RETENTION_SECS",
        default_value_t = DEFAULT_INBOX_RETENTION_SECS,
        value_parser = clap::value_parser!(u64).range(300..=3_650 * 86_400)
    )]
    pub inbox_retention_secs: u64,

    /// Records the inbox consumer queues per partition before it pauses that
    /// partition on the consumer (a slow or stuck partition holds at most this many
    /// in memory; the others flow on).
    #[arg(
        long = "inbox-lane-limit",
        env = "INBOX_LANE_LIMIT",
        value_name = "INBOX_LANE_LIMIT",
        default_value_t = DEFAULT_INBOX_LANE_LIMIT,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub inbox_lane_limit: u32,

    /// First wait (milliseconds) before the inbox consumer tries an unavailable
    /// database again; the wait doubles up to 5 s (or this value, if larger), and
    /// an outage is waited out without a bound.
    #[arg(
        long = "inbox-unavailable-backoff-ms",
        env = "INBOX_UNAVAILABLE_BACKOFF_MS",
        value_name = "INBOX_UNAVAILABLE_BACKOFF_MS",
        default_value_t = DEFAULT_INBOX_UNAVAILABLE_BACKOFF_MS,
        value_parser = clap::value_parser!(u64).range(1..=60_000)
    )]
    pub inbox_unavailable_backoff_ms: u64,

    /// Consumer group session timeout.
    #[arg(
        long = "kafka-session-timeout-ms",
        env = "KAFKA_SESSION_TIMEOUT_MS",
        value_name = "KAFKA_SESSION_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u32).range(1_000..=300_000)
    )]
    pub session_timeout_ms: u32,

    /// Rejoin the consumer group after this long with no partitions assigned, and
    /// judge assigned partitions stalled after this long (0: rejoin an unassigned
    /// member only when its group leaves data unconsumed for 30 s, and judge stalls
    /// over 30 s). Leave it 0 on Apache Kafka, where an idle member is normal when a
    /// group has more members than partitions.
    #[arg(
        id = "kafka-rejoin-idle-ms",
        long = "kafka-rejoin-idle-ms",
        env = "KAFKA_REJOIN_IDLE_MS",
        value_name = "KAFKA_REJOIN_IDLE_MS",
        default_value_t = 0,
        value_parser = clap::value_parser!(u32).range(0..=3_600_000)
    )]
    pub rejoin_idle_ms: u32,

    /// Partitions for topics this process creates.
    #[arg(
        long = "kafka-partitions",
        env = "KAFKA_PARTITIONS",
        value_name = "KAFKA_PARTITIONS",
        default_value_t = 4,
        value_parser = clap::value_parser!(i32).range(1..=1_000)
    )]
    pub partitions: i32,

    /// Replication factor for topics this process creates.
    #[arg(
        long = "kafka-replication-factor",
        env = "KAFKA_REPLICATION_FACTOR",
        value_name = "KAFKA_REPLICATION_FACTOR",
        default_value_t = 1,
        value_parser = clap::value_parser!(i32).range(1..=16)
    )]
    pub replication_factor: i32,

    /// Extra librdkafka properties as `key=value` entries, one per line, or
    /// separated by `;` when the value has no line break (write `\;` for a `;`
    /// inside a value, `\\` for a backslash), e.g.
    /// `security.protocol=SASL_SSL;sasl.mechanism=SCRAM-SHA-512` for MSK. Commas
    /// are part of values. The value is never printed.
    #[arg(
        long = "kafka-properties",
        env = "KAFKA_PROPERTIES",
        value_name = "KAFKA_PROPERTIES",
        value_parser = PropertiesParser,
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub properties: Properties,

    /// Base URL of a Confluent-compatible schema registry (Confluent, Karapace,
    /// Apicurio's ccompat API, Redpanda), e.g. `http://registry:8081`. A consumed
    /// message framed with a schema id that is not built in (a producer outside
    /// Sagaflow whose serializer registered its schema there) is read with the
    /// schema the registry holds under that id, fetched once per id and refused
    /// unless it is one of our message types and readable as its current version.
    /// While the registry is unreachable such messages wait (nothing is lost);
    /// unset, they are dead-lettered (unknown schema id).
    #[arg(
        long = "schema-registry-url",
        env = "SCHEMA_REGISTRY_URL",
        value_name = "SCHEMA_REGISTRY_URL",
        value_parser = sagaflow_schema_registry::parse_url
    )]
    pub schema_registry_url: Option<String>,
}

/// Extra librdkafka properties, already split into pairs. `Debug` shows the keys
/// only: values may be secrets.
#[derive(Clone, Default)]
pub struct Properties(pub Vec<(String, String)>);

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(key, _)| (key, "***")))
            .finish()
    }
}

impl Properties {
    /// Splits `value`: by line breaks when it has one (then `;` and `\` are
    /// literal), else by `;` with `\;` and `\\` escapes. Blank entries are skipped;
    /// keys and values are trimmed. An error names the entry by position only.
    pub fn parse(value: &str) -> Result<Self, String> {
        let entries: Vec<String> = if value.contains('\n') {
            value.lines().map(str::to_owned).collect()
        } else {
            split_semicolons(value)
        };
        let mut pairs = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let (key, val) = entry.split_once('=').ok_or_else(|| {
                format!(
                    "entry {} is not key=value (entries are separated by `;` or line breaks)",
                    index + 1
                )
            })?;
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("entry {} has an empty key", index + 1));
            }
            pairs.push((key.to_owned(), val.trim().to_owned()));
        }
        Ok(Properties(pairs))
    }
}

/// `a=1;b=x\;y` → `["a=1", "b=x;y"]`.
fn split_semicolons(value: &str) -> Vec<String> {
    let mut entries = vec![String::new()];
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let current = entries.last_mut().expect("never empty");
        match c {
            '\\' if matches!(chars.peek(), Some(';' | '\\')) => {
                current.push(chars.next().expect("peeked"));
            }
            ';' => entries.push(String::new()),
            other => current.push(other),
        }
    }
    entries
}

/// Parses `KAFKA_PROPERTIES` with an error that does not echo the value (clap's
/// own would).
#[derive(Clone)]
struct PropertiesParser;

impl clap::builder::TypedValueParser for PropertiesParser {
    type Value = Properties;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Properties, clap::Error> {
        let invalid = |why: &str| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid KAFKA_PROPERTIES (--kafka-properties): {why}\n"),
            )
            .with_cmd(cmd)
        };
        let value = value.to_str().ok_or_else(|| invalid("not valid UTF-8"))?;
        Properties::parse(value).map_err(|why| invalid(&why))
    }
}

fn parse_bootstrap(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must name at least one broker as host:port".into());
    }
    for server in value.split(',') {
        let server = server.trim();
        let (host, port) = server
            .rsplit_once(':')
            .ok_or_else(|| format!("`{server}` is not host:port"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(format!("`{server}` is not host:port"));
        }
    }
    Ok(value.to_owned())
}

impl KafkaConfig {
    /// Settings with defaults for the given brokers (tests and tools).
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            fetch_wait_max_ms: 5,
            linger_ms: 1,
            outbox_retention_secs: 3_600,
            outbox_max_attempts: 5,
            inbox_retention_secs: DEFAULT_INBOX_RETENTION_SECS,
            inbox_lane_limit: DEFAULT_INBOX_LANE_LIMIT,
            inbox_unavailable_backoff_ms: DEFAULT_INBOX_UNAVAILABLE_BACKOFF_MS,
            session_timeout_ms: 10_000,
            rejoin_idle_ms: 0,
            partitions: 4,
            replication_factor: 1,
            properties: Properties::default(),
            schema_registry_url: None,
        }
    }

    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        for (key, value) in &self.properties.0 {
            config.set(key, value);
        }
        config
    }

    /// Producer settings: idempotent, `acks=all`, explicit `linger.ms`.
    pub fn producer(&self) -> ClientConfig {
        let mut config = self.base();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", self.linger_ms.to_string())
            .set("message.timeout.ms", "30000");
        config
    }

    /// Consumer settings for at-least-once handling: offsets are stored by the
    /// code only after a message is fully handled, then committed in the background.
    pub fn consumer(&self, group_id: &str) -> ClientConfig {
        let mut config = self.base();
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "500")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", self.fetch_wait_max_ms.to_string())
            .set("session.timeout.ms", self.session_timeout_ms.to_string())
            .set(
                "heartbeat.interval.ms",
                (self.session_timeout_ms / 5).to_string(),
            );
        config
    }

    /// Admin client settings.
    pub fn admin(&self) -> ClientConfig {
        self.base()
    }

    /// The inbox consumer's schedule for waiting out an unavailable database:
    /// `INBOX_UNAVAILABLE_BACKOFF_MS` doubling to 5 s (or to that value, if
    /// larger), without a bound on attempts.
    pub fn inbox_unavailable_backoff(&self) -> Backoff {
        let initial = Duration::from_millis(self.inbox_unavailable_backoff_ms);
        Backoff {
            initial,
            max: initial.max(Backoff::UNAVAILABLE.max),
            ..Backoff::UNAVAILABLE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        kafka: KafkaConfig,
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        let err = Cli::try_parse_from([
            "x",
            "--kafka-bootstrap-servers",
            "localhost:9092",
            "--kafka-fetch-wait-max-ms",
            "0",
        ])
        .expect_err("0 is out of range");
        assert!(err.to_string().contains("KAFKA_FETCH_WAIT_MAX_MS"), "{err}");

        let err = Cli::try_parse_from(["x", "--kafka-bootstrap-servers", "nohost"])
            .expect_err("not host:port");
        assert!(err.to_string().contains("KAFKA_BOOTSTRAP_SERVERS"), "{err}");
    }

    #[test]
    fn outbox_and_inbox_settings_have_defaults_and_refuse_bad_values_by_key() {
        let cli = Cli::try_parse_from(["x", "--kafka-bootstrap-servers", "a:1"]).expect("valid");
        assert_eq!(cli.kafka.outbox_max_attempts, 5);
        assert_eq!(cli.kafka.inbox_retention_secs, 7 * 86_400);
        let defaults = KafkaConfig::new("a:1");
        assert_eq!(defaults.outbox_max_attempts, 5);
        assert_eq!(defaults.inbox_retention_secs, 7 * 86_400);

        let cli = Cli::try_parse_from([
            "x",
            "--kafka-bootstrap-servers",
            "a:1",
            "--outbox-max-attempts",
            "3",
            "--inbox-retention-secs",
            "86400",
        ])
        .expect("valid");
        assert_eq!(cli.kafka.outbox_max_attempts, 3);
        assert_eq!(cli.kafka.inbox_retention_secs, 86_400);

        for (flag, value, key) in [
            ("--outbox-max-attempts", "0", "OUTBOX_MAX_ATTEMPTS"),
            ("--outbox-max-attempts", "many", "OUTBOX_MAX_ATTEMPTS"),
            ("--inbox-retention-secs", "60", "INBOX_RETENTION_SECS"),
            ("--inbox-retention-secs", "1.5", "INBOX_RETENTION_SECS"),
        ] {
            let err = Cli::try_parse_from(["x", "--kafka-bootstrap-servers", "a:1", flag, value])
                .expect_err("out of range");
            assert!(err.to_string().contains(key), "{flag} {value}: {err}");
        }
    }

    #[test]
    fn inbox_lane_limit_and_unavailable_backoff_parse_and_refuse_bad_values_by_key() {
        let cli = Cli::try_parse_from(["x", "--kafka-bootstrap-servers", "a:1"]).expect("valid");
        assert_eq!(cli.kafka.inbox_lane_limit, 256);
        assert_eq!(cli.kafka.inbox_unavailable_backoff_ms, 100);
        let defaults = KafkaConfig::new("a:1");
        assert_eq!(defaults.inbox_lane_limit, 256);
        assert_eq!(
            defaults.inbox_unavailable_backoff().initial,
            Backoff::UNAVAILABLE.initial
        );
        assert_eq!(
            defaults.inbox_unavailable_backoff().max,
            Duration::from_secs(5)
        );

        let cli = Cli::try_parse_from([
            "x",
            "--kafka-bootstrap-servers",
            "a:1",
            "--inbox-lane-limit",
            "32",
            "--inbox-unavailable-backoff-ms",
            "250",
        ])
        .expect("valid");
        assert_eq!(cli.kafka.inbox_lane_limit, 32);
        let backoff = cli.kafka.inbox_unavailable_backoff();
        assert_eq!(backoff.initial, Duration::from_millis(250));
        assert_eq!(backoff.max, Duration::from_secs(5));
        assert_eq!(backoff.max_attempts, u32::MAX, "an outage is waited out");
        // A first wait longer than the usual ceiling is the ceiling.
        let slow = KafkaConfig {
            inbox_unavailable_backoff_ms: 10_000,
            ..KafkaConfig::new("a:1")
        };
        assert_eq!(
            slow.inbox_unavailable_backoff().max,
            Duration::from_secs(10)
        );

        for (flag, value, key) in [
            ("--inbox-lane-limit", "0", "INBOX_LANE_LIMIT"),
            ("--inbox-lane-limit", "lots", "INBOX_LANE_LIMIT"),
            ("--inbox-lane-limit", "2.5", "INBOX_LANE_LIMIT"),
            (
                "--inbox-unavailable-backoff-ms",
                "0",
                "INBOX_UNAVAILABLE_BACKOFF_MS",
            ),
            (
                "--inbox-unavailable-backoff-ms",
                "1s",
                "INBOX_UNAVAILABLE_BACKOFF_MS",
            ),
        ] {
            let err = Cli::try_parse_from(["x", "--kafka-bootstrap-servers", "a:1", flag, value])
                .expect_err("invalid");
            assert!(err.to_string().contains(key), "{flag} {value}: {err}");
        }
    }

    #[test]
    fn the_schema_registry_url_is_optional_and_refused_by_key_when_bad() {
        let cli = Cli::try_parse_from(["x", "--kafka-bootstrap-servers", "a:1"]).expect("valid");
        assert_eq!(cli.kafka.schema_registry_url, None);
        assert_eq!(KafkaConfig::new("a:1").schema_registry_url, None);
        let cli = Cli::try_parse_from([
            "x",
            "--kafka-bootstrap-servers",
            "a:1",
            "--schema-registry-url",
            "https://registry.internal:8081/",
        ])
        .expect("valid");
        assert_eq!(
            cli.kafka.schema_registry_url.as_deref(),
            Some("https://registry.internal:8081")
        );
        for bad in ["registry:8081", "ftp://registry", "not a url", ""] {
            let err = Cli::try_parse_from([
                "x",
                "--kafka-bootstrap-servers",
                "a:1",
                "--schema-registry-url",
                bad,
            ])
            .expect_err("refused");
            assert!(
                err.to_string().contains("SCHEMA_REGISTRY_URL"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn properties_pass_through() {
        let cli = Cli::try_parse_from([
            "x",
            "--kafka-bootstrap-servers",
            "a:1,b:2",
            "--kafka-properties",
            "security.protocol=SASL_SSL; sasl.mechanism=PLAIN",
        ])
        .expect("valid");
        let producer = cli.kafka.producer();
        assert_eq!(producer.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(producer.get("sasl.mechanism"), Some("PLAIN"));
        assert_eq!(producer.get("acks"), Some("all"));
        assert_eq!(producer.get("bootstrap.servers"), Some("a:1,b:2"));
    }

    #[test]
    fn a_comma_or_an_escaped_semicolon_in_a_password_works() {
        let props = Properties::parse(
            "security.protocol=SASL_SSL;sasl.username=svc;sasl.password=p,a=ss\\;w\\\\d",
        )
        .expect("valid");
        assert_eq!(
            props.0,
            vec![
                ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
                ("sasl.username".to_owned(), "svc".to_owned()),
                ("sasl.password".to_owned(), "p,a=ss;w\\d".to_owned()),
            ]
        );
        // One entry per line (what the Helm chart writes): `;` and `,` are literal.
        let props =
            Properties::parse("sasl.mechanism=PLAIN\nsasl.password=a;b,c\n").expect("valid");
        assert_eq!(props.0[1], ("sasl.password".to_owned(), "a;b,c".to_owned()));
        let config = KafkaConfig {
            properties: props,
            ..KafkaConfig::new("a:1")
        };
        assert_eq!(config.producer().get("sasl.password"), Some("a;b,c"));
    }

    #[test]
    fn property_values_never_print() {
        let secret = "hunter2,hunter3";
        let cli = Cli::try_parse_from([
            "x",
            "--kafka-bootstrap-servers",
            "a:1",
            "--kafka-properties",
            &format!("sasl.password={secret}"),
        ])
        .expect("valid");
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("sasl.password"), "{shown}");
        let err = Cli::try_parse_from([
            "x",
            "--kafka-bootstrap-servers",
            "a:1",
            "--kafka-properties",
            &format!("sasl.username=svc;{secret}"),
        ])
        .expect_err("the second entry has no =");
        let text = err.to_string();
        assert!(text.contains("entry 2"), "{text}");
        assert!(text.contains("KAFKA_PROPERTIES"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
