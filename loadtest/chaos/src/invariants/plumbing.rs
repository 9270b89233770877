//! The messaging plumbing after settling: outboxes drained, poison dead-lettered,
//! consumers caught up.

use std::collections::BTreeSet;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use uuid::Uuid;

use crate::databases::{Databases, SERVICES};
use crate::error::Result;
use crate::messages::Poison;
use crate::report::Row;

/// The outbox's "parked" column if the bus has one (`parked_at` timestamp or a
/// boolean named `parked*`), as a SQL condition; None when rows cannot be parked.
async fn parked_condition(dbs: &Databases, service: &str) -> Result<Option<String>> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns
         WHERE table_name = 'sagaflow_outbox' AND column_name LIKE 'parked%'",
    )
    .fetch_all(dbs.pool(service))
    .await?;
    Ok(columns.into_iter().next().map(|(name, kind)| {
        if kind == "boolean" {
            format!("\"{name}\"")
        } else {
            format!("\"{name}\" IS NOT NULL")
        }
    }))
}

/// (unsent and not parked, parked) outbox rows of `service`.
pub async fn outbox_counts(dbs: &Databases, service: &str) -> Result<(i64, i64)> {
    let parked = parked_condition(dbs, service).await?;
    let sql = match &parked {
        Some(cond) => format!(
            "SELECT count(*) FILTER (WHERE NOT ({cond})), count(*) FILTER (WHERE {cond})
             FROM sagaflow_outbox WHERE sent_at IS NULL"
        ),
        None => "SELECT count(*), 0::BIGINT FROM sagaflow_outbox WHERE sent_at IS NULL".into(),
    };
    Ok(sqlx::query_as(&sql).fetch_one(dbs.pool(service)).await?)
}

/// Every service's outbox has no unsent row; parked rows are a separate,
/// non-failing row.
pub async fn outboxes(dbs: &Databases) -> Result<Vec<Row>> {
    let mut drained = Row::new("every outbox drained");
    let mut parked = Row::new("outbox rows parked (reported, not failing)");
    parked.gating = false;
    for service in SERVICES {
        drained.check();
        parked.check();
        let (unsent, held) = outbox_counts(dbs, service).await?;
        if unsent > 0 {
            drained.violation(format!("{service}: {unsent} unsent"));
        }
        if held > 0 {
            parked.violation(format!("{service}: {held} parked"));
        }
    }
    Ok(vec![drained, parked])
}

/// Every injected poison message is in its topic's dead-letter topic.
pub fn poison(injected: &[Poison], found: Option<&BTreeSet<Uuid>>) -> Row {
    let name = "every poison message dead-lettered";
    let Some(found) = found else {
        return Row::skipped(name, "no broker to read");
    };
    let mut row = Row::new(name);
    for p in injected {
        row.check();
        if !found.contains(&p.message_id) {
            row.violation(format!(
                "{} on {} (not in {}.dlq)",
                p.message_id, p.topic, p.topic
            ));
        }
    }
    row
}

/// (consumer group, topic) pairs that handled something, from every inbox.
pub async fn groups(dbs: &Databases) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for service in SERVICES {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT DISTINCT consumer, topic FROM sagaflow_inbox")
                .fetch_all(dbs.pool(service))
                .await?;
        out.extend(rows);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Consumer lag per (group, topic, partition): the partition's end minus the
/// group's committed offset (all of it when nothing was committed). Blocking.
pub fn lag_blocking(bootstrap: &str, groups: &[(String, String)]) -> Result<Row> {
    let mut row = Row::new("consumer lag zero");
    for (group, topic) in groups {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()?;
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        let partitions = metadata
            .topics()
            .first()
            .map(|t| t.partitions().len())
            .unwrap_or(0);
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions as i32 {
            tpl.add_partition(topic, p);
        }
        // An OffsetFetch only: this consumer never joins the group.
        let committed = consumer.committed_offsets(tpl, Duration::from_secs(10))?;
        for p in 0..partitions as i32 {
            row.check();
            let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
            let at = committed
                .find_partition(topic, p)
                .map(|e| e.offset())
                .unwrap_or(Offset::Invalid);
            let lag = match at {
                Offset::Offset(n) => high - n,
                _ => high - low,
            };
            if lag > 0 {
                row.violation(format!("{group} {topic}[{p}]: {lag} behind"));
            }
        }
    }
    Ok(row)
}

/// [`lag_blocking`] for every group of the inboxes; total lag 0 means caught up.
pub async fn lag(dbs: &Databases, bootstrap: &str) -> Result<Row> {
    let groups = groups(dbs).await?;
    let bootstrap = bootstrap.to_owned();
    tokio::task::spawn_blocking(move || lag_blocking(&bootstrap, &groups))
        .await
        .map_err(|e| crate::error::Error::Config(format!("lag task: {e}")))?
}
