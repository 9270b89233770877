//! # sagaflow-pricing — order pricing for the checkout saga
//!
//! Consumes `pricing.commands` and replies on `pricing.events`:
//! `PriceOrder` → `OrderPriced` (subtotal, discount, tax, total in minor units) |
//! `OrderPricingFailed` (unknown discount code, invalid items, overflow). The
//! arithmetic and its rounding are documented in [`price`]. The tax rate is
//! [`Settings::tax_basis_points`]; discounts come from the `discount_codes` table
//! ([`add_discount_code`]). Quotes are stored by saga id: a repeated `PriceOrder`
//! gets the same answer.
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `PRICING_*` environment).
//! - [`price`]: the pure integer arithmetic.
//! - [`handler`]: [`PricingHandler`], the `pricing.commands` handler.
//! - This file: [`NAME`], [`migrate`], [`run`], [`add_discount_code`].
//! - `migrations/`: the `discount_codes` and `quotes` tables.

pub mod config;
pub mod handler;
pub mod price;

pub use config::Settings;
pub use handler::PricingHandler;

use sagaflow_bus::{InboxConsumer, KafkaConfig, Relay};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Consumer group and inbox consumer name.
pub const NAME: &str = "pricing";
/// The topic this service consumes.
pub const COMMAND_TOPIC: &str = topics::PRICING_COMMANDS;

/// Applies the messaging tables and this service's own migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Runs the outbox relay and the command consumer until `shutdown`. The database
/// must be migrated ([`migrate`]) first.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let relay = Relay::new(pool.clone(), &kafka)?;
    let workers = usize::from(settings.workers);
    let consumer = InboxConsumer::new(
        NAME,
        &[COMMAND_TOPIC],
        pool,
        kafka,
        PricingHandler::new(settings),
    )
    .with_workers(workers);
    tokio::try_join!(relay.run(shutdown.clone()), consumer.run(shutdown))?;
    Ok(())
}

/// Adds (or changes) a discount code worth `percent_off` percent (0..=100; other
/// values are refused by the table's check constraint). Codes match exactly.
pub async fn add_discount_code(
    pool: &PgPool,
    code: &str,
    percent_off: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO discount_codes (code, percent_off) VALUES ($1, $2)
         ON CONFLICT (code) DO UPDATE SET percent_off = EXCLUDED.percent_off",
    )
    .bind(code)
    .bind(percent_off)
    .execute(pool)
    .await?;
    Ok(())
}
