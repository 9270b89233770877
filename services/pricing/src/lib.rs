//! # sagaflow-pricing — server-side order pricing for the checkout saga
//!
//! Prices come only from the server. This service keeps a **price table** from
//! the catalogue's `ProductChanged` events (`catalog.events`; the highest version
//! per SKU wins, no synchronous call to the catalogue) and consumes
//! `pricing.commands`, replying on `pricing.events`:
//! `PriceOrder` (SKUs and quantities, currency, discount code, shipping country)
//! → `OrderPriced` (the priced lines, subtotal, discount, tax, total in minor
//! units) | `OrderPricingFailed` (unknown SKU, inactive product, no price in the
//! order's currency, unknown shipping country, unknown / inactive / expired
//! discount code, overflow; the reason names the SKU, country or code). The
//! arithmetic and its rounding are documented in [`price`]. Tax is looked up by
//! shipping country in the `tax_rates` table ([`tax`]); without a country,
//! [`Settings::default_country`] applies. Quotes are stored by saga id: a
//! repeated `PriceOrder` gets the same answer.
//!
//! Operators manage discount codes over HTTP ([`http`], operator token).
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `PRICING_*` environment).
//! - [`price`]: the pure integer arithmetic.
//! - [`catalog`]: the price table kept from `ProductChanged`.
//! - [`tax`]: rates by country. [`discounts`]: discount codes.
//! - [`handler`]: [`PricingHandler`], the consumer's handler.
//! - [`http`]: the operator API.
//! - This file: [`NAME`], [`migrate`], [`run`], [`add_discount_code`].
//! - `migrations/`: price table, tax rates, discount codes, quotes.

pub mod catalog;
pub mod config;
pub mod discounts;
pub mod handler;
pub mod http;
pub mod price;
pub mod tax;

pub use config::Settings;
pub use handler::PricingHandler;

use anyhow::Context;
use std::future::IntoFuture as _;

use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Consumer group and inbox consumer name.
pub const NAME: &str = "pricing";
/// The command topic this service consumes.
pub const COMMAND_TOPIC: &str = topics::PRICING_COMMANDS;
/// Every topic this service consumes: its commands and the catalogue's events.
pub const TOPICS: [&str; 2] = [topics::PRICING_COMMANDS, topics::CATALOG_EVENTS];

/// Applies the messaging tables and this service's own migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Runs the outbox relay, the consumer (commands and catalogue events) and the
/// operator API on `settings.listen` until `shutdown`. The database must be
/// migrated ([`migrate`]) first. Without `settings.operator_jwt_secret` the
/// operator API is not served at all (a warning names the key): pricing orders
/// never depends on it.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let api =
        match sagaflow_service_auth::OperatorVerifier::new(settings.operator_jwt_secret.as_ref()) {
            Ok(operators) => {
                let listener = tokio::net::TcpListener::bind(settings.listen)
                    .await
                    .with_context(|| format!("binding PRICING_LISTEN={}", settings.listen))?;
                tracing::info!(listen = %settings.listen, "pricing operator API listening");
                Some((
                    listener,
                    http::router(http::ApiState {
                        pool: pool.clone(),
                        operators,
                    }),
                ))
            }
            Err(err) => {
                tracing::warn!(%err, "the pricing operator API (discount codes) is not served");
                None
            }
        };
    let workers = usize::from(settings.workers);
    let consumer = InboxConsumer::new(NAME, &TOPICS, pool, kafka, PricingHandler::new(settings))
        .with_workers(workers);
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    supervisor.participant(consumer)?;
    if let Some((listener, router)) = api {
        let stop = supervisor.token();
        supervisor.add(
            "operator API",
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .into_future(),
        );
    }
    Ok(supervisor.run().await?)
}

/// Adds (or changes) an active, non-expiring discount code worth `percent_off`
/// percent (0..=100; other values are refused by the table's check constraint).
/// Operators use `PUT /discounts/{code}`; this is for tests and seeding.
pub async fn add_discount_code(
    pool: &PgPool,
    code: &str,
    percent_off: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO discount_codes (code, kind, percent_off, active) VALUES ($1, 'percent', $2, true)
         ON CONFLICT (code) DO UPDATE SET kind = 'percent', percent_off = EXCLUDED.percent_off,
             amount_minor = NULL, currency = NULL, active = true, expires_at = NULL, updated_at = now()",
    )
    .bind(code)
    .bind(percent_off)
    .execute(pool)
    .await?;
    Ok(())
}
