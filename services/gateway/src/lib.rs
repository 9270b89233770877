//! # sagaflow-gateway — the BFF in front of the checkout and generation sagas
//!
//! Starts checkouts and document generations and answers how they are going,
//! without calling another service on a request:
//!
//! - `POST /v1/checkouts` stores, in one PostgreSQL transaction, the idempotency
//!   row, the `checkouts` row and an outbox row carrying `InitiateCheckout`
//!   (topic `orchestrator.commands`, key and saga id = checkout id); the
//!   [`Relay`] publishes it and the orchestrator starts the saga.
//! - `POST /v1/generations` does the same with a `generations` row and
//!   `InitiateGeneration` (saga id = generation id; the `generation` saga);
//!   `GET /v1/generations/{id}/stream` follows it as server-sent events and
//!   `DELETE /v1/generations/{id}` records a cancellation request.
//! - The orchestrator publishes `SagaProgressed` on `orchestrator.events` for every
//!   saga log entry; the [`projection`] consumes them (inbox consumer [`NAME`]) into
//!   the gateway's own tables, which the `GET` routes read.
//!
//! The caller is identified by `X-Tenant-Id` / `X-User-Id` for now (see
//! [`routes`]); JWT authentication comes later.
//!
//! ## Layout
//!
//! - [`config`]: [`Settings`] (`GATEWAY_LISTEN`, `GATEWAY_IDEMPOTENCY_TTL_SECS`,
//!   `GATEWAY_MAX_BODY_BYTES`).
//! - [`error`](mod@error): [`ApiError`] and its JSON form.
//! - [`routes`]: the handlers — `checkouts`, `generations`, `history`, `sagas`,
//!   `health`, and the request body validation in `checkout_request` and
//!   `generation_request`.
//! - [`idempotency`]: `Idempotency-Key` handling.
//! - [`projection`]: the `SagaProgressed` → read model handler.
//! - [`request_id`]: the per-request id in logs, errors and `X-Request-Id`.
//! - `migrations/`: `checkouts`, `idempotency_keys`, `saga_progress` (0001);
//!   `generations`, `generation_cancellations`, and `saga_progress` no longer tied
//!   to `checkouts` by a foreign key (0002). The outbox and inbox tables come from
//!   `sagaflow-bus`.
//! - This file: [`migrate`], [`router`], [`serve`], [`run`].

pub mod config;
pub mod error;
pub mod idempotency;
pub mod projection;
pub mod request_id;
pub mod routes;

use std::future::Future;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use sagaflow_bus::{InboxConsumer, KafkaConfig, Relay};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

pub use config::Settings;
pub use error::ApiError;
pub use projection::Projection;

/// The service name: the inbox consumer name and consumer group of the projection.
pub const NAME: &str = "gateway";

/// What every handler gets.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Settings,
}

/// Applies the messaging core's tables and the gateway's own migrations.
/// [`run`] does not migrate: call this first (it is safe to repeat).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// The HTTP API.
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.max_body();
    Router::new()
        .route("/v1/checkouts", post(routes::checkouts::create))
        .route("/v1/checkouts/{id}", get(routes::checkouts::get))
        .route("/v1/generations", post(routes::generations::create))
        .route(
            "/v1/generations/{id}",
            get(routes::generations::get).delete(routes::generations::cancel),
        )
        .route(
            "/v1/generations/{id}/stream",
            get(routes::generations::stream),
        )
        .route("/v1/history", get(routes::history::history))
        .route("/v1/me", axum::routing::delete(routes::me::erase))
        .route(
            "/v1/documents/{id}/{format}",
            get(routes::documents::download),
        )
        .route("/v1/sagas/{id}/events", get(routes::sagas::events))
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .fallback(|| async { ApiError::NotFound })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown`, then finishes the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// The whole gateway: binds `settings.listen` and runs the HTTP server, the outbox
/// [`Relay`] and the projection's [`InboxConsumer`] (topic `orchestrator.events`)
/// until `shutdown`. If one of them fails, the others are stopped and the first
/// error is returned. Does not migrate (see [`migrate`]).
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding GATEWAY_LISTEN={}", settings.listen))?;
    info!(addr = %listener.local_addr()?, "gateway listening");
    let relay = Relay::new(pool.clone(), &kafka).context("creating the outbox relay")?;
    let consumer = InboxConsumer::new(
        NAME,
        &[sagaflow_events::topics::ORCHESTRATOR_EVENTS],
        pool.clone(),
        kafka,
        Projection,
    );
    let stop = shutdown.child_token();
    let state = AppState { pool, settings };
    let (http, relay, consumer) = tokio::join!(
        supervise("http server", &stop, serve(listener, state, stop.clone())),
        supervise("outbox relay", &stop, relay.run(stop.clone())),
        supervise("projection consumer", &stop, consumer.run(stop.clone())),
    );
    http.and(relay).and(consumer)
}

/// Runs one component; when it fails, cancels `stop` so the others wind down.
async fn supervise<E>(
    name: &'static str,
    stop: &CancellationToken,
    component: impl Future<Output = Result<(), E>>,
) -> anyhow::Result<()>
where
    E: Into<anyhow::Error>,
{
    let result = component.await.map_err(Into::into);
    if let Err(err) = &result {
        error!(component = name, error = %err, "gateway component failed; stopping");
        stop.cancel();
    }
    result.with_context(|| name)
}
