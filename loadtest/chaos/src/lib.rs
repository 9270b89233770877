//! `sagaflow-chaos`: proves the platform survives faults. It runs checkouts through
//! the gateway while every service runs as its own process, two replicas of the
//! gateway, the orchestrator and each checkout participant, and meanwhile SIGKILLs
//! random processes (the broker too) and restarts them after 1–5 s, re-produces
//! already-consumed commands and replies (same message id), and sends poison
//! messages. After the load it waits for the sagas to end, then checks invariants
//! in every service's database and on the broker and prints them as a table; any
//! violation makes `sagaflow-chaos run` exit 1. `loadtest/chaos/README.md` is the
//! operator's guide (local and staging runs, flags, what each invariant means).
//!
//! # Layout
//! - [`config`]: the CLI (`run` and its flags, each with an environment key).
//! - [`run`] (this file): one run from start to report; the duration limit; teardown.
//! - [`platform`]: bringing a local platform up: the broker, databases, topics, one
//!   `sagaflow serve <service> --no-setup` process per replica, readiness, stock.
//! - [`databases`]: the run's databases (`<prefix>_<service>`), pools for the checks.
//! - [`sagaflow_cli`]: the `sagaflow` binary's one-shot commands (migrate, topics,
//!   stock, token) and where the binary is.
//! - [`process`]: one supervised process (log file, SIGKILL, restart, SIGTERM).
//! - [`fleet`]: every process of the run behind one shared handle.
//! - [`load`]: the client: carts and checkouts through the gateway, retried with
//!   the same idempotency key across gateway replicas.
//! - [`faults`]: the seeded fault schedule and its execution (kills, PostgreSQL
//!   restarts, staging kill commands).
//! - [`messages`]: duplicate and poison records on the broker; reading dead letters.
//! - [`settle`]: waiting for sagas to end and the plumbing to drain.
//! - [`invariants`]: the checks, one [`report::Row`] each.
//! - [`samples`]: soak mode's time series of table sizes and saga latency.
//! - [`report`]: the table, the summary and the JSON report.
//! - `main.rs`: parses the CLI, runs, prints, sets the exit code.

pub mod config;
pub mod databases;
pub mod error;
pub mod faults;
pub mod fleet;
pub mod invariants;
pub mod load;
pub mod messages;
pub mod platform;
pub mod process;
pub mod report;
pub mod sagaflow_cli;
pub mod samples;
pub mod settle;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

pub use config::RunArgs;
pub use error::{Error, Result};
pub use report::Report;

use crate::databases::Databases;
use crate::fleet::Fleet;
use crate::sagaflow_cli::Sagaflow;

/// The tenant of the run's users and poison messages.
pub const TENANT: &str = "chaos";

/// One chaos run: brings the platform up (unless `--no-spawn`), loads it with
/// faults, settles, checks the invariants, tears down. A violated invariant is in
/// the [`Report`]; an `Err` means the run itself could not be carried out (or hit
/// `--duration-limit`).
pub async fn run(mut args: RunArgs) -> Result<Report> {
    validate(&args)?;
    let _mock = if args.mock_broker && !args.no_spawn {
        let cluster = rdkafka::mocking::MockCluster::new(1)?;
        // The mock cluster has no CreateTopics handler: its own API creates them.
        for topic in sagaflow_events::topics::all() {
            for name in [
                topic.to_string(),
                sagaflow_events::topics::dead_letter(topic),
            ] {
                cluster.create_topic(&name, args.partitions, 1)?;
            }
        }
        args.kafka_bootstrap = Some(cluster.bootstrap_servers());
        args.no_topic_creation = true;
        Some(cluster)
    } else {
        None
    };
    let seed = args.seed.unwrap_or_else(rand::random);
    let short = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let run_id = format!("{}-{short}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    let run_dir = match &args.run_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()?.join(".data/chaos").join(&run_id),
    };
    std::fs::create_dir_all(run_dir.join("logs"))?;
    let spawn = !args.no_spawn;
    let prefix = args.db_prefix.clone().unwrap_or_else(|| {
        if spawn {
            format!("chaos_{short}")
        } else {
            "sagaflow".to_owned()
        }
    });
    let dbs = Databases::open(&args.pg_url, &prefix, spawn).await?;
    let fleet = Fleet::default();
    let started = Instant::now();
    let limit = Duration::from_secs(args.duration_limit_secs);
    let outcome = tokio::time::timeout(limit, body(&args, seed, &run_dir, &dbs, &fleet)).await;
    fleet.stop_all(Duration::from_secs(10)).await;
    let mut report = match outcome {
        Err(_) => return Err(Error::DurationLimit(args.duration_limit_secs)),
        Ok(result) => result?,
    };
    report.summary.elapsed_secs = started.elapsed().as_secs_f64();
    report.summary.run_dir = run_dir.display().to_string();
    if spawn {
        if report.violations() == 0 && !args.keep_databases {
            if let Err(err) = dbs.drop_all().await {
                report
                    .summary
                    .notes
                    .push(format!("dropping the run's databases: {err}"));
            }
        } else {
            report
                .summary
                .notes
                .push(format!("databases kept for inspection: {prefix}_<service>"));
        }
    }
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(run_dir.join("report.json"), &json)?;
    if let Some(path) = &args.json_report {
        std::fs::write(path, &json)?;
    }
    Ok(report)
}

fn validate(args: &RunArgs) -> Result<()> {
    let bad = |why: &str| Err(Error::Config(why.to_owned()));
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        return bad("--rate must be above 0");
    }
    if args.checkouts == 0 {
        return bad("--checkouts must be at least 1");
    }
    if args.restart_min_ms > args.restart_max_ms {
        return bad("--restart-min-ms is above --restart-max-ms");
    }
    if args.users == 0 || args.replicas == 0 {
        return bad("--users and --replicas must be at least 1");
    }
    if args.no_spawn && args.gateway.is_none() {
        return bad("--no-spawn needs --gateway");
    }
    if args.decline_percent > 100 {
        return bad("--decline-percent is at most 100");
    }
    faults::resolve_targets(&args.kill_targets)?;
    Ok(())
}

fn sagaflow_bin(args: &RunArgs) -> Result<Sagaflow> {
    let bin = args
        .sagaflow_bin
        .clone()
        .or_else(sagaflow_cli::default_binary)
        .unwrap_or_else(|| PathBuf::from("target/debug/sagaflow"));
    Sagaflow::new(bin)
}

async fn body(
    args: &RunArgs,
    seed: u64,
    run_dir: &std::path::Path,
    dbs: &Databases,
    fleet: &Fleet,
) -> Result<Report> {
    let mut notes = Vec::new();
    let (gateways, bootstrap, secret, sagaflow) = if args.no_spawn {
        let sagaflow = if args.token.is_none() {
            Some(sagaflow_bin(args)?)
        } else {
            None
        };
        (
            vec![args.gateway.clone().unwrap_or_default()],
            args.kafka_bootstrap.clone(),
            args.jwt_secret.clone(),
            sagaflow,
        )
    } else {
        let sagaflow = sagaflow_bin(args)?;
        let local = platform::start(args, run_dir, &sagaflow, dbs, fleet).await?;
        (
            local.gateways,
            Some(local.bootstrap),
            Some(local.jwt_secret),
            Some(sagaflow),
        )
    };
    let tokens = match (&args.token, &sagaflow, &secret) {
        (Some(token), _, _) => vec![token.clone()],
        (None, Some(sagaflow), Some(secret)) => {
            let mut tokens = Vec::new();
            for user in 0..args.users {
                tokens.push(
                    sagaflow
                        .token(secret, TENANT, &format!("chaos-{user}"))
                        .await?,
                );
            }
            tokens
        }
        _ => {
            return Err(Error::Config(
                "--no-spawn needs --token, or GATEWAY_JWT_HS256_SECRET to mint one".into(),
            ));
        }
    };
    let initial_stock: BTreeMap<String, i64> =
        sqlx::query_as::<_, (String, i32)>("SELECT sku, available FROM stock WHERE sku = ANY($1)")
            .bind(platform::SKUS.map(str::to_owned).to_vec())
            .fetch_all(dbs.pool("inventory"))
            .await?
            .into_iter()
            .map(|(sku, n)| (sku, i64::from(n)))
            .collect();
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);

    let client = load::Client::new(gateways, tokens)?;
    let injector = faults::Injector {
        fleet: fleet.clone(),
        spawned: !args.no_spawn,
        targets: faults::resolve_targets(&args.kill_targets)?
            .into_iter()
            .filter(|t| t != "broker" || (!args.no_spawn && args.kafka_bootstrap.is_none()))
            .collect(),
        bootstrap: bootstrap.clone(),
        kill_command: args.kill_command.clone(),
        pg_restart_command: args.pg_restart_command.clone(),
        restart_ms: (args.restart_min_ms, args.restart_max_ms),
        tenant: TENANT.to_owned(),
    };
    let load_span = Duration::from_secs_f64(args.checkouts as f64 / args.rate);
    let load_started = Instant::now();
    tracing::info!(
        checkouts = args.checkouts,
        rate = args.rate,
        seed,
        "load starts"
    );
    let (stop_sampling, sampling) = tokio::sync::oneshot::channel();
    let sampler = async {
        match args.sample_secs {
            0 => Vec::new(),
            secs => samples::run(dbs, Duration::from_secs(secs), sampling).await,
        }
    };
    let load = async {
        let outcome = load::run(
            &client,
            args.checkouts,
            args.rate,
            seed,
            args.decline_percent,
        )
        .await;
        let _ = stop_sampling.send(());
        outcome
    };
    let (outcome, injected, samples) = tokio::join!(
        load,
        injector.run(
            seed,
            load_started,
            load_span,
            args.kills,
            args.duplicates,
            args.poison
        ),
        sampler,
    );
    notes.extend(fleet.revive_exited().await);
    tracing::info!(accepted = outcome.accepted.len(), "load done; settling");

    let settle_started = Instant::now();
    let settle_deadline = settle_started + Duration::from_secs(args.settle_timeout_secs);
    let ids: Vec<uuid::Uuid> = outcome.accepted.iter().map(|a| a.checkout_id).collect();
    let settled = settle::sagas(dbs, &ids, settle_deadline).await?;
    if !settled {
        notes.push(format!(
            "not every saga ended within --settle-timeout ({} s)",
            args.settle_timeout_secs
        ));
    }
    settle::plumbing(
        dbs,
        bootstrap.as_deref(),
        settle_deadline.max(Instant::now() + Duration::from_secs(30)),
    )
    .await;
    let settled_secs = settle_started.elapsed().as_secs_f64();
    notes.extend(fleet.revive_exited().await);

    let statuses = invariants::saga_statuses(dbs, &ids).await?;
    let gateway_status = settle::gateway_statuses(&client, &outcome.accepted, &statuses).await;
    let dead_lettered = match &bootstrap {
        Some(b) if !injected.poison.is_empty() => {
            match messages::dead_lettered(b, &injected.poison, Duration::from_secs(15)).await {
                Ok(found) => Some(found),
                Err(err) => {
                    notes.push(format!("reading dead-letter topics: {err}"));
                    None
                }
            }
        }
        Some(_) => Some(Default::default()),
        None => None,
    };
    let lag = match &bootstrap {
        Some(b) => Some(match invariants::plumbing::lag(dbs, b).await {
            Ok(row) => row,
            Err(err) => {
                report::Row::skipped("consumer lag zero", format!("cannot read offsets: {err}"))
            }
        }),
        None => None,
    };
    let rows = invariants::check_all(invariants::Inputs {
        dbs,
        accepted: &outcome.accepted,
        gateway_status: &gateway_status,
        initial_stock: &initial_stock,
        poison: &injected.poison,
        dead_lettered: dead_lettered.as_ref(),
        lag,
        since,
    })
    .await?;

    notes.extend(injected.errors.iter().cloned());
    notes.extend(
        outcome
            .refused
            .iter()
            .take(5)
            .map(|r| format!("refused: {r}")),
    );
    notes.extend(
        outcome
            .gave_up
            .iter()
            .take(5)
            .map(|r| format!("gave up: {r}")),
    );
    let count = |s: &str| statuses.values().filter(|v| v.as_str() == s).count();
    let summary = report::Summary {
        seed,
        run_dir: String::new(),
        checkouts_requested: args.checkouts,
        accepted: outcome.accepted.len(),
        refused: outcome.refused.len(),
        gave_up: outcome.gave_up.len(),
        client_retries: outcome.retries,
        completed: count("completed"),
        compensated: count("compensated"),
        not_ended_well: outcome.accepted.len() - count("completed") - count("compensated"),
        kills_by_kind: injected.kills_by_kind(),
        kills_skipped: injected.kills_skipped.len(),
        pg_restarts: injected.pg_restarts,
        duplicates: injected.duplicates.len(),
        poison: injected.poison.len(),
        settled_secs,
        elapsed_secs: 0.0,
        notes,
    };
    Ok(Report {
        rows,
        summary,
        samples,
    })
}
