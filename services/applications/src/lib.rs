//! # sagaflow-applications — the job-application tracker
//!
//! Applications and their interviews, per (tenant, user), in this service's own
//! database; analytics (counts by status, response rate, time to first
//! interview); an explainable, rules-based priority score from the user's
//! preferences; generated documents attached to an application.
//!
//! Messaging:
//! - every status change (and creation) writes `ApplicationStatusChanged` to the
//!   outbox in the transaction of the change; the relay publishes it on
//!   `applications.events`, keyed by application id;
//! - due reminders (follow-ups the user sets, one a day before each pending
//!   interview) become `SendNotification` (PUSH to the user) in the outbox, sent
//!   once, across restarts ([`scheduler`]);
//! - consumes `applications.commands`: `AttachDocumentToApplication` →
//!   `DocumentAttached` | `DocumentAttachFailed`, and its compensation
//!   `DetachDocumentFromApplication` → `DocumentDetached` (see [`handler`]).
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `APPLICATIONS_*` environment).
//! - [`status`]: the closed set of statuses and the allowed transitions.
//! - [`application`], [`interview`], [`preferences`]: records, request bodies and
//!   field limits; [`validate`]: the shared field checks.
//! - [`priority`]: the pure scoring rules; [`analytics`]: the pure analytics;
//!   [`reminder`]: reminders, their body and their message; [`next_actions`]: the
//!   pure next-actions list.
//! - [`scheduler`]: fires due reminders and prunes done ones.
//! - [`store`]: PostgreSQL, every query scoped by owner.
//! - [`http`]: the axum [`router`] (routes, identity headers, errors, shapes).
//! - [`handler`]: [`ApplicationsHandler`], the `applications.commands` handler.
//! - [`erasure`]: a user's erasure (the `gateway.events` consumer) and its tombstone.
//! - `text_enum` (private): closed sets spelled as text.
//! - This file: [`NAME`], [`migrate`], [`run`].
//! - `migrations/`: the tables.

pub mod analytics;
pub mod application;
pub mod config;
pub mod erasure;
pub mod handler;
pub mod http;
pub mod interview;
pub mod next_actions;
pub mod preferences;
pub mod priority;
pub mod reminder;
pub mod scheduler;
pub mod status;
pub mod store;
mod text_enum;
pub mod validate;

pub use config::Settings;
pub use handler::ApplicationsHandler;
pub use http::router;

use anyhow::Context;
use std::future::IntoFuture as _;

use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Consumer group, inbox consumer name and database suffix.
pub const NAME: &str = "applications";
/// The topic this service consumes.
pub const COMMAND_TOPIC: &str = topics::APPLICATIONS_COMMANDS;

/// Applies the messaging tables and this service's own migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Runs the service until `shutdown`: the HTTP API on `settings.listen`, the outbox
/// relay, the command consumer and the reminder scheduler. Migrate first ([`migrate`]).
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let verifier = sagaflow_service_auth::InternalVerifier::new(
        settings.internal_token_secret.as_ref(),
        NAME,
    )?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding APPLICATIONS_LISTEN={}", settings.listen))?;
    tracing::info!(listen = %settings.listen, "applications API listening");
    let (pool_for_erasure, kafka_for_erasure) = (pool.clone(), kafka.clone());
    let pool_for_reminders = pool.clone();
    let consumer = InboxConsumer::new(
        NAME,
        &[COMMAND_TOPIC],
        pool.clone(),
        kafka,
        ApplicationsHandler,
    )
    .with_workers(usize::from(settings.workers));
    let erasures = InboxConsumer::new(
        erasure::CONSUMER,
        &[topics::GATEWAY_EVENTS],
        pool_for_erasure,
        kafka_for_erasure,
        erasure::ErasureHandler,
    );
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    let stop = supervisor.token();
    supervisor.participant(consumer)?;
    supervisor.add(
        "HTTP server",
        axum::serve(
            listener,
            sagaflow_service_auth::internal::guard(router(pool), verifier),
        )
        .with_graceful_shutdown(stop.clone().cancelled_owned())
        .into_future(),
    );
    supervisor.add("erasure consumer", erasures.run(stop.clone()));
    supervisor.add_loop(
        "reminder scheduler",
        scheduler::run(
            pool_for_reminders,
            std::time::Duration::from_millis(settings.reminder_poll_ms),
            chrono::Duration::days(i64::from(settings.reminder_retention_days)),
            stop,
        ),
    );
    Ok(supervisor.run().await?)
}
