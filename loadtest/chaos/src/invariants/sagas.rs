//! Saga-level invariants: read from the orchestrator's saga store (`sagas`,
//! `saga_events`) and compared with what the client and the gateway saw.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::databases::Databases;
use crate::error::Result;
use crate::load::Accepted;
use crate::report::Row;

/// The statuses a checkout may end in without an operator.
pub const GOOD_ENDS: [&str; 2] = ["completed", "compensated"];

/// Every accepted checkout has its saga, and it ended `completed` or `compensated`.
pub fn terminal(accepted: &[Accepted], statuses: &BTreeMap<Uuid, String>) -> Row {
    let mut row = Row::new("one terminal saga per accepted checkout");
    for a in accepted {
        row.check();
        match statuses.get(&a.checkout_id) {
            None => row.violation(format!("{} (no saga)", a.checkout_id)),
            Some(status) if !GOOD_ENDS.contains(&status.as_str()) => {
                row.violation(format!("{} ({status})", a.checkout_id));
            }
            Some(_) => {}
        }
    }
    row
}

/// No checkout saga of the run exists without a checkout the gateway recorded.
pub async fn orphans(dbs: &Databases, accepted: &[Uuid], since: DateTime<Utc>) -> Result<Row> {
    let mut row = Row::new("no saga without a gateway checkout");
    let sagas: Vec<Uuid> = sqlx::query_scalar(
        "SELECT saga_id FROM sagas WHERE definition = 'checkout' AND created_at >= $1",
    )
    .bind(since)
    .fetch_all(dbs.pool("orchestrator"))
    .await?;
    let recorded: BTreeSet<Uuid> =
        sqlx::query_scalar("SELECT checkout_id FROM checkouts WHERE checkout_id = ANY($1)")
            .bind(&sagas)
            .fetch_all(dbs.pool("gateway"))
            .await?
            .into_iter()
            .collect();
    let accepted: BTreeSet<&Uuid> = accepted.iter().collect();
    let mut unseen = 0;
    for saga in &sagas {
        row.check();
        if !recorded.contains(saga) {
            row.violation(format!("{saga} (no gateway checkout)"));
        } else if !accepted.contains(saga) {
            unseen += 1;
        }
    }
    if unseen > 0 {
        row.note = Some(format!(
            "{unseen} saga(s) of checkouts whose 202 the client never got (it gave up)"
        ));
    }
    Ok(row)
}

/// The gateway's `GET /v1/checkouts/{id}` status equals the saga's status.
pub fn gateway_agrees(
    accepted: &[Accepted],
    statuses: &BTreeMap<Uuid, String>,
    gateway: &BTreeMap<Uuid, std::result::Result<String, String>>,
) -> Row {
    let mut row = Row::new("gateway status = saga status");
    for a in accepted {
        row.check();
        let saga = statuses
            .get(&a.checkout_id)
            .map(String::as_str)
            .unwrap_or("none");
        match gateway.get(&a.checkout_id) {
            Some(Ok(seen)) if seen == saga => {}
            Some(Ok(seen)) => {
                row.violation(format!("{} (gateway {seen}, saga {saga})", a.checkout_id));
            }
            Some(Err(err)) => row.violation(format!("{} (gateway: {err})", a.checkout_id)),
            None => row.violation(format!("{} (not asked)", a.checkout_id)),
        }
    }
    row
}

/// (saga, its row's seq, events, min seq, max seq).
type LogShape = (Uuid, i64, i64, Option<i64>, Option<i64>);

/// Each saga's log is `seq` 1..n without a gap, and its row's `seq` is n.
pub async fn gap_free(dbs: &Databases, ids: &[Uuid]) -> Result<Row> {
    let mut row = Row::new("saga logs gap-free (seq 1..n)");
    let logs: Vec<LogShape> = sqlx::query_as(
        "SELECT s.saga_id, s.seq, count(e.seq), min(e.seq), max(e.seq)
         FROM sagas s LEFT JOIN saga_events e ON e.saga_id = s.saga_id
         WHERE s.saga_id = ANY($1)
         GROUP BY s.saga_id, s.seq",
    )
    .bind(ids)
    .fetch_all(dbs.pool("orchestrator"))
    .await?;
    for (saga, last, count, min, max) in logs {
        row.check();
        let (min, max) = (min.unwrap_or(0), max.unwrap_or(0));
        if count == 0 || min != 1 || max != count || last != max {
            row.violation(format!(
                "{saga} ({count} events, seq {min}..{max}, saga row at {last})"
            ));
        }
    }
    Ok(row)
}
