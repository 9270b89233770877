//! Waiting after the load: until every accepted checkout's saga has ended (or the
//! settle timeout), then until the outboxes are drained and the consumers caught
//! up, then reading the gateway's view of each checkout (its read model follows
//! the orchestrator's events, so a mismatch is asked again for a few seconds).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use crate::databases::{Databases, SERVICES};
use crate::error::Result;
use crate::invariants::plumbing;
use crate::load::{Accepted, Client};

/// Statuses after which a saga does nothing more on its own.
pub const TERMINAL: [&str; 4] = ["completed", "compensated", "failed", "compensation_failed"];

/// True once every saga of `ids` is terminal; false at `deadline`.
pub async fn sagas(dbs: &Databases, ids: &[Uuid], deadline: Instant) -> Result<bool> {
    loop {
        let ended: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sagas WHERE saga_id = ANY($1) AND status = ANY($2)",
        )
        .bind(ids)
        .bind(TERMINAL.map(str::to_owned).to_vec())
        .fetch_one(dbs.pool("orchestrator"))
        .await?;
        if ended as usize >= ids.len() {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Waits (until `deadline`) for every outbox to be drained and, with a broker,
/// every consumer group to be caught up. Errors only shorten the wait: the
/// invariants report what is left.
pub async fn plumbing(dbs: &Databases, bootstrap: Option<&str>, deadline: Instant) {
    loop {
        let mut unsent = 0;
        for service in SERVICES {
            unsent += plumbing::outbox_counts(dbs, service)
                .await
                .map(|(u, _)| u)
                .unwrap_or(0);
        }
        let lagging = match bootstrap {
            Some(b) if unsent == 0 => plumbing::lag(dbs, b)
                .await
                .map(|r| r.violations)
                .unwrap_or(0),
            _ => 0,
        };
        if (unsent == 0 && lagging == 0) || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The gateway's status of each accepted checkout; one that differs from the
/// saga's is asked again for up to 15 s.
pub async fn gateway_statuses(
    client: &Client,
    accepted: &[Accepted],
    sagas: &BTreeMap<Uuid, String>,
) -> BTreeMap<Uuid, std::result::Result<String, String>> {
    let mut out = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut pending: Vec<&Accepted> = accepted.iter().collect();
    loop {
        let mut again = Vec::new();
        for a in pending {
            let seen = client.checkout_status(a).await;
            let agrees = matches!((&seen, sagas.get(&a.checkout_id)), (Ok(s), Some(t)) if s == t);
            if !agrees {
                again.push(a);
            }
            out.insert(a.checkout_id, seen);
        }
        if again.is_empty() || Instant::now() >= deadline {
            return out;
        }
        pending = again;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
