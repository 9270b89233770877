//! # sagaflow-gateway — the BFF in front of the sagas and the backends
//!
//! Starts checkouts and document generations and answers how they are going from
//! its own read model; forwards the cart, assistant and tracker APIs to the
//! services that own them; serves the web page and the API's OpenAPI document.
//!
//! - `POST /v1/checkouts` stores, in one PostgreSQL transaction, the idempotency
//!   row, the `checkouts` row and an outbox row carrying `InitiateCheckout`
//!   (topic `orchestrator.commands`, key and saga id = checkout id); the
//!   [`Relay`] publishes it and the orchestrator starts the saga.
//! - `POST /v1/generations` does the same with a `generations` row and
//!   `InitiateGeneration` (saga id = generation id; the `generation` saga);
//!   `GET /v1/generations/{id}/stream` follows it as server-sent events and
//!   `DELETE /v1/generations/{id}` asks for its cancellation.
//! - `GET /v1/sagas` lists the caller's sagas (filters, pages);
//!   `GET /v1/sagas/{id}/stream` follows any of them as server-sent events.
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
//! - `GET /openapi.json`, `GET /docs`, `GET /` and `GET /app/{file}`.
//!
//! Every `/v1` route needs `Authorization: Bearer <JWT>` ([`auth`]: HS256 and/or
//! RS256, claims `sub`, `tenant_id`, `exp`, `iss`, `aud`); [`run`] refuses to start
//! without a key. Requests are rate limited per address, per user and, for
//! generations, per user and hour ([`rate_limit`], in Redis when configured).
//! Every response carries the security headers; CORS is open to the configured
//! origins only ([`security`]).
//!
//! ## Layout
//!
//! - [`config`]: [`Settings`] (`GATEWAY_LISTEN`, `GATEWAY_IDEMPOTENCY_TTL_SECS`,
//!   `GATEWAY_MAX_BODY_BYTES`, `GATEWAY_JWT_*`, `GATEWAY_RATE_LIMIT_*`,
//!   `GATEWAY_REDIS_URL`, `GATEWAY_CORS_ORIGINS`, `GATEWAY_*_URL`).
//! - [`auth`]: token verification, the [`Caller`] extractor, [`mint_hs256`].
//! - [`rate_limit`]: token buckets in process or in Redis (a Lua script).
//! - [`security`]: security headers, CORS, the URI limit, panics as 500 JSON.
//! - [`http_metrics`]: the `sagaflow_http_request_seconds` histogram.
//! - [`error`](mod@error): [`ApiError`] and its JSON form.
//! - [`routes`]: the route table ([`routes::table`]) and the handlers —
//!   `checkouts`, `products`, `generations`, `documents`, `history`, `me`,
//!   `sagas`, `health`, `web`; `cart_lines` (a cart's lines for a checkout);
//!   `progress` (the server-sent event streams), `proxied` (the forwarded
//!   routes); the request body validation in `checkout_request` and
//!   `generation_request`.
//! - [`proxy`]: forwarding to the backends.
//! - [`openapi`]: the OpenAPI document and the `/docs` page.
//! - [`idempotency`]: `Idempotency-Key` handling.
//! - [`projection`]: the `SagaProgressed` / `Initiate*` → read model handler
//!   (`projection::initiated`: the rows of sagas started elsewhere;
//!   `projection::catalog`: `ProductChanged` → `products`).
//! - [`request_id`]: the per-request id in logs, errors and `X-Request-Id`, and the
//!   its log span; [`trace`]: the request's OpenTelemetry span, named by route.
//! - `web/`: the web page's files, compiled in (`routes::web`).
//! - `migrations/`: `checkouts`, `idempotency_keys`, `saga_progress` (0001);
//!   `generations`, `generation_cancellations`, and `saga_progress` no longer tied
//!   to `checkouts` by a foreign key (0002); `source` (`gateway` | `assistant`) of
//!   `checkouts` and `generations` (0003); `products` (0004). The outbox and
//!   inbox tables come from `sagaflow-bus`.
//! - This file: [`AppState`], [`migrate`], [`router`], [`serve`], [`run`].

pub mod auth;
pub mod config;
pub mod error;
pub mod http_metrics;
pub mod idempotency;
pub mod openapi;
pub mod projection;
pub mod proxy;
pub mod rate_limit;
pub mod request_id;
pub mod routes;
pub mod security;
pub mod trace;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use sagaflow_bus::{InboxConsumer, KafkaConfig, Relay};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::{error, info};

pub use auth::{Caller, mint_hs256};
pub use config::Settings;
pub use error::ApiError;
pub use projection::Projection;

/// The service name: the inbox consumer name and consumer group of the projection.
pub const NAME: &str = "gateway";

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
        Ok(Self {
            signer,
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

/// Serves [`router`] on `listener` until `shutdown`, then finishes the requests in
/// flight. Handlers see the peer address (`ConnectInfo`) for the per-address
/// rate limit.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
}

/// The whole gateway: binds `settings.listen` and runs the HTTP server, the outbox
/// [`Relay`], the projection's [`InboxConsumer`] (topics `orchestrator.events`
/// and `orchestrator.commands`) and the catalogue's (`catalog.events`,
/// [`projection::catalog`]) until `shutdown`. If one of them fails, the others
/// are stopped and the first
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
    let relay = Relay::new(pool.clone(), &kafka).context("creating the outbox relay")?;
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
    let stop = shutdown.child_token();
    let (http, relay, consumer, catalog) = tokio::join!(
        supervise("http server", &stop, serve(listener, state, stop.clone())),
        supervise("outbox relay", &stop, relay.run(stop.clone())),
        supervise("projection consumer", &stop, consumer.run(stop.clone())),
        supervise("catalogue consumer", &stop, catalog.run(stop.clone())),
    );
    http.and(relay).and(consumer).and(catalog)
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
