//! PostgreSQL access, one file per table group. Every query is scoped by the
//! [`Owner`] (tenant and user): another owner's rows are "not found".
//!
//! - [`applications`]: create / get / list / update / delete; a status change writes
//!   its `status_changes` row and its `ApplicationStatusChanged` outbox message in
//!   the same transaction as the update.
//! - [`interviews`]: interviews of an owned application.
//! - [`preferences`]: one row per owner.
//! - [`reminders`]: follow-up and interview reminders, fired by the scheduler.
//! - [`documents`]: generations attached to an application.
//! - [`analytics`]: the facts [`crate::analytics::compute`] needs.

pub mod analytics;
pub mod applications;
pub mod documents;
pub mod interviews;
pub mod preferences;
pub mod reminders;

use crate::status::InvalidTransition;
use crate::validate::FieldError;

/// Whose rows: the caller named by the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub tenant_id: String,
    pub user_id: String,
}

/// Where an event written by a request comes from: its `x-request-id` (the
/// correlation id when it is a UUID) and `traceparent` (the event's trace parent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
}

/// What a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The application or interview does not exist for this owner.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("contract: {0}")]
    Contract(#[from] sagaflow_events::Error),
}

/// A column that does not hold one of the closed-set spellings.
fn bad_text(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("{column} holds an unknown value `{value}`").into())
}
