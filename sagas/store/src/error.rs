//! Errors of the saga store.

use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("saga {0} not found")]
    NotFound(Uuid),
    #[error("saga {saga_id} runs definition {name} v{version}, which this process does not have")]
    UnknownDefinition {
        saga_id: Uuid,
        name: String,
        version: u32,
    },
    #[error("{0}")]
    Rejected(#[from] sagaflow_saga_engine::Rejected),
    #[error("saga {0} was changed concurrently")]
    Conflict(Uuid),
    #[error("encoding {message_type}: {source}")]
    Encode {
        message_type: String,
        source: sagaflow_events::Error,
    },
    #[error("stored state of saga {saga_id} is unreadable: {reason}")]
    Corrupt { saga_id: Uuid, reason: String },
}
