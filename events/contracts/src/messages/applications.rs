//! The job-application tracker (`applications.commands` / `applications.events`).
//!
//! `AttachDocumentToApplication` / `DetachDocumentFromApplication` are a step and its
//! compensation (used by the planner); `saga_id` is the idempotency key: a saga
//! instance id, or the sender's command id outside a saga. `ApplicationStatusChanged`
//! is published on every status change made through the tracker's API.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::uuid_serde;

/// An application was created (`from_status` = `None`) or moved to another status.
/// Topic: `applications.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationStatusChanged {
    #[serde(with = "uuid_serde::id")]
    pub application_id: Uuid,
    pub tenant_id: String,
    pub user_id: String,
    /// Previous status; `None` when the application was created.
    #[serde(default)]
    pub from_status: Option<String>,
    /// `saved`, `applied`, `interviewing`, `offer`, `accepted`, `rejected` or `withdrawn`.
    pub to_status: String,
    pub company: String,
    pub role: String,
    /// When the change committed, ms since the Unix epoch.
    pub changed_at_ms: i64,
}

/// Attach a generated document to a job application. Topic: `applications.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachDocumentToApplication {
    /// Saga instance id, or the sender's command id outside a saga; the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    /// Tenant of the application; `None` means the envelope's tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    pub user_id: String,
    #[serde(with = "uuid_serde::id")]
    pub application_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub generation_id: Uuid,
}

/// Compensation: undo the attachment made for `saga_id`; with no attachment, leave a
/// tombstone so a late attach is refused. Topic: `applications.commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetachDocumentFromApplication {
    /// Saga instance id, or the sender's command id outside a saga; the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    /// Tenant of the application; `None` means the envelope's tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    pub user_id: String,
    #[serde(with = "uuid_serde::id")]
    pub application_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub generation_id: Uuid,
    pub reason: String,
}

/// The generation is attached to the application. Topic: `applications.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentAttached {
    /// Saga instance id, or the sender's command id outside a saga; the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub application_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub generation_id: Uuid,
}

/// The generation could not be attached (unknown application, not the user's, or
/// detached first). Topic: `applications.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentAttachFailed {
    /// Saga instance id, or the sender's command id outside a saga; the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub application_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub generation_id: Uuid,
    pub reason: String,
}

/// The attachment made for `saga_id` is gone (or never happened and is now
/// refused). Topic: `applications.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentDetached {
    /// Saga instance id, or the sender's command id outside a saga; the idempotency key.
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub application_id: Uuid,
    #[serde(with = "uuid_serde::id")]
    pub generation_id: Uuid,
}
