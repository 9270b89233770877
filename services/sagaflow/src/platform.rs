//! Every service by name: migrate it and run it, alone or all in one process.
//! Each service keeps its own database (`sagaflow_<service>` on the server).

use anyhow::Context;
use sagaflow_bus::KafkaConfig;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

/// A Sagaflow service.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Gateway,
    Orchestrator,
    Inventory,
    Pricing,
    Payment,
    Order,
    Cart,
    Notification,
    Generation,
    Planner,
    Applications,
    Catalog,
}

impl Service {
    pub const ALL: [Service; 12] = [
        Service::Gateway,
        Service::Orchestrator,
        Service::Inventory,
        Service::Pricing,
        Service::Payment,
        Service::Order,
        Service::Cart,
        Service::Notification,
        Service::Generation,
        Service::Planner,
        Service::Applications,
        Service::Catalog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::Gateway => sagaflow_gateway::NAME,
            Service::Orchestrator => sagaflow_orchestrator::NAME,
            Service::Inventory => sagaflow_inventory::NAME,
            Service::Pricing => sagaflow_pricing::NAME,
            Service::Payment => sagaflow_payment::NAME,
            Service::Order => sagaflow_order::NAME,
            Service::Cart => sagaflow_cart::NAME,
            Service::Notification => sagaflow_notification::NAME,
            Service::Generation => sagaflow_generation::NAME,
            Service::Planner => sagaflow_planner::NAME,
            Service::Applications => sagaflow_applications::NAME,
            Service::Catalog => sagaflow_catalog::NAME,
        }
    }

    /// The service's database name on a shared server.
    pub fn database(self) -> String {
        format!("sagaflow_{}", self.name())
    }
}

/// Every service's settings (each reads its own keys).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Settings {
    #[command(flatten)]
    pub gateway: sagaflow_gateway::Settings,
    #[command(flatten)]
    pub orchestrator: sagaflow_orchestrator::Settings,
    #[command(flatten)]
    pub inventory: sagaflow_inventory::config::Settings,
    #[command(flatten)]
    pub pricing: sagaflow_pricing::config::Settings,
    #[command(flatten)]
    pub payment: sagaflow_payment::config::Settings,
    #[command(flatten)]
    pub order: sagaflow_order::config::Settings,
    #[command(flatten)]
    pub cart: sagaflow_cart::config::Settings,
    #[command(flatten)]
    pub notification: sagaflow_notification::config::Settings,
    #[command(flatten)]
    pub generation: sagaflow_generation::Settings,
    #[command(flatten)]
    pub planner: sagaflow_planner::Settings,
    #[command(flatten)]
    pub applications: sagaflow_applications::Settings,
    #[command(flatten)]
    pub catalog: sagaflow_catalog::Settings,
    /// The service-to-service and operator token secrets
    /// (`SAGAFLOW_INTERNAL_TOKEN_SECRET`, `SAGAFLOW_OPERATOR_JWT_SECRET`), read once
    /// and handed to the services that sign or verify them ([`run`]).
    #[command(flatten)]
    pub auth: sagaflow_service_auth::Settings,
    /// The process's broker probe (`sagaflow serve` runs it), handed to the
    /// services whose `/readyz` follows it (gateway, orchestrator) by [`run`].
    /// The default has never probed and counts as serving.
    #[arg(skip)]
    pub broker_health: sagaflow_bus::probe::BrokerHealth,
}

impl Settings {
    /// Hands what the process reads or runs once to the services that use it:
    /// the token secrets and the broker probe's health.
    fn hand_over(&mut self) {
        let auth = &self.auth;
        self.gateway.internal_token_secret = auth.internal_token_secret.clone();
        self.orchestrator.operator_jwt_secret = auth.operator_jwt_secret.clone();
        self.pricing.operator_jwt_secret = auth.operator_jwt_secret.clone();
        self.catalog.operator_jwt_secret = auth.operator_jwt_secret.clone();
        self.planner.internal_token_secret = auth.internal_token_secret.clone();
        self.applications.internal_token_secret = auth.internal_token_secret.clone();
        self.order.auth = auth.clone();
        self.cart.auth = auth.clone();
        self.notification.auth = auth.clone();
        self.generation.auth = auth.clone();
        self.gateway.broker_health = self.broker_health.clone();
        self.orchestrator.broker_health = self.broker_health.clone();
    }
}

/// Applies a service's migrations (and the messaging core's).
pub async fn migrate(service: Service, pool: &PgPool) -> anyhow::Result<()> {
    match service {
        Service::Gateway => sagaflow_gateway::migrate(pool).await,
        Service::Orchestrator => sagaflow_orchestrator::migrate(pool).await,
        Service::Inventory => sagaflow_inventory::migrate(pool).await,
        Service::Pricing => sagaflow_pricing::migrate(pool).await,
        Service::Payment => sagaflow_payment::migrate(pool).await,
        Service::Order => sagaflow_order::migrate(pool).await,
        Service::Cart => sagaflow_cart::migrate(pool).await,
        Service::Notification => sagaflow_notification::migrate(pool).await,
        Service::Generation => sagaflow_generation::migrate(pool).await,
        Service::Planner => sagaflow_planner::migrate(pool).await,
        Service::Applications => sagaflow_applications::migrate(pool).await,
        Service::Catalog => sagaflow_catalog::migrate(pool).await,
    }
    .with_context(|| format!("migrating {}", service.name()))
}

/// Runs one service until `shutdown`.
pub async fn run(
    service: Service,
    pool: PgPool,
    kafka: KafkaConfig,
    mut settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    settings.hand_over();
    match service {
        Service::Gateway => sagaflow_gateway::run(pool, kafka, settings.gateway, shutdown).await,
        Service::Orchestrator => {
            sagaflow_orchestrator::run(pool, kafka, settings.orchestrator, shutdown).await
        }
        Service::Inventory => {
            sagaflow_inventory::run(pool, kafka, settings.inventory, shutdown).await
        }
        Service::Pricing => sagaflow_pricing::run(pool, kafka, settings.pricing, shutdown).await,
        Service::Payment => sagaflow_payment::run(pool, kafka, settings.payment, shutdown).await,
        Service::Order => sagaflow_order::run(pool, kafka, settings.order, shutdown).await,
        Service::Cart => sagaflow_cart::run(pool, kafka, settings.cart, shutdown).await,
        Service::Notification => {
            sagaflow_notification::run(pool, kafka, settings.notification, shutdown).await
        }
        Service::Generation => {
            sagaflow_generation::run(pool, kafka, settings.generation, shutdown).await
        }
        Service::Planner => sagaflow_planner::run(pool, kafka, settings.planner, shutdown).await,
        Service::Applications => {
            sagaflow_applications::run(pool, kafka, settings.applications, shutdown).await
        }
        Service::Catalog => sagaflow_catalog::run(pool, kafka, settings.catalog, shutdown).await,
    }
    .with_context(|| format!("{} service", service.name()))
}

/// Connects a pool (durable commits are required: outbox, inbox and saga logs).
/// A server on this machine is reached without TLS unless the URL names an
/// `sslmode` ([`sagaflow_bus::postgres::connect_options`]).
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options = sagaflow_bus::postgres::connect_options(url)
        .with_context(|| "DATABASE_URL is not a PostgreSQL URL")?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    let sync: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&pool)
        .await?;
    anyhow::ensure!(
        sync != "off",
        "synchronous_commit is off on {}: the outbox, inbox and saga log need durable commits",
        redact(url)
    );
    Ok(pool)
}

/// The URL of `database` on the server of `server_url`; creates the database if
/// it does not exist. The URL carries the server URL's TLS mode, or `disable` for
/// a server on this machine whose URL names none.
pub async fn ensure_database(server_url: &str, database: &str) -> anyhow::Result<String> {
    let options = sagaflow_bus::postgres::connect_options(server_url)
        .with_context(|| "SAGAFLOW_PG_URL is not a PostgreSQL URL")?;
    let mut admin = PgConnection::connect_with(&options)
        .await
        .with_context(|| format!("connecting to {}", redact(server_url)))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let created = sqlx::query(&format!("CREATE DATABASE \"{database}\""))
            .execute(&mut admin)
            .await;
        if let Err(err) = created {
            // Another process may have created it meanwhile.
            let is_race =
                matches!(&err, sqlx::Error::Database(db) if db.code().as_deref() == Some("42P04"));
            if !is_race {
                return Err(err.into());
            }
        }
    }
    Ok(options.database(database).to_url_lossy().to_string())
}

/// A URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    match url.parse::<PgConnectOptions>() {
        Ok(options) => {
            let shown = options.to_url_lossy();
            let mut shown = shown.clone();
            if shown.password().is_some() {
                let _ = shown.set_password(Some("***"));
            }
            shown.to_string()
        }
        Err(_) => "<unparsable url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_and_the_orchestrator_read_the_process_broker_probe() {
        let mut settings = Settings::default();
        settings.hand_over();
        settings.broker_health.set(false);
        assert!(!settings.gateway.broker_health.is_serving());
        assert!(!settings.orchestrator.broker_health.is_serving());
        settings.broker_health.set(true);
        assert!(settings.gateway.broker_health.is_serving());
        assert!(settings.orchestrator.broker_health.is_serving());
    }
}
