//! # sagaflow-gateway — the BFF in front of the sagas and the backends
//!
//! Starts checkouts and document generations and answers how they are going from
//! its own read model; forwards the cart, assistant and tracker APIs to the
//! services that own them; serves the web page, the API's OpenAPI document and
//! the Kafka contracts' AsyncAPI document.
//!
//! - `POST /v1/checkouts` stores, in one PostgreSQL transaction, the idempotency
//!   row, the `checkouts` row and an outbox row carrying `InitiateCheckout`
//!   (topic `orchestrator.commands`, key and saga id = checkout id); the
//!   [`sagaflow_bus::Relay`] publishes it and the orchestrator starts the saga.
//! - `POST /v1/generations` does the same with a `generations` row and
//!   `InitiateGeneration` (saga id = generation id; the `generation` saga);
//!   `GET /v1/generations/{id}/stream` follows it as server-sent events and
//!   `DELETE /v1/generations/{id}` asks for its cancellation.
//! - `GET /v1/sagas` lists the caller's sagas (filters, pages);
//!   `GET /v1/sagas/{id}/stream` follows any of them as server-sent events,
//!   woken by the projection's `NOTIFY`, capped per user and in all, ended at
//!   their maximum lifetime and at shutdown ([`streams`]).
//! - The orchestrator publishes `SagaProgressed` on `orchestrator.events` for every
//!   saga log entry; the [`projection`] consumes them (inbox consumer [`NAME`]) into
//!   the gateway's own tables, which the `GET` routes read. It also reads
//!   `orchestrator.commands`: a checkout or generation another producer started
//!   (the planner, for the assistant) gets its row there too (`source =
//!   'assistant'`), so its owner sees it like one started here.
//! - `GET /v1/products`, `GET /v1/products/{sku}`: the catalogue, public (no
//!   token needed), from the gateway's read model of `catalog.events`
//!   ([`projection::catalog`]). `POST /v1/checkouts` takes no prices: lines are
//!   `{sku, quantity}` or the lines of a cart, checked against that read model.
//! - `/v1/carts/...` (cart service), `/v1/assistant/...` (planner) and
//!   `/v1/applications/...`, `/v1/tracker/...` (applications) are forwarded with
//!   the caller's verified identity ([`proxy`]).
//! - `GET /openapi.json`, `GET /docs`, `GET /` and `GET /app/{file}`; `GET
//!   /asyncapi.json`, the AsyncAPI document of the Kafka contracts
//!   ([`sagaflow_events::asyncapi`]).
//!
//! Every `/v1` route needs `Authorization: Bearer <JWT>` ([`auth`]: HS256, RS256
//! and/or an OpenID Connect provider's JWKS, claims `sub`, `tenant_id`, `exp`, `iss`, `aud`); [`run`] refuses to start
//! without a key. Requests are rate limited per address, per user and, for
//! generations, per user and hour ([`rate_limit`], in Redis when configured).
//! Every response carries the security headers; CORS is open to the configured
//! origins only ([`security`]).
//!
//! ## Layout
//!
//! - [`config`]: [`Settings`] (`GATEWAY_LISTEN`, `GATEWAY_IDEMPOTENCY_TTL_SECS`,
//!   `GATEWAY_MAX_BODY_BYTES`, `GATEWAY_JWT_*`, `GATEWAY_RATE_LIMIT_*`,
//!   `GATEWAY_REDIS_URL`, `GATEWAY_CORS_ORIGINS`, `GATEWAY_SSE_*`,
//!   `GATEWAY_HOUSEKEEPING_INTERVAL_SECS`, `GATEWAY_PRUNE_BATCH`,
//!   `GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS`, `GATEWAY_*_URL`).
//! - [`auth`]: token verification, the [`Caller`] extractor, [`mint_hs256`];
//!   [`jwks`]: an OpenID Connect provider's keys, cached and rotated.
//! - [`rate_limit`]: token buckets in process or in Redis (a Lua script).
//! - [`security`]: security headers, CORS, the URI limit, panics as 500 JSON.
//! - [`http_metrics`]: the `sagaflow_http_request_seconds` histogram.
//! - [`error`](mod@error): [`ApiError`] and its JSON form.
//! - [`routes`]: the route table ([`routes::table`]) and the handlers —
//!   `checkouts`, `products`, `generations`, `documents`, `history`, `me`,
//!   `sagas`, `health`, `web`, `asyncapi`; `cart_lines` (a cart's lines for a checkout);
//!   `progress` (the server-sent event streams), `proxied` (the forwarded
//!   routes); the request body validation in `checkout_request` and
//!   `generation_request`.
//! - [`proxy`]: forwarding to the backends.
//! - [`openapi`]: the OpenAPI document and the `/docs` page.
//! - [`idempotency`]: `Idempotency-Key` handling.
//! - [`streams`]: the open event streams: caps, wake-ups (`streams::listener`:
//!   the one `LISTEN` connection), lifetime and shutdown.
//! - [`housekeeping`]: prunes expired idempotency keys, orphan progress and old
//!   `erased_sagas` in bounded batches (which table is pruned by whom: the
//!   [`projection`] docs).
//! - [`projection`]: the `SagaProgressed` / `Initiate*` → read model handler
//!   (`projection::initiated`: the rows of sagas started elsewhere;
//!   `projection::catalog`: `ProductChanged` → `products`).
//! - [`request_id`]: the per-request id in logs, errors and `X-Request-Id`, and the
//!   its log span; [`trace`]: the request's OpenTelemetry span, named by route.
//! - `web/`: the web page's files, compiled in (`routes::web`).
//! - `migrations/`: `checkouts`, `idempotency_keys`, `saga_progress` (0001);
//!   `generations`, `generation_cancellations`, and `saga_progress` no longer tied
//!   to `checkouts` by a foreign key (0002); `source` (`gateway` | `assistant`) of
//!   `checkouts` and `generations` (0003); `products` (0004); `erased_sagas`
//!   (0005); `saga_progress.owned` and the indexes housekeeping prunes by
//!   (0006); `saga_progress.result_id`, the result a decision reported, and the
//!   `result_seq` of checkouts and generations (0007). The outbox and inbox
//!   tables come from `sagaflow-bus`.
//! - This file: [`AppState`], [`migrate`], [`router`], [`serve`], [`run`].

pub mod auth;
pub mod config;
pub mod error;
pub mod housekeeping;
pub mod http_metrics;
pub mod idempotency;
pub mod jwks;
pub mod openapi;
pub mod projection;
pub mod proxy;
pub mod rate_limit;
pub mod request_id;
pub mod routes;
pub mod security;
pub mod streams;
pub mod trace;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::{info, warn};

pub use auth::{Caller, mint_hs256};
pub use config::Settings;
pub use error::ApiError;
pub use projection::Projection;

/// The service name: the inbox consumer name and consumer group of the projection.
pub const NAME: &str = "gateway";

/// The longest [`serve`] waits, once shut down, for the requests in flight
/// (event streams end at once; this bounds a slow backend or client).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Settings,
    /// Checks bearer tokens.
    pub verifier: Arc<auth::Verifier>,
    /// The rate limit buckets.
    pub limiter: rate_limit::Limiter,
    /// The clients for the backends the gateway forwards to.
    pub http: proxy::Clients,
    /// Signs the internal token of each forwarded request (`None` without
    /// `SAGAFLOW_INTERNAL_TOKEN_SECRET`: [`run`] refuses that).
    pub signer: Option<sagaflow_service_auth::InternalSigner>,
    /// The open server-sent event streams (caps, wake-ups, shutdown).
    pub streams: streams::Streams,
}

impl AppState {
    /// The state for `settings`: reads the RS256 key file and connects to Redis
    /// when they are configured (an error names the setting). Having no key at
    /// all is allowed here (every token is refused); [`run`] refuses it.
    pub async fn new(pool: PgPool, settings: Settings) -> anyhow::Result<Self> {
        let verifier = auth::Verifier::from_settings(&settings)?;
        let limiter = rate_limit::Limiter::from_settings(&settings).await?;
        let signer = match &settings.internal_token_secret {
            None => None,
            secret => Some(sagaflow_service_auth::InternalSigner::new(secret.as_ref())?),
        };
        let streams =
            streams::Streams::new(pool.clone(), streams::Limits::from_settings(&settings));
        Ok(Self {
            signer,
            streams,
            pool,
            settings,
            verifier: Arc::new(verifier),
            limiter,
            http: proxy::clients(),
        })
    }
}

/// Applies the messaging core's tables and the gateway's own migrations.
/// [`run`] does not migrate: call this first (it is safe to repeat).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// The HTTP API: the routes of [`routes::table`] behind, from the outside in,
/// the request id, the latency histogram, the security headers, CORS, panic
/// catching, the body limit, the per-address rate limit, authentication and the
/// per-user rate limits.
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.max_body();
    let mut app = Router::new();
    for route in routes::table() {
        app = app.route(route.path, route.handler);
    }
    let mut app = app
        .route_layer(from_fn(trace::span))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn_with_state(
            state.limiter.clone(),
            rate_limit::per_user,
        ))
        .layer(from_fn_with_state(
            state.verifier.clone(),
            auth::authenticate,
        ))
        .layer(from_fn_with_state(
            state.limiter.clone(),
            rate_limit::per_ip,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(security::panic_response));
    if let Some(cors) = security::cors(&state.settings.cors_origins) {
        app = app.layer(cors);
    }
    app.layer(from_fn(security::headers))
        .layer(from_fn(http_metrics::record))
        .layer(from_fn(request_id::assign))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown`, then ends the open event
/// streams ([`streams::Streams::close`]) and finishes the requests in flight,
/// for at most [`SHUTDOWN_GRACE`]. Handlers see the peer address
/// (`ConnectInfo`) for the per-address rate limit.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let streams = state.streams.clone();
    let signal = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            info!(
                open_streams = streams.open_count(),
                "gateway shutting down; ending event streams"
            );
            streams.close();
        }
    };
    let server = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result,
        () = grace => {
            warn!(grace = ?SHUTDOWN_GRACE, "requests still in flight after the shutdown grace; leaving them");
            Ok(())
        }
    }
}

/// The whole gateway: binds `settings.listen` and runs the HTTP server, the outbox
/// relay, the projection's [`InboxConsumer`] (topics `orchestrator.events`
/// and `orchestrator.commands`), the catalogue's (`catalog.events`,
/// [`projection::catalog`]) and the [`housekeeping`] under one [`Supervisor`]
/// until `shutdown`. If one of them fails, the others are stopped and the first
/// error is returned. Refuses to start without a token key
/// (`GATEWAY_JWT_HS256_SECRET` / `GATEWAY_JWT_RS256_PUBLIC_KEY_FILE`) or without
/// `SAGAFLOW_INTERNAL_TOKEN_SECRET` (`settings.internal_token_secret`). Does not
/// migrate (see [`migrate`]).
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let state = AppState::new(pool.clone(), settings).await?;
    state.verifier.require_key()?;
    sagaflow_service_auth::InternalSigner::new(state.settings.internal_token_secret.as_ref())?;
    let listener = TcpListener::bind(state.settings.listen)
        .await
        .with_context(|| format!("binding GATEWAY_LISTEN={}", state.settings.listen))?;
    info!(addr = %listener.local_addr()?, "gateway listening");
    let consumer = InboxConsumer::new(
        NAME,
        &[
            sagaflow_events::topics::ORCHESTRATOR_EVENTS,
            sagaflow_events::topics::ORCHESTRATOR_COMMANDS,
        ],
        pool.clone(),
        kafka.clone(),
        Projection,
    );
    let catalog = InboxConsumer::new(
        projection::catalog::CONSUMER,
        &[sagaflow_events::topics::CATALOG_EVENTS],
        pool.clone(),
        kafka.clone(),
        projection::catalog::CatalogProjection,
    );
    let policy = housekeeping::Policy::from_settings(&state.settings);
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    let stop = supervisor.token();
    supervisor.add("http server", serve(listener, state, stop.clone()));
    // The relay and the projection consumer (the gateway's outbox is its
    // checkout commands; its "commands" are the orchestrator's events).
    supervisor.participant(consumer)?;
    supervisor.add("catalogue consumer", catalog.run(stop.clone()));
    supervisor.add("housekeeping", housekeeping::run(pool, policy, stop));
    Ok(supervisor.run().await?)
}
