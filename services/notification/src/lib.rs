//! # sagaflow-notification — email, SMS and push notifications
//!
//! Consumes `notifications` and replies on `notification.events`:
//! `SendNotification` → `NotificationSent` | `NotificationFailed` (e.g. a blank
//! recipient). Sending is idempotent by `notification_id`: a duplicate is recorded
//! (and sent) once and answered `NotificationSent` again. A notification for a user
//! on a channel they turned off is skipped (recorded with its reason, [`skipped`])
//! and still answered `NotificationSent`, so the saga that asked completes (see
//! [`handler`]). Senders are simulated: what they send is recorded in
//! `sent_notifications` ([`sent`] reads it back).
//!
//! Two HTTP routers, both served by the caller (`sagaflow serve notification`) on
//! `NOTIFICATION_LISTEN`: [`api::router`] for users through the gateway, wrapped in
//! `internal::guard` (audience [`NAME`]): `GET|PUT /preferences`, `POST
//! /notifications/test`; and the unguarded [`router`] (`POST /send`, an operator
//! tool nothing calls today). Both use the same send path.
//!
//! ## Layout
//! - [`config`]: [`Settings`] (flags / `NOTIFICATION_*` environment).
//! - [`sender`]: [`Sender`] (Email, Sms, Push) and the shared [`sender::send`]
//!   (refusal, erasure suppression, preferences, then the record).
//! - [`preferences`]: per (tenant, user, channel) whether the user accepts it.
//! - [`api`]: the guarded [`api::router`] (preferences; its state and clock).
//! - [`test_notification`]: `POST /notifications/test` (recipient, idempotency,
//!   rate limit).
//! - [`http`]: the unguarded [`router`] (`POST /send`).
//! - [`error`]: [`error::ApiError`], the one HTTP error mapping of both routers.
//! - [`handler`]: [`NotificationHandler`], the `notifications` handler.
//! - [`erasure`]: the [`ErasureHandler`] (`UserErasureRequested` on `gateway.events`)
//!   blanks what was sent to an erased user, drops their preferences, and
//!   suppresses late notifications.
//! - This file: [`NAME`], [`migrate`], [`run`], [`sent`], [`skipped`].
//! - `migrations/`: `sent_notifications` (with the tenant and user it was for),
//!   `notification_erasures` (tombstones naming users by a hash),
//!   `notification_preferences`, `skipped_notifications` and `notification_tests`.

pub mod api;
pub mod config;
pub mod erasure;
pub mod error;
pub mod handler;
pub mod http;
pub mod preferences;
pub mod sender;
pub mod test_notification;

pub use config::Settings;
pub use erasure::ErasureHandler;
pub use handler::NotificationHandler;
pub use http::router;
pub use sender::Sender;

use std::future::IntoFuture as _;

use anyhow::Context as _;
use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Consumer group and inbox consumer name.
pub const NAME: &str = "notification";
/// The topic this service consumes.
pub const COMMAND_TOPIC: &str = topics::NOTIFICATIONS;

/// Applies the messaging tables and this service's own migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Runs the outbox relay and the command consumer until `shutdown` (the HTTP
/// [`router`] is served by the caller). The database must be migrated first.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // The users' routes (preferences, test notifications) behind the gateway's
    // internal token; `POST /send` beside them, unguarded (no identity, no
    // caller in the platform).
    let api = match settings.listen {
        Some(addr) => {
            let app = sagaflow_service_auth::internal::guard(
                api::router(pool.clone()),
                settings.auth.internal_verifier(NAME)?,
            )
            .merge(router(pool.clone()));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding NOTIFICATION_LISTEN={addr}"))?;
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
        NotificationHandler::new(settings),
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

/// A recorded notification.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SentNotification {
    pub notification_id: Uuid,
    /// `email`, `sms` or `push`.
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub saga_id: Option<Uuid>,
}

/// The recorded notification with this id, if it was sent.
pub async fn sent(
    pool: &PgPool,
    notification_id: Uuid,
) -> Result<Option<SentNotification>, sqlx::Error> {
    sqlx::query_as(
        "SELECT notification_id, channel, recipient, subject, body, saga_id FROM sent_notifications
         WHERE notification_id = $1",
    )
    .bind(notification_id)
    .fetch_optional(pool)
    .await
}

/// A notification skipped because its user turned its channel off.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SkippedNotification {
    pub notification_id: Uuid,
    pub channel: String,
    pub reason: String,
    pub saga_id: Option<Uuid>,
    pub tenant_id: String,
    pub user_id: Option<String>,
}

/// The skipped notification `notification_id`, if it was skipped.
pub async fn skipped(
    pool: &PgPool,
    notification_id: Uuid,
) -> Result<Option<SkippedNotification>, sqlx::Error> {
    sqlx::query_as(
        "SELECT notification_id, channel, reason, saga_id, tenant_id, user_id
         FROM skipped_notifications WHERE notification_id = $1",
    )
    .bind(notification_id)
    .fetch_optional(pool)
    .await
}
