//! # sagaflow-order — orders: the checkout saga's, and after-sale cancellations and refunds
//!
//! Consumes `order.commands` and replies on `order.events`:
//! - `CreateOrder` → `OrderCreated` | `OrderCreationFailed`: invalid orders and
//!   orders whose total exceeds [`Settings::max_order_total_minor`] are refused with
//!   a reason.
//! - `CancelOrder` → `OrderCancelled` (status `cancelled`). A cancel for an unknown
//!   saga leaves a tombstone, so a late `CreateOrder` fails with [`handler::CANCELLED`].
//!
//! An order belongs to the tenant of its `CreateOrder` envelope and to its
//! customer. After-sale sagas ([`aftersale`]) act on a placed order found by id
//! AND the command envelope's tenant AND the customer (anything else is "`order
//! <id> not found`"):
//! - `CancelPlacedOrder` → `PlacedOrderCancelled` | `OrderCancellationRefused`;
//!   compensation `ReinstateOrder` → `OrderReinstated`.
//! - `ReserveRefund` → `RefundReserved` | `RefundRefused` (priced from the order);
//!   compensation `ReleaseRefund` → `RefundReleased`; `ConfirmRefund` →
//!   `RefundConfirmed`.
//!
//! All are idempotent by saga id: a repeated command gets the same reply. The
//! read API ([`router`], [`http::operator_router`]) lists a customer's orders
//! with their refunds, and a tenant's for operators.
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `ORDER_*` environment).
//! - [`handler`]: [`OrderHandler`], the `order.commands` handler; `CreateOrder`
//!   and `CancelOrder` (the checkout saga) live there.
//! - [`aftersale`]: the after-sale commands: [`aftersale::cancel`] (cancel,
//!   reinstate), [`aftersale::refund`] (reserve, release, confirm),
//!   [`aftersale::pricing`] (pure refund arithmetic).
//! - [`read`]: the read API's queries; [`http`]: its axum routes (the caller
//!   serves them: `sagaflow serve order`, `ORDER_LISTEN`).
//! - [`housekeeping`]: prunes old refused and tombstone after-sale rows.
//! - This file: [`NAME`], [`migrate`], [`run`], and [`order_for`].
//! - `migrations/`: the `orders` table (`1_`), its tenant and the
//!   `order_aftersales` table (`2_aftersale.sql`).

pub mod aftersale;
pub mod config;
pub mod handler;
pub mod housekeeping;
pub mod http;
pub mod read;

pub use config::Settings;
pub use handler::OrderHandler;
pub use http::{operator_router, router};

use std::future::IntoFuture as _;

use anyhow::Context as _;
use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
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

/// Runs the outbox relay, the command consumer and the [`housekeeping`] until
/// `shutdown`. The database must be migrated ([`migrate`]) first. The read API
/// is served by the caller ([`router`]).
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // The customer routes behind the gateway's internal token; the operator
    // routes beside them, with operator tokens.
    let api = match settings.listen {
        Some(addr) => {
            let app = sagaflow_service_auth::internal::guard(
                router(pool.clone()),
                settings.auth.internal_verifier(NAME)?,
            )
            .merge(operator_router(
                pool.clone(),
                settings.auth.operator_verifier()?,
            ));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding ORDER_LISTEN={addr}"))?;
            Some((listener, app))
        }
        None => None,
    };
    let workers = usize::from(settings.workers);
    let consumer = InboxConsumer::new(
        NAME,
        &[COMMAND_TOPIC],
        pool.clone(),
        kafka,
        OrderHandler::new(settings),
    )
    .with_workers(workers);
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    supervisor.participant(consumer)?;
    if let Some((listener, app)) = api {
        let stop = supervisor.token();
        supervisor.add(
            "read API",
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .into_future(),
        );
    }
    let stop = supervisor.token();
    supervisor.add_loop("housekeeping", housekeeping::run(pool, stop));
    Ok(supervisor.run().await?)
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
