//! # sagaflow-planner — the AI plan executor
//!
//! Turns a user's request ("Buy 2 of SKU-1", "write a cover letter for this job
//! and attach it to application …") into a plan of typed commands, validates it,
//! and runs it as a saga whose steps emit those commands on Kafka through the
//! planner's outbox. It never calls another service's API: it learns what
//! happened from events (replies, and `SagaFinished` for the checkouts and
//! generations it starts).
//!
//! ```text
//! POST /v1/assistant/intents {"text"}      (tenant, user from the gateway; Idempotency-Key)
//!   key:    claimed per (tenant, user, key); a retry gets the saved answer
//!   intent: LLM (within PLANNER_LLM_BUDGET_MS, else offline rules) -> typed Intent
//!   draft:  Intent + caller + catalogue (from catalog.events) + settings -> steps
//!   validate: closed set, Avro round trip, ownership, budgets with tax, policy
//!   one tx: plan row + audit log (+ planner.events) + plan saga start (+ 1st command)
//!           + the key's saved answer
//! relay ──> cart.commands / orchestrator.commands / applications.commands / notifications
//! follower <── cart.events, applications.events, notification.events (replies)
//!          <── orchestrator.events (child sagas' progress) -> next step or compensation
//!          <── catalog.events (products), gateway.events (erasure)
//! ```
//!
//! What the text can decide: which supported intent, and that intent's typed
//! fields. What it cannot: the command types (closed shapes), the tenant and user
//! (headers), the budget and policy (settings), prices (the catalogue). See
//! `intent::llm` for how a model's answer is read.
//!
//! ## Layout
//! - [`config`]: [`Settings`] (`PLANNER_*`), including the planner's LLM chain.
//! - [`caller`]: [`caller::Caller`], the caller's cart id and address.
//! - [`intent`]: the typed intent; [`intent::rules`] (offline parser),
//!   [`intent::llm`] (prompt, strict answer reading, [`intent::Interpreter`]).
//! - [`shapes`]: the closed set of plan shapes (saga definitions) and why.
//! - [`draft`]: intent → steps with payloads.
//! - [`catalog`]: the product read model (prices). [`ownership`]: who owns
//!   sagas and applications.
//! - [`validate`]: the checks a plan passes before anything runs; [`daily`]: the
//!   per-user daily money budget.
//! - [`store`]: the `plans` table. [`audit`]: the log and `planner.events`.
//! - [`idempotency`]: `Idempotency-Key` of `POST /v1/assistant/intents`.
//! - [`children`]: sagas a plan starts. [`execute`]: starting and advancing plan
//!   sagas. [`follower`]: the consumer. [`timers`]: the timer loop.
//!   [`sweep`]: plan expiry and pruning. [`erasure`]: erasing a user.
//! - [`view`]: what `GET /v1/assistant/plans/{id}` shows. [`api`]: the routes.
//! - [`error`]: the crate's [`Error`].
//! - `migrations/`: `plans`, `plan_log`, `plan_children`, `known_sagas`,
//!   `known_applications`, `catalog_products`, `assistant_carts`,
//!   `intent_requests`, `daily_spend`, `erasures` (plus the saga store's
//!   tables). Every table with user data has `tenant_id` and `user_id`.

pub mod api;
pub mod audit;
pub mod caller;
pub mod catalog;
pub mod children;
pub mod config;
pub mod daily;
pub mod draft;
pub mod erasure;
pub mod error;
pub mod execute;
pub mod follower;
pub mod idempotency;
pub mod intent;
pub mod ownership;
pub mod shapes;
pub mod store;
pub mod sweep;
pub mod timers;
pub mod validate;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use std::future::IntoFuture as _;

use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use api::{AppState, router};
pub use config::Settings;
pub use error::Error;
pub use follower::Follower;

/// Consumer group, inbox consumer name and database suffix.
pub const NAME: &str = "planner";

/// Applies the messaging tables, the saga store's tables and this service's own.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_saga_store::migrate(pool).await?;
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Builds the shared state: the LLM chain (a bad setting names its key) and the
/// plan definitions. Prices come from `catalog.events` ([`catalog`]).
pub async fn prepare(pool: PgPool, settings: Settings) -> anyhow::Result<AppState> {
    let interpreter = intent::Interpreter::new(
        settings.llm.chain()?,
        Duration::from_millis(settings.llm.budget_ms),
    );
    let definitions = Arc::new(shapes::definitions(shapes::Timing::new(
        settings.step_timeout_ms,
    )));
    Ok(AppState {
        pool,
        settings: Arc::new(settings),
        interpreter,
        definitions,
    })
}

/// Runs the outbox relay, the consumer, the timer loop and the sweep (expiry,
/// pruning) until `shutdown`.
pub async fn run_messaging(
    state: &AppState,
    kafka: KafkaConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    add_messaging(&mut supervisor, state, kafka)?;
    Ok(supervisor.run().await?)
}

/// Adds the outbox relay, the consumer, the timer loop and the sweep.
fn add_messaging(
    supervisor: &mut Supervisor<'_>,
    state: &AppState,
    kafka: KafkaConfig,
) -> anyhow::Result<()> {
    let stop = supervisor.token();
    let consumer = InboxConsumer::new(
        NAME,
        &follower::topics(),
        state.pool.clone(),
        kafka,
        Follower::new(state.definitions.clone()),
    )
    .with_workers(usize::from(state.settings.workers));
    supervisor.participant(consumer)?;
    supervisor.add_loop(
        "timer loop",
        timers::run(
            state.pool.clone(),
            state.definitions.clone(),
            Duration::from_millis(state.settings.timer_poll_ms),
            stop.clone(),
        ),
    );
    supervisor.add_loop(
        "sweep",
        sweep::run(state.pool.clone(), state.settings.clone(), stop),
    );
    Ok(())
}

/// Runs the service until `shutdown`: the HTTP API on `PLANNER_LISTEN` and the
/// messaging loops. Migrate first ([`migrate`]).
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listen = settings.listen;
    let verifier = sagaflow_service_auth::InternalVerifier::new(
        settings.internal_token_secret.as_ref(),
        NAME,
    )?;
    let state = prepare(pool, settings).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding PLANNER_LISTEN={listen}"))?;
    let app = sagaflow_service_auth::internal::guard(router(state.clone()), verifier);
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    supervisor.add(
        "HTTP API",
        axum::serve(listener, app)
            .with_graceful_shutdown(supervisor.token().cancelled_owned())
            .into_future(),
    );
    add_messaging(&mut supervisor, &state, kafka)?;
    Ok(supervisor.run().await?)
}
