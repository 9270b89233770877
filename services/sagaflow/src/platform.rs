//! Every service by name: migrate it and run it, alone or all in one process.
//! Each service keeps its own database (`sagaflow_<service>` on the server).

use std::net::SocketAddr;

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
    /// Address of the cart service's HTTP API.
    #[arg(
        long = "cart-listen",
        env = "CART_LISTEN",
        value_name = "CART_LISTEN",
        default_value = "127.0.0.1:8083"
    )]
    pub cart_listen: Option<SocketAddr>,
    /// Address of the order service's read API (`GET /orders`, `GET
    /// /orders/{id}` behind the gateway's internal token; `GET /operator/orders`
    /// with an operator token).
    #[arg(
        long = "order-listen",
        env = "ORDER_LISTEN",
        value_name = "ORDER_LISTEN",
        default_value = "127.0.0.1:8082"
    )]
    pub order_listen: Option<SocketAddr>,
    /// Address of the notification service's HTTP API (`GET|PUT /preferences`,
    /// `POST /notifications/test` behind the gateway's internal token; `POST
    /// /send` unguarded).
    #[arg(
        long = "notification-listen",
        env = "NOTIFICATION_LISTEN",
        value_name = "NOTIFICATION_LISTEN",
        default_value = "127.0.0.1:8084"
    )]
    pub notification_listen: Option<SocketAddr>,
    /// Address of the generation service's HTTP API (documents, history).
    #[arg(
        long = "generation-listen",
        env = "GENERATION_LISTEN",
        value_name = "GENERATION_LISTEN",
        default_value = "127.0.0.1:8085"
    )]
    pub generation_listen: Option<SocketAddr>,
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

async fn serve_router(
    addr: SocketAddr,
    router: axum::Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
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
    let auth = settings.auth.clone();
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
        Service::Order => {
            let http = async {
                match settings.order_listen {
                    Some(addr) => {
                        // The customer routes behind the gateway's internal token;
                        // the operator routes beside them, with operator tokens.
                        let app = sagaflow_service_auth::internal::guard(
                            sagaflow_order::router(pool.clone()),
                            auth.internal_verifier(sagaflow_order::NAME)?,
                        )
                        .merge(sagaflow_order::operator_router(
                            pool.clone(),
                            auth.operator_verifier()?,
                        ));
                        serve_router(addr, app, shutdown.clone()).await
                    }
                    None => Ok(()),
                }
            };
            tokio::try_join!(
                sagaflow_order::run(pool.clone(), kafka, settings.order, shutdown.clone()),
                http
            )?;
            Ok(())
        }
        Service::Cart => {
            let http = async {
                match settings.cart_listen {
                    Some(addr) => {
                        let app = sagaflow_service_auth::internal::guard(
                            sagaflow_cart::router(pool.clone()),
                            auth.internal_verifier(sagaflow_cart::NAME)?,
                        );
                        serve_router(addr, app, shutdown.clone()).await
                    }
                    None => Ok(()),
                }
            };
            tokio::try_join!(
                sagaflow_cart::run(pool.clone(), kafka, settings.cart, shutdown.clone()),
                http
            )?;
            Ok(())
        }
        Service::Notification => {
            let http = async {
                match settings.notification_listen {
                    Some(addr) => {
                        // The users' routes (preferences, test notifications) behind
                        // the gateway's internal token; `POST /send` beside them,
                        // unguarded as before (no identity, no caller in the platform).
                        let app = sagaflow_service_auth::internal::guard(
                            sagaflow_notification::api::router(pool.clone()),
                            auth.internal_verifier(sagaflow_notification::NAME)?,
                        )
                        .merge(sagaflow_notification::router(pool.clone()));
                        serve_router(addr, app, shutdown.clone()).await
                    }
                    None => Ok(()),
                }
            };
            tokio::try_join!(
                sagaflow_notification::run(
                    pool.clone(),
                    kafka,
                    settings.notification,
                    shutdown.clone()
                ),
                http
            )?;
            Ok(())
        }
        Service::Generation => {
            let http = async {
                match settings.generation_listen {
                    Some(addr) => {
                        let app = sagaflow_service_auth::internal::guard(
                            sagaflow_generation::router(pool.clone()),
                            auth.internal_verifier(sagaflow_generation::NAME)?,
                        );
                        serve_router(addr, app, shutdown.clone()).await
                    }
                    None => Ok(()),
                }
            };
            tokio::try_join!(
                sagaflow_generation::run(
                    pool.clone(),
                    kafka,
                    settings.generation,
                    shutdown.clone()
                ),
                http
            )?;
            Ok(())
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
