//! The open-loop load: checkouts sent through the gateway on schedule, and their
//! end in the orchestrator's log (polled every 50 ms; the bench counts those
//! queries so the work figures can take them out).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

/// The catalogue product every checkout buys.
pub const SKU: &str = "MUG-BLUE";

/// Waits until the gateway's catalogue read model has [`SKU`] (the catalogue
/// publishes its seed on `catalog.events`); a checkout of it is refused before.
pub async fn wait_for_product(http: &reqwest::Client, gateway: &str) -> anyhow::Result<()> {
    for _ in 0..600 {
        if http
            .get(format!("{gateway}/v1/products/{SKU}"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{SKU} never reached the gateway's catalogue")
}

pub async fn wait_ready(http: &reqwest::Client, gateway: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if http
            .get(format!("{gateway}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the gateway did not come up")
}

pub struct Run {
    pub latencies: Vec<Duration>,
    pub completed: usize,
    pub other_terminal: usize,
    pub rejected: usize,
    pub unfinished: usize,
    /// Sagas ended per second, from the first request to the last end.
    pub throughput: f64,
    /// Queries the bench sent to the orchestrator's database while waiting.
    pub queries: u64,
}

pub async fn run_load(
    http: &reqwest::Client,
    gateway: &str,
    tokens: &Arc<Vec<String>>,
    orchestrator: &sqlx::PgPool,
    count: usize,
    rate: f64,
    timeout: Duration,
) -> anyhow::Result<Run> {
    let sent: Arc<Mutex<HashMap<Uuid, SystemTime>>> = Arc::default();
    let rejected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let first_send = SystemTime::now();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..count {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (http, gateway, sent, rejected) = (
            http.clone(),
            gateway.to_owned(),
            sent.clone(),
            rejected.clone(),
        );
        let authorization = tokens[i % tokens.len()].clone();
        requests.spawn(async move {
            let at = SystemTime::now();
            let response = http
                .post(format!("{gateway}/v1/checkouts"))
                .header("Idempotency-Key", Uuid::new_v4().to_string())
                .header("Authorization", authorization)
                .json(&json!({
                    "cart_id": Uuid::now_v7(),
                    "items": [{"sku": SKU, "quantity": 1}],
                    "currency": "EUR", "shipping_country": "DE",
                    "payment_method": "card", "customer_email": "bench@example.com"
                }))
                .send()
                .await;
            let id = match response {
                Ok(r) if r.status().as_u16() == 202 => {
                    r.json::<serde_json::Value>().await.ok().and_then(|v| {
                        v["checkout_id"]
                            .as_str()
                            .and_then(|s| s.parse::<Uuid>().ok())
                    })
                }
                _ => None,
            };
            match id {
                Some(id) => {
                    if let Ok(mut sent) = sent.lock() {
                        sent.insert(id, at);
                    }
                }
                None => {
                    rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
    }
    while requests.join_next().await.is_some() {}
    let ids: HashMap<Uuid, SystemTime> = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let deadline = Instant::now() + timeout;
    let mut done: HashMap<Uuid, (String, DateTime<Utc>)> = HashMap::new();
    let mut queries = 0;
    while done.len() < ids.len() && Instant::now() < deadline {
        queries += 1;
        let since: DateTime<Utc> = first_send.into();
        let rows: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT saga_id, status, updated_at FROM sagas
             WHERE status IN ('completed', 'compensated', 'failed', 'compensation_failed') AND created_at >= $1",
        )
        .bind(since)
        .fetch_all(orchestrator)
        .await?;
        for (id, status, at) in rows {
            if ids.contains_key(&id) {
                done.insert(id, (status, at));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies = Vec::new();
    let mut completed = 0;
    let mut last = first_send;
    for (id, (status, at)) in &done {
        let finished: SystemTime = (*at).into();
        last = last.max(finished);
        if status == "completed" {
            completed += 1;
            latencies.push(finished.duration_since(ids[id]).unwrap_or_default());
        }
    }
    let elapsed = last
        .duration_since(first_send)
        .unwrap_or_default()
        .as_secs_f64();
    Ok(Run {
        throughput: if elapsed > 0.0 {
            done.len() as f64 / elapsed
        } else {
            0.0
        },
        other_terminal: done.len() - completed,
        unfinished: ids.len() - done.len(),
        rejected: rejected.load(std::sync::atomic::Ordering::Relaxed),
        completed,
        latencies,
        queries,
    })
}
