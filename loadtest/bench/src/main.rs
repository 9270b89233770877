//! `sagaflow-bench`: brings the whole platform up in this process on a chosen broker
//! (the in-process mock cluster, the local Nisshi broker as a process it starts, or an external cluster)
//! with a fresh database per service, measures the floor (one broker hop, one
//! Postgres step transaction), then drives checkouts through the gateway's HTTP API
//! at a fixed rate (open loop: requests go out on schedule whatever the latency;
//! each buys 1 × [`SKU`] of the catalogue's demo products, seeded by the catalogue
//! service, with no price: the pricing step takes it from the catalogue)
//! and reports sagas/s and end-to-end latency (request sent to saga completed in
//! the orchestrator's log) against `hops x hop + transactions x step`.
//!
//! `cargo run --release -p sagaflow-bench -- --broker mock --count 2000 --rate 200`

mod floor;
mod stats;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Parser;
use sagaflow::platform::{self, Service, Settings};
use sagaflow_bus::KafkaConfig;
use sagaflow_test_support::free_port;
use sagaflow_test_support::{Broker, TestDb};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use stats::{Samples, ms};

#[derive(Parser, Debug)]
struct Args {
    /// `mock`, `local` (Nisshi) or `external` (KAFKA_BOOTSTRAP_SERVERS).
    #[arg(long, default_value = "mock", value_parser = ["mock", "local", "external"])]
    broker: String,
    /// Checkouts to run.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Target checkouts per second (open loop).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Samples for each floor measurement.
    #[arg(long, default_value_t = 300)]
    floor_samples: usize,
    /// Consumer worker tasks per service (at most one per partition is busy).
    #[arg(long, default_value_t = 8)]
    workers: u16,
    /// Partitions per topic.
    #[arg(long, default_value_t = 8)]
    partitions: i32,
    /// Consumers' `fetch.wait.max.ms`.
    #[arg(long, default_value_t = 5)]
    fetch_wait_ms: u32,
    /// Producers' `linger.ms`.
    #[arg(long, default_value_t = 1)]
    linger_ms: u32,
    /// Give up waiting for completion after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
}

/// Simulated users; requests go round-robin, so each user stays far below the
/// gateway's per-user rate limit.
const USERS: usize = 100;

/// Kafka hops of one checkout: the start command, then a command and a reply per step.
const HOPS: u32 = 1 + 2 * 6;
/// Transactions of one checkout: the gateway's, the orchestrator's start and one per
/// reply, and one per participant command.
const TRANSACTIONS: u32 = 1 + 1 + 6 + 6;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .init();
    let broker = match args.broker.as_str() {
        "mock" => Broker::mock()?,
        "local" => Broker::local()?,
        _ => Broker::external().context("--broker external needs KAFKA_BOOTSTRAP_SERVERS")?,
    };
    let mut topics = sagaflow_bus::admin::platform_topics();
    let floor_topic = format!("bench.floor.{}", &Uuid::new_v4().simple().to_string()[..8]);
    topics.push(floor_topic.clone());
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    broker.create_topics(&refs, args.partitions).await?;
    let mut kafka = KafkaConfig::new(broker.bootstrap());
    kafka.fetch_wait_max_ms = args.fetch_wait_ms;
    kafka.linger_ms = args.linger_ms;

    let mut pools = HashMap::new();
    for service in Service::ALL {
        let db = TestDb::create(&format!("bench_{}", service.name())).await?;
        platform::migrate(service, &db.pool).await?;
        pools.insert(service.name(), db.pool);
    }
    let floor_db = TestDb::create("bench_floor").await?;
    sagaflow_bus::migrate::run(&floor_db.pool, None).await?;

    let mut settings = Settings::default();
    settings.gateway.listen = ([127, 0, 0, 1], free_port()?).into();
    // The gateway as deployed (JWT, per-user limits) except the per-address limit:
    // every simulated user sends from this one address. A fresh secret per run.
    let secret = format!("bench-{}", Uuid::new_v4().simple());
    settings.gateway.jwt_hs256_secret = Some(secret.parse()?);
    settings.gateway.rate_limit_ip_per_sec = 0;
    // The catalogue seeds its demo products; checkouts buy one of them.
    settings.catalog.listen = ([127, 0, 0, 1], free_port()?).into();
    settings.catalog.seed_demo = true;
    // Service-to-service and operator tokens, fresh per run too.
    let internal = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    settings.auth.internal_token_secret = Some(internal.parse()?);
    let operator = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    settings.auth.operator_jwt_secret = Some(operator.parse()?);
    let signing = sagaflow::commands::token::Signing {
        secret: Some(secret),
        issuer: settings.gateway.jwt_issuer.clone(),
        audience: settings.gateway.jwt_audience.clone(),
    };
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..USERS)
            .map(|i| {
                signing
                    .mint(
                        "bench",
                        &format!("bench-{i}"),
                        Duration::from_secs(24 * 3600),
                    )
                    .map(|token| format!("Bearer {token}"))
            })
            .collect::<anyhow::Result<_>>()?,
    );
    settings.orchestrator.listen = ([127, 0, 0, 1], free_port()?).into();
    settings.orchestrator.workers = args.workers;
    settings.inventory.workers = args.workers;
    settings.pricing.workers = args.workers;
    settings.payment.workers = args.workers;
    settings.order.workers = args.workers;
    settings.cart.workers = args.workers;
    settings.notification.workers = args.workers;
    let gateway = format!("http://{}", settings.gateway.listen);
    let shutdown = CancellationToken::new();
    let mut services = tokio::task::JoinSet::new();
    for service in Service::ALL {
        let (pool, kafka, settings, shutdown) = (
            pools[service.name()].clone(),
            kafka.clone(),
            settings.clone(),
            shutdown.clone(),
        );
        services
            .spawn(async move { platform::run(service, pool, kafka, settings, shutdown).await });
    }
    let orchestrator = pools[Service::Orchestrator.name()].clone();
    sagaflow_inventory::set_stock(
        &pools[Service::Inventory.name()],
        SKU,
        (args.count + 1000) as i32,
    )
    .await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    wait_ready(&http, &gateway).await?;
    wait_for_product(&http, &gateway).await?;

    println!(
        "sagaflow-bench: broker={} count={} rate={}/s workers={}",
        broker.kind(),
        args.count,
        args.rate,
        args.workers
    );
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        os()
    );

    // Warm up connections, consumer groups and caches.
    let warm = run_load(
        &http,
        &gateway,
        &tokens,
        &orchestrator,
        50,
        50.0,
        Duration::from_secs(120),
    )
    .await?;
    println!("warm-up: {} sagas", warm.latencies.len());

    let hop = floor::broker_hop(
        &kafka,
        &floor_topic,
        args.floor_samples,
        Duration::from_millis(5),
    )
    .await?;
    let step = floor::pg_step(&floor_db.pool, args.floor_samples).await?;
    println!(
        "floor: broker hop p50 {} p99 {} | pg step tx p50 {} p99 {}",
        ms(hop.pct(50.0)),
        ms(hop.pct(99.0)),
        ms(step.pct(50.0)),
        ms(step.pct(99.0))
    );

    let run = run_load(
        &http,
        &gateway,
        &tokens,
        &orchestrator,
        args.count,
        args.rate,
        Duration::from_secs(args.timeout_secs),
    )
    .await?;
    let latency = Samples::new(run.latencies.clone());
    let floor_p50 = hop.pct(50.0) * HOPS + step.pct(50.0) * TRANSACTIONS;
    let floor_p99 = hop.pct(99.0) * HOPS + step.pct(99.0) * TRANSACTIONS;
    println!(
        "checkouts: {} completed, {} other terminal, {} rejected, {} unfinished",
        run.completed, run.other_terminal, run.rejected, run.unfinished
    );
    println!(
        "throughput: {:.1} sagas/s sustained (offered {:.1}/s)",
        run.throughput, args.rate
    );
    println!(
        "end-to-end: p50 {} p95 {} p99 {} max {}",
        ms(latency.pct(50.0)),
        ms(latency.pct(95.0)),
        ms(latency.pct(99.0)),
        ms(latency.pct(100.0))
    );
    println!(
        "floor ({HOPS} hops + {TRANSACTIONS} transactions): p50 {} p99 {} => ratio p50 {:.2}x p99 {:.2}x",
        ms(floor_p50),
        ms(floor_p99),
        latency.pct(50.0).as_secs_f64() / floor_p50.as_secs_f64(),
        latency.pct(99.0).as_secs_f64() / floor_p99.as_secs_f64()
    );
    shutdown.cancel();
    while services.join_next().await.is_some() {}
    Ok(())
}

fn os() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".into())
}

/// The catalogue product every checkout buys.
const SKU: &str = "MUG-BLUE";

/// Waits until the gateway's catalogue read model has [`SKU`] (the catalogue
/// publishes its seed on `catalog.events`); a checkout of it is refused before.
async fn wait_for_product(http: &reqwest::Client, gateway: &str) -> anyhow::Result<()> {
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

async fn wait_ready(http: &reqwest::Client, gateway: &str) -> anyhow::Result<()> {
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

struct Run {
    latencies: Vec<Duration>,
    completed: usize,
    other_terminal: usize,
    rejected: usize,
    unfinished: usize,
    throughput: f64,
}

async fn run_load(
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
    while done.len() < ids.len() && Instant::now() < deadline {
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
    })
}
