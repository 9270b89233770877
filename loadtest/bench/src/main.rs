//! `sagaflow-bench`: brings the whole platform up in this process on a chosen broker
//! (the in-process mock cluster, the local Nisshi broker as a process it starts, or an external cluster)
//! with a fresh database per service, measures the floor (one broker hop with the
//! physical minimum of client settings and one with the platform's own, one
//! Postgres step transaction), then drives checkouts through the gateway's HTTP API
//! at a fixed rate (open loop: requests go out on schedule whatever the latency;
//! each buys 1 × [`load::SKU`] of the catalogue's demo products, seeded by the catalogue
//! service, with no price: the pricing step takes it from the catalogue)
//! and reports sagas/s and end-to-end latency (request sent to saga completed in
//! the orchestrator's log) against `hops x hop + transactions x step`, where the
//! work went (commits, rows and WAL per saga; CPU of this process, PostgreSQL and
//! the broker), optionally as JSON (`--json`) and checked against a gate (`--gate`).
//!
//! `cargo run --release -p sagaflow-bench -- --broker mock --count 2000 --rate 200`
//!
//! # Layout
//! - `main.rs`: arguments and the run's phases (start, warm-up, floor, load, settle, idle).
//! - [`load`]: the open-loop load and waiting for the sagas' ends.
//! - [`floor`]: the broker hop (physical and platform settings) and the step transaction.
//! - [`probe`]: CPU and PostgreSQL counters read around the load; [`cpu`] parses
//!   `/proc/<pid>/stat`; [`work`] turns counters into figures per saga.
//! - [`report`]: the floors, ratios and printed / JSON report; [`gate`]: the bounds.
//! - [`stats`], percentiles.

// A command-line tool: it prints its report.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cpu;
mod floor;
mod gate;
mod load;
mod probe;
mod report;
mod stats;
mod work;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use sagaflow::platform::{self, Service, Settings};
use sagaflow_bus::KafkaConfig;
use sagaflow_test_support::free_port;
use sagaflow_test_support::{Broker, TestDb};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use gate::Gate;
use load::{SKU, run_load, wait_for_product, wait_ready};
use probe::Probe;
use report::{Floor, Pcts, Report};
use stats::Samples;
use work::Window;

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
    /// Seconds to wait after the load before reading PostgreSQL's counters (an idle
    /// backend flushes its statistics within 10 s).
    #[arg(long, default_value_t = 11)]
    settle_secs: u64,
    /// Seconds of idle platform after the settle, to measure the background (relay
    /// polls, timers) the net per-saga figures take out; 0 skips it.
    #[arg(long, default_value_t = 10)]
    idle_secs: u64,
    /// Keep the databases the run created (by default they are dropped at the end:
    /// hundreds of leftover databases slow the server down, see loadtest/README.md).
    #[arg(long)]
    keep_databases: bool,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Check the run against the bounds in this file (e.g. loadtest/bench/gate.json);
    /// exits non-zero naming each bound that failed.
    #[arg(long)]
    gate: Option<PathBuf>,
}

/// Simulated users; requests go round-robin, so each user stays far below the
/// gateway's per-user rate limit.
const USERS: usize = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Read the gate first: a bad gate file or a run it does not apply to fails now,
    // not after minutes of load.
    let gate = args
        .gate
        .as_ref()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the gate {}", path.display()))?;
            let gate =
                Gate::parse(&text).with_context(|| format!("the gate {}", path.display()))?;
            gate.check_run(&args.broker, args.rate, args.count)?;
            anyhow::Ok(gate)
        })
        .transpose()?;
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
    let (physical_topic, platform_topic) = (
        format!("{floor_topic}.physical"),
        format!("{floor_topic}.platform"),
    );
    topics.push(physical_topic.clone());
    topics.push(platform_topic.clone());
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    broker.create_topics(&refs, args.partitions).await?;
    let mut kafka = KafkaConfig::new(broker.bootstrap());
    kafka.fetch_wait_max_ms = args.fetch_wait_ms;
    kafka.linger_ms = args.linger_ms;

    let mut pools = HashMap::new();
    let mut databases = Vec::new();
    for service in Service::ALL {
        let db = TestDb::create(&format!("bench_{}", service.name())).await?;
        // Connected as the platform connects (no TLS on loopback, see
        // `sagaflow_bus::postgres`), not as the test kit does.
        let pool = platform::connect(&db.url, 10).await?;
        platform::migrate(service, &pool).await?;
        pools.insert(service.name(), pool);
        databases.push(db.name);
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
    let warm_ended = Instant::now();

    let pcts = |s: &Samples| Pcts {
        p50: s.pct(50.0),
        p99: s.pct(99.0),
    };
    let interval = Duration::from_millis(5);
    let physical_hop = floor::broker_hop(
        &floor::physical(&kafka),
        &physical_topic,
        args.floor_samples,
        interval,
    )
    .await?;
    let platform_hop = floor::broker_hop(
        &floor::platform(&kafka),
        &platform_topic,
        args.floor_samples,
        interval,
    )
    .await?;
    let step = floor::pg_step(&floor_db.pool, args.floor_samples).await?;
    let floor = Floor {
        physical_hop: pcts(&physical_hop),
        platform_hop: pcts(&platform_hop),
        step: pcts(&step),
    };

    let broker_pid = match &broker {
        Broker::Local(_) => cpu::child_with_arg(&format!("tcp://{}", broker.bootstrap())),
        _ => None,
    };
    let created: Vec<String> = databases
        .iter()
        .cloned()
        .chain([floor_db.name.clone()])
        .collect();
    let mut probe = Probe::connect(
        &sagaflow_test_support::pg::server_url(),
        databases,
        broker_pid,
    )
    .await?;
    // The warm-up's statistics must be flushed before the load's first reading.
    let settle = Duration::from_secs(args.settle_secs);
    tokio::time::sleep(settle.saturating_sub(warm_ended.elapsed())).await;
    let before = probe.counters().await?;
    let load_started = Instant::now();
    let mark = probe.mark().await?;
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
    let cpu = probe.cpu_since(&mark).await?;
    // Statistics lag: wait for idle backends to flush theirs, then measure the
    // idle background over a window of its own.
    tokio::time::sleep(settle).await;
    let after = probe.counters().await?;
    let load_window = Window {
        delta: after - before,
        secs: load_started.elapsed().as_secs_f64(),
    };
    let idle = if args.idle_secs > 0 {
        let idle_started = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
        let end = probe.counters().await?;
        Some(Window {
            delta: end - after,
            secs: idle_started.elapsed().as_secs_f64(),
        })
    } else {
        None
    };
    shutdown.cancel();
    while services.join_next().await.is_some() {}
    if !args.keep_databases {
        for pool in pools.values() {
            pool.close().await;
        }
        floor_db.pool.close().await;
        drop_databases(&created).await?;
    }

    let latency = Samples::new(run.latencies.clone());
    let report = Report {
        broker: broker.kind().into(),
        count: args.count,
        offered: args.rate,
        sustained: run.throughput,
        completed: run.completed,
        other_terminal: run.other_terminal,
        rejected: run.rejected,
        unfinished: run.unfinished,
        p50: latency.pct(50.0),
        p95: latency.pct(95.0),
        p99: latency.pct(99.0),
        max: latency.pct(100.0),
        floor,
        work: work::per_saga(load_window, run.queries, idle, run.completed),
        work_secs: load_window.secs,
        idle_secs: idle.map_or(0.0, |i| i.secs),
        bench_queries: run.queries,
        cpu,
    };
    report.print();
    let mut json = report.json();
    let failures = gate.as_ref().map(|g| g.evaluate(&report.measured()));
    if let (Some(path), Some(failures)) = (&args.gate, &failures) {
        json["gate"] = serde_json::json!({
            "file": path.display().to_string(),
            "passed": failures.is_empty(),
            "failures": failures.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("figures written to {}", path.display());
    }
    match failures {
        Some(failures) if !failures.is_empty() => {
            for failure in &failures {
                eprintln!("gate failed: {failure}");
            }
            eprintln!(
                "{} bound(s) of the gate {} failed",
                failures.len(),
                args.gate
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            );
            // Not an error of the bench (no backtrace): the run measured what it should.
            std::process::exit(1)
        }
        Some(_) => {
            println!("gate passed");
            Ok(())
        }
        None => Ok(()),
    }
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

/// Drops the databases this run created (`WITH (FORCE)`: a connection the platform
/// left open does not keep one alive).
async fn drop_databases(names: &[String]) -> anyhow::Result<()> {
    use sqlx::Connection;
    let url = sagaflow_test_support::pg::server_url();
    let mut admin = sqlx::PgConnection::connect(&url).await?;
    for name in names {
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("dropping {name}"))?;
    }
    admin.close().await?;
    Ok(())
}
