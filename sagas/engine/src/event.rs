//! What is appended to a saga's log. State is a fold over these.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::state::Phase;

/// One entry of a saga's event log (JSON: `{"type": "command_sent", ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SagaEvent {
    Started {
        saga_id: Uuid,
        definition: String,
        version: u32,
        input: Value,
        at: DateTime<Utc>,
    },
    CommandSent {
        step: usize,
        step_name: String,
        phase: Phase,
        attempt: u32,
        command_id: Uuid,
        message_type: String,
        deadline: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    StepCompleted {
        step: usize,
        step_name: String,
        reply_type: String,
        reply: Value,
        at: DateTime<Utc>,
    },
    /// Permanent forward failure (a `fails_on` reply, exhausted retries, or
    /// a command that could not be built).
    StepFailed {
        step: usize,
        step_name: String,
        reason: String,
        at: DateTime<Utc>,
    },
    StepTimedOut {
        step: usize,
        step_name: String,
        phase: Phase,
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// The saga gave up on a step's forward command without a definitive
    /// reply: its last attempt timed out for good (right after `StepFailed`),
    /// or an operator aborted while it was in flight or waiting for its
    /// backoff (right after `AbortRequested`). The participant may have run
    /// it anyway, so a step with a compensation command is compensated too,
    /// first. Only appended when the saga compensates (before or at the
    /// pivot); never after a `fails_on` reply (the participant did nothing).
    StepAbandoned {
        step: usize,
        step_name: String,
        /// Forward attempts that were sent (and may have run).
        attempts: u32,
        at: DateTime<Utc>,
    },
    StepCompensated {
        step: usize,
        step_name: String,
        reply_type: String,
        at: DateTime<Utc>,
    },
    /// A command that must not be given up on (a forward step after the pivot,
    /// or any compensation) used up its retry policy. The saga is not
    /// terminal: it keeps re-sending with a growing backoff capped at
    /// [`crate::retry::STUCK_MAX_BACKOFF`] until a reply comes, and an operator
    /// may `Retry` (send now) or `Pause`. Appended once per stuck command.
    StepStuck {
        step: usize,
        step_name: String,
        phase: Phase,
        attempts: u32,
        at: DateTime<Utc>,
    },
    /// A definitive reply to the pivot arrived after the saga had stopped as
    /// `Failed` because the pivot's outcome was unknown (its attempts timed
    /// out). The saga runs again: the next event settles the pivot with that
    /// reply (completed, or failed and compensated).
    Reconciled {
        step: usize,
        step_name: String,
        reply_type: String,
        at: DateTime<Utc>,
    },
    Paused {
        reason: String,
        at: DateTime<Utc>,
    },
    Resumed {
        at: DateTime<Utc>,
    },
    RetryRequested {
        at: DateTime<Utc>,
    },
    AbortRequested {
        reason: String,
        at: DateTime<Utc>,
    },
    Completed {
        at: DateTime<Utc>,
    },
    Compensated {
        at: DateTime<Utc>,
    },
    Failed {
        reason: String,
        at: DateTime<Utc>,
    },
    CompensationFailed {
        step: usize,
        reason: String,
        at: DateTime<Utc>,
    },
}

impl SagaEvent {
    /// When the event happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            SagaEvent::Started { at, .. }
            | SagaEvent::CommandSent { at, .. }
            | SagaEvent::StepCompleted { at, .. }
            | SagaEvent::StepFailed { at, .. }
            | SagaEvent::StepTimedOut { at, .. }
            | SagaEvent::StepAbandoned { at, .. }
            | SagaEvent::StepCompensated { at, .. }
            | SagaEvent::StepStuck { at, .. }
            | SagaEvent::Reconciled { at, .. }
            | SagaEvent::Paused { at, .. }
            | SagaEvent::Resumed { at }
            | SagaEvent::RetryRequested { at }
            | SagaEvent::AbortRequested { at, .. }
            | SagaEvent::Completed { at }
            | SagaEvent::Compensated { at }
            | SagaEvent::Failed { at, .. }
            | SagaEvent::CompensationFailed { at, .. } => *at,
        }
    }
}
