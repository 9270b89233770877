//! The saga orchestrator: runs saga definitions over Kafka.
//!
//! It consumes `orchestrator.commands` (`InitiateCheckout`, `InitiateGeneration`,
//! and the after-sale `InitiateOrderCancellation` and `InitiateRefund` start
//! sagas, `CancelSaga` aborts one of its own tenant's sagas)
//! and every participant's events topic through the inbox; each message is one
//! transaction that appends to the saga's log and writes the next commands to the
//! outbox (see `sagaflow-saga-store`). Timers live in the database; one that cannot
//! fire is parked and the others keep firing. Every definition version ever
//! shipped stays registered ([`shipped`]), so in-flight sagas finish on the version
//! they started with. Operators use the HTTP API in [`api`] (or `sagaflow saga ...`),
//! with an operator token.
//!
//! # Layout
//! - [`config`](mod@config): the orchestrator's [`Settings`].
//! - [`handler`]: consumed message -> saga input.
//! - [`erasure`]: a user's erasure redacts their saga log.
//! - [`timers`]: the durable timer loop, stuck-saga and parked-timer gauges.
//! - [`api`]: the operator API.

pub mod api;
pub mod config;
pub mod erasure;
pub mod handler;
pub mod timers;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use std::future::IntoFuture as _;

use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sagaflow_saga_engine::Definition;
use sagaflow_saga_store::Definitions;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use config::Settings;
pub use handler::SagaHandler;

pub const NAME: &str = "orchestrator";

/// Every definition version this orchestrator ships: each saga's `VERSIONS`,
/// so a saga always finishes on the version it started with (new sagas start on
/// the newest). With `settings.step_timeout_ms`, every step's timeout is
/// overridden.
pub fn shipped(settings: &Settings) -> Vec<Definition> {
    let step_timeout = settings.step_timeout_ms.map(Duration::from_millis);
    [
        sagaflow_saga_checkout::VERSIONS,
        sagaflow_saga_generation::VERSIONS,
        sagaflow_saga_aftersale::CANCELLATION_VERSIONS,
        sagaflow_saga_aftersale::REFUND_VERSIONS,
    ]
    .iter()
    .flat_map(|versions| versions.build(step_timeout))
    .collect()
}

/// The definitions this orchestrator runs: every [`shipped`] version. [`run`]
/// registers them with [`Definitions::try_new`], which refuses duplicates.
pub fn definitions(settings: &Settings) -> Definitions {
    Definitions::new(shipped(settings))
}

/// `orchestrator.commands` plus the topic of every reply the definitions wait for.
pub fn topics(definitions: &Definitions) -> Vec<String> {
    let mut topics = BTreeSet::from([sagaflow_events::topics::ORCHESTRATOR_COMMANDS.to_owned()]);
    for def in definitions.iter() {
        for step in &def.steps {
            let mut replies: Vec<&str> = step
                .completes_on
                .iter()
                .chain(step.fails_on.iter())
                .copied()
                .collect();
            if let sagaflow_saga_engine::Compensation::Command { completes_on, .. } =
                &step.compensation
            {
                replies.extend(completes_on.iter().copied());
            }
            topics.extend(
                replies
                    .into_iter()
                    .filter_map(sagaflow_events::topic_of)
                    .map(str::to_owned),
            );
        }
    }
    topics.into_iter().collect()
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_saga_store::migrate(pool).await
}

/// Runs the relay, the consumer, the timer loop and the operator API until
/// `shutdown`, with every [`shipped`] definition version (see [`run_with`]).
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let shipped = shipped(&settings);
    run_with(pool, kafka, settings, shipped, shutdown).await
}

/// [`run`] with the given definitions. Refuses to start if two of them share a
/// name and version, or without `settings.operator_jwt_secret`
/// (`SAGAFLOW_OPERATOR_JWT_SECRET`, at least 32 bytes).
pub async fn run_with(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    definitions: Vec<Definition>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let definitions =
        Arc::new(Definitions::try_new(definitions).context("registering saga definitions")?);
    let operators =
        sagaflow_service_auth::OperatorVerifier::new(settings.operator_jwt_secret.as_ref())
            .context("the operator API")?;
    let topics = topics(&definitions);
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    let erasures = erasure::consumer(pool.clone(), kafka.clone());
    let consumer = InboxConsumer::new(
        NAME,
        &topic_refs,
        pool.clone(),
        kafka,
        SagaHandler::new(definitions.clone()),
    )
    .with_workers(settings.workers as usize);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding the operator API on {}", settings.listen))?;
    let app = api::router(
        api::ApiState::new(pool.clone(), definitions.clone(), operators)
            .with_broker_health(settings.broker_health.clone()),
    );
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    let stop = supervisor.token();
    supervisor.participant(consumer)?;
    supervisor.add("erasure consumer", erasures.run(stop.clone()));
    supervisor.add_loop(
        "timer loop",
        timers::run(
            pool,
            definitions,
            Duration::from_millis(settings.timer_poll_ms),
            stop.clone(),
        ),
    );
    supervisor.add(
        "operator API",
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .into_future(),
    );
    Ok(supervisor.run().await?)
}
