//! Errors: building a command, and operator inputs the saga refuses.

use thiserror::Error;

use crate::state::Status;

/// A step's command could not be built from the saga data. For a forward
/// step this is a permanent failure of that step.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    #[error("invalid saga input: {0}")]
    InvalidInput(String),
    #[error("missing result of step `{0}`")]
    MissingResult(String),
    #[error("invalid result of step `{step}`: {reason}")]
    InvalidResult { step: String, reason: String },
    #[error("command cannot be serialised: {0}")]
    Payload(String),
}

/// An input that makes no sense for the saga's current state. The messages
/// are meant for operators.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejected {
    #[error("no such saga")]
    UnknownSaga,
    #[error("saga belongs to definition {found}, not {expected}")]
    DefinitionMismatch { expected: String, found: String },
    #[error("saga is already {status:?}; nothing to do")]
    Terminal { status: Status },
    #[error("saga is already paused")]
    AlreadyPaused,
    #[error("saga is not paused")]
    NotPaused,
    #[error("only Failed or CompensationFailed sagas can be retried; this one is {status:?}")]
    NotRetriable { status: Status },
    #[error("saga is already compensating")]
    AlreadyCompensating,
    #[error(
        "saga cannot be aborted: pivot step `{pivot}` has been reached, so it can only go forward (use Retry if it failed)"
    )]
    PastPivot { pivot: String },
    #[error("saga state does not match its definition: {0}")]
    Inconsistent(String),
}
