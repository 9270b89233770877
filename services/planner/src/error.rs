//! The crate's [`Error`] (the HTTP mapping is in `crate::api::error`).

use uuid::Uuid;

/// Why a planner operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("saga store: {0}")]
    Store(#[from] sagaflow_saga_store::Error),
    #[error("contract: {0}")]
    Contract(#[from] sagaflow_events::Error),
    #[error("plan {plan_id} is inconsistent: {reason}")]
    Corrupt { plan_id: Uuid, reason: String },
}

impl Error {
    pub(crate) fn corrupt(plan_id: Uuid, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            plan_id,
            reason: reason.into(),
        }
    }
}
