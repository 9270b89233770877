//! # sagaflow-order — orders for the checkout saga
//!
//! Consumes `order.commands` and replies on `order.events`:
//! - `CreateOrder` → `OrderCreated` | `OrderCreationFailed`: invalid orders and
//!   orders whose total exceeds [`Settings::max_order_total_minor`] are refused with
//!   a reason.
//! - `CancelOrder` → `OrderCancelled` (status `cancelled`). A cancel for an unknown
//!   saga leaves a tombstone, so a late `CreateOrder` fails with [`handler::CANCELLED`].
//!
//! Both are idempotent by saga id: a repeated command gets the same reply.
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `ORDER_*` environment).
//! - [`handler`]: [`OrderHandler`], the `order.commands` handler.
//! - This file: [`NAME`], [`migrate`], [`run`], and [`order_for`].
//! - `migrations/`: the `orders` table.

pub mod config;
pub mod handler;

pub use config::Settings;
pub use handler::OrderHandler;

use sagaflow_bus::{InboxConsumer, KafkaConfig, Relay};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Consumer group and inbox consumer name.
pub const NAME: &str = "order";
/// The topic this service consumes.
pub const COMMAND_TOPIC: &str = topics::ORDER_COMMANDS;

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
        OrderHandler::new(settings),
    )
    .with_workers(workers);
    tokio::try_join!(relay.run(shutdown.clone()), consumer.run(shutdown))?;
    Ok(())
}

/// A saga's order record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Order {
    pub saga_id: Uuid,
    /// Set when the order was created.
    pub order_id: Option<Uuid>,
    pub customer_id: Option<String>,
    pub total_minor: Option<i64>,
    pub currency: Option<String>,
    /// `created`, `failed` or `cancelled`.
    pub status: String,
    pub reason: Option<String>,
}

/// The saga's order record, if any.
pub async fn order_for(pool: &PgPool, saga_id: Uuid) -> Result<Option<Order>, sqlx::Error> {
    sqlx::query_as(
        "SELECT saga_id, order_id, customer_id, total_minor, currency, status, reason FROM orders WHERE saga_id = $1",
    )
    .bind(saga_id)
    .fetch_optional(pool)
    .await
}
