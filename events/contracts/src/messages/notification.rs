//! Notifications (`notifications` / `notification.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Channel, uuid_serde};

/// Send one notification; `notification_id` is the idempotency key. Topic: `notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendNotification {
    /// Idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub notification_id: Uuid,
    #[serde(with = "uuid_serde::opt_id", default)]
    pub saga_id: Option<Uuid>,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// The recipient's user (with the envelope's tenant), so their erasure can
    /// blank the recipient; `None` for notifications to no user.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// The notification was handed to its channel. Topic: `notification.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSent {
    #[serde(with = "uuid_serde::id")]
    pub notification_id: Uuid,
    #[serde(with = "uuid_serde::opt_id", default)]
    pub saga_id: Option<Uuid>,
    pub channel: Channel,
}

/// The notification could not be sent. Topic: `notification.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationFailed {
    #[serde(with = "uuid_serde::id")]
    pub notification_id: Uuid,
    #[serde(with = "uuid_serde::opt_id", default)]
    pub saga_id: Option<Uuid>,
    pub reason: String,
}
