//! # sagaflow-cart — shopping carts
//!
//! Carts belong to a user of a tenant and hold lines (SKU, quantity; no prices:
//! the catalogue prices an order). They are edited through library functions
//! ([`store`]) and the HTTP API ([`router`]), and the checkout saga takes out what
//! was bought: consumes `cart.commands` and replies on `cart.events`, `ClearCart` →
//! `CartCleared` (the lines bought only, once per saga; a missing cart is fine).
//! The planner adds lines with a step and its compensation: `AddCartItem` →
//! `CartItemAdded` | `CartItemAddFailed`, `RemoveCartItem` → `CartItemRemoved`, both
//! idempotent by saga id (a removal that comes first leaves a tombstone).
//! `UserErasureRequested` on `gateway.events` erases the user's carts in its tenant
//! ([`erasure`]); a late command for them is refused.
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `CART_*` environment).
//! - [`store`]: cart CRUD on PostgreSQL ([`store::put_item`], [`store::remove_item`],
//!   [`store::get_cart`], [`store::clear_bought`]), every query scoped by [`Owner`].
//! - [`http`]: the axum [`router`] (`GET /carts/{id}`, `PUT`/`DELETE
//!   /carts/{id}/items/{sku}`); the caller serves it.
//! - [`saga_items`]: lines added and taken back by sagas (`cart_saga_items`).
//! - [`handler`]: [`CartHandler`], the `cart.commands` handler.
//! - [`erasure`]: [`ErasureHandler`] (the `gateway.events` consumer), the erase and
//!   the guard against late commands.
//! - This file: [`NAME`], [`migrate`], [`run`].
//! - `migrations/`: the `carts`, `cart_items`, `cart_saga_items`, `cart_clears` and
//!   `cart_erasures` tables.

pub mod config;
pub mod erasure;
pub mod handler;
pub mod http;
pub mod saga_items;
pub mod store;

pub use config::Settings;
pub use erasure::ErasureHandler;
pub use handler::CartHandler;
pub use http::router;
pub use store::{Cart, CartError, CartItem, Owner};

use std::future::IntoFuture as _;

use anyhow::Context as _;
use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Consumer group and inbox consumer name.
pub const NAME: &str = "cart";
/// The topic this service consumes.
pub const COMMAND_TOPIC: &str = topics::CART_COMMANDS;

/// Applies the messaging tables and this service's own migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Runs the outbox relay, the command consumer and the erasure consumer until `shutdown` (the HTTP
/// [`router`] is served by the caller). The database must be migrated first.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let api = match settings.listen {
        Some(addr) => {
            let app = sagaflow_service_auth::internal::guard(
                router(pool.clone()),
                settings.auth.internal_verifier(NAME)?,
            );
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding CART_LISTEN={addr}"))?;
            Some((listener, app))
        }
        None => None,
    };
    let workers = usize::from(settings.workers);
    let consumer = InboxConsumer::new(
        NAME,
        &[COMMAND_TOPIC],
        pool.clone(),
        kafka.clone(),
        CartHandler::new(settings),
    )
    .with_workers(workers);
    let erasures = InboxConsumer::new(
        erasure::CONSUMER,
        &[topics::GATEWAY_EVENTS],
        pool,
        kafka,
        ErasureHandler,
    );
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    supervisor.participant(consumer)?;
    supervisor.add("erasure consumer", erasures.run(supervisor.token()));
    if let Some((listener, app)) = api {
        let stop = supervisor.token();
        supervisor.add(
            "HTTP API",
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .into_future(),
        );
    }
    Ok(supervisor.run().await?)
}
