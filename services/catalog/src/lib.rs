//! # sagaflow-catalog — the product catalogue
//!
//! Products (SKU, name, description, active flag) and their unit price per
//! currency, in this service's own database (`sagaflow_catalog`). Operators
//! create and change them over HTTP ([`http`], operator token); every change
//! bumps the product's `version` and writes the whole product as
//! `ProductChanged` to the outbox in the same transaction; the relay publishes it
//! on `catalog.events`, keyed by SKU. Readers (pricing, the gateway's product
//! read model, the planner) keep the highest version per SKU. Customers read the
//! catalogue through the gateway, never this API.
//!
//! Stock is not part of the catalogue: the inventory service publishes
//! reservations, not stock levels, so there is nothing to keep from its events.
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `CATALOG_*` environment).
//! - [`product`]: request and response shapes, validation.
//! - [`store`]: PostgreSQL and the outbox write of each change.
//! - [`http`]: the operator API.
//! - [`seed`](mod@seed): the demo catalogue (`CATALOG_SEED_DEMO=true`).
//! - This file: [`NAME`], [`migrate`], [`run`].
//! - `migrations/`: `products`, `product_prices`.

pub mod config;
pub mod http;
pub mod product;
pub mod seed;
pub mod store;

pub use config::Settings;
pub use http::router;
pub use seed::seed;

use anyhow::Context;
use std::future::IntoFuture as _;

use sagaflow_bus::{KafkaConfig, Relay, Supervisor};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Service name and database suffix.
pub const NAME: &str = "catalog";

/// Applies the messaging tables and this service's own migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Runs the service until `shutdown`: seeds the demo catalogue when
/// `settings.seed_demo`, then serves the operator API on `settings.listen` and
/// relays the outbox. Migrate first ([`migrate`]); refuses to start without
/// `settings.operator_jwt_secret`.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let operators =
        sagaflow_service_auth::OperatorVerifier::new(settings.operator_jwt_secret.as_ref())
            .context("the catalog operator API")?;
    if settings.seed_demo {
        let created = seed(&pool).await.context("seeding the demo catalogue")?;
        tracing::info!(created, "demo catalogue seeded");
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding CATALOG_LISTEN={}", settings.listen))?;
    tracing::info!(listen = %settings.listen, "catalog operator API listening");
    let relay = Relay::new(pool.clone(), &kafka)?;
    let api = router(http::ApiState { pool, operators });
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    let stop = supervisor.token();
    supervisor.add(
        "operator API",
        axum::serve(listener, api)
            .with_graceful_shutdown(stop.clone().cancelled_owned())
            .into_future(),
    );
    supervisor.add("outbox relay", relay.run(stop));
    Ok(supervisor.run().await?)
}
