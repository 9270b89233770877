//! Errors of the saga store, and how callers should treat them
//! ([`Error::is_transient`], [`Error::kind`]).

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

impl Error {
    /// Whether trying the same thing again later may succeed by itself: the
    /// database is unreachable, overloaded or shutting down, the transaction lost a
    /// serialization or deadlock race, or the saga changed concurrently. A
    /// constraint violation or a row that does not decode is not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Database(err) => transient_sqlx(err),
            Error::Conflict(_) => true,
            _ => false,
        }
    }

    /// A short, fixed label for metrics (`reason_kind`) and operator listings.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Database(_) => "database",
            Error::NotFound(_) => "not_found",
            Error::UnknownDefinition { .. } => "unknown_definition",
            Error::Rejected(_) => "rejected",
            Error::Conflict(_) => "conflict",
            Error::Encode { .. } => "encode",
            Error::Corrupt { .. } => "corrupt",
        }
    }
}

fn transient_sqlx(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08 connection exception, 40 transaction rollback (serialization
            // failure, deadlock), 53 insufficient resources, 57 operator
            // intervention (shutdown, cancel), 58 system error, 55P03 lock timeout.
            ["08", "40", "53", "57", "58"]
                .iter()
                .any(|class| code.starts_with(class))
                || code == "55P03"
        }),
        _ => false,
    }
}
