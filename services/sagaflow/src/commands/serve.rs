//! `sagaflow serve <service|all>`.

use anyhow::{Context, bail};
use sagaflow_bus::KafkaConfig;
use sagaflow_bus::probe::BrokerHealth;
use tracing::info;

use crate::commands::{Database, shutdown_on_signal};
use crate::platform::{self, Service, Settings};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `all`, or one service.
    #[arg(value_parser = service_names())]
    pub service: String,
    #[command(flatten)]
    pub database: Database,
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub settings: Settings,
    /// Database connections per service.
    #[arg(long = "db-pool-size", env = "DB_POOL_SIZE", value_name = "DB_POOL_SIZE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=500))]
    pub pool_size: u32,
    /// Skip creating topics and applying migrations at start.
    #[arg(long = "no-setup", env = "SAGAFLOW_NO_SETUP")]
    pub no_setup: bool,
}

/// The names `serve` takes: `all` and every [`Service`], so `--help` lists them and
/// anything else is refused by the parser with the list.
fn service_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        std::iter::once("all").chain(Service::ALL.iter().map(|s| s.name())),
    )
}

fn services(name: &str) -> anyhow::Result<Vec<Service>> {
    if name == "all" {
        return Ok(Service::ALL.to_vec());
    }
    match <Service as clap::ValueEnum>::from_str(name, true) {
        Ok(service) => Ok(vec![service]),
        Err(_) => bail!(
            "unknown service `{name}`: use all, gateway, orchestrator, inventory, pricing, payment, order, cart, notification, generation, planner, applications or catalog"
        ),
    }
}

pub async fn run(mut args: Args) -> anyhow::Result<()> {
    let services = services(&args.service)?;
    if services.len() > 1 && args.database.database_url.is_some() {
        bail!(
            "DATABASE_URL names one database; `serve all` needs SAGAFLOW_PG_URL (a database per service)"
        );
    }
    if !args.no_setup {
        sagaflow_bus::admin::ensure_topics(&args.kafka, &sagaflow_bus::admin::platform_topics())
            .await
            .context("creating topics")?;
    }
    let shutdown = shutdown_on_signal();
    // One probe per process; the services' readiness reads its outcome.
    let broker_health = BrokerHealth::default();
    args.settings.broker_health = broker_health.clone();
    let mut tasks = tokio::task::JoinSet::new();
    for service in services {
        let url = args.database.url_for(service).await?;
        let pool = platform::connect(&url, args.pool_size).await?;
        if !args.no_setup {
            platform::migrate(service, &pool).await?;
        }
        info!(service = service.name(), "starting");
        let (kafka, settings, shutdown) =
            (args.kafka.clone(), args.settings.clone(), shutdown.clone());
        tasks.spawn(async move { platform::run(service, pool, kafka, settings, shutdown).await });
    }
    // The process's broker probe: the `sagaflow_broker_up` gauge and its alert,
    // and the gateway's and orchestrator's `/readyz` (503 while it fails).
    let probe = (args.kafka.clone(), shutdown.clone());
    tasks.spawn(async move {
        let every = std::time::Duration::from_secs(15);
        sagaflow_bus::probe::watch(probe.0, every, broker_health, probe.1).await;
        Ok(())
    });
    // One service failing stops the others: a half-running platform hides faults.
    while let Some(result) = tasks.join_next().await {
        let outcome = result.context("service task panicked").and_then(|r| r);
        if let Err(err) = outcome {
            shutdown.cancel();
            while tasks.join_next().await.is_some() {}
            return Err(err);
        }
    }
    Ok(())
}
