//! A saga definition is data: an ordered list of steps, each with a forward
//! command, the replies that settle it, its compensation and its timing.

use std::time::Duration;

use uuid::Uuid;

use crate::data::SagaData;
use crate::error::BuildError;
use crate::retry::RetryPolicy;

/// A named, versioned saga: steps run in order, failures compensate in
/// reverse order up to the pivot, steps after the pivot are retried forward.
#[derive(Debug, Clone)]
pub struct Definition {
    pub name: &'static str,
    pub version: u32,
    pub steps: Vec<Step>,
    /// How a compensation command that times out is re-sent.
    pub compensation_retry: RetryPolicy,
    /// What the saga produces (the order of a checkout, the document of a
    /// generation), reported with its progress; `None` when nothing.
    pub result: Option<ResultSpec>,
    /// The user the saga acts for, read from its input; reported when it
    /// finishes. `None` when the definition has no user.
    pub user: Option<fn(&SagaData) -> Option<String>>,
}

/// A saga's result: an id read from its data once the step that makes it has
/// completed.
#[derive(Debug, Clone, Copy)]
pub struct ResultSpec {
    /// The result's name on the wire (`order_id`, `document_id`).
    pub name: &'static str,
    /// The id, once known (`None` before).
    pub read: fn(&SagaData) -> Option<Uuid>,
}

/// One step of a saga.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    /// The forward command.
    pub command: CommandSpec,
    /// Reply message types that complete the step.
    pub completes_on: &'static [&'static str],
    /// Reply message types that fail the step permanently. May be empty for
    /// steps that cannot fail permanently (they can still time out).
    pub fails_on: &'static [&'static str],
    pub compensation: Compensation,
    /// Per attempt, for the forward command and for its compensation.
    pub timeout: Duration,
    /// Re-send on timeout, up to `max_attempts` attempts in total.
    pub retry: RetryPolicy,
}

/// How to build a command from the saga's data.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub message_type: &'static str,
    pub topic: &'static str,
    pub build: fn(&SagaData) -> Result<serde_json::Value, BuildError>,
}

/// What undoes a step.
#[derive(Debug, Clone)]
pub enum Compensation {
    /// Send this command; the step is compensated on one of `completes_on`.
    ///
    /// Also sent for a step whose forward command was abandoned (timed out
    /// for good, or in flight at an abort), which the participant may or may
    /// not have run: the participant must treat a compensation for something
    /// it never did as a no-op that leaves a tombstone, so that a late
    /// forward command is refused.
    Command {
        command: CommandSpec,
        completes_on: &'static [&'static str],
    },
    /// The point of no return: never compensated; later steps only retry forward.
    Pivot,
    /// Nothing to undo.
    NotNeeded { reason: &'static str },
}

impl Definition {
    /// Index of the pivot step, if any (the first one; `check` rejects more).
    pub fn pivot(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| matches!(s.compensation, Compensation::Pivot))
    }

    /// Whether a permanent failure of `step` compensates (true) or leaves the
    /// saga `Failed` for an operator (false: the step is after the pivot).
    pub fn compensates_on_failure(&self, step: usize) -> bool {
        self.pivot().is_none_or(|p| step <= p)
    }

    /// The saga's result as far as `data` knows it: `(name, id)`.
    pub fn result_of(&self, data: &SagaData) -> Option<(&'static str, Uuid)> {
        let spec = self.result?;
        (spec.read)(data).map(|id| (spec.name, id))
    }

    /// The user the saga acts for, if the definition names one.
    pub fn user_of(&self, data: &SagaData) -> Option<String> {
        self.user.and_then(|read| read(data))
    }

    /// The compensation command of `step`, if it has one.
    pub fn compensation_of(&self, step: usize) -> Option<(&CommandSpec, &'static [&'static str])> {
        match self.steps.get(step).map(|s| &s.compensation) {
            Some(Compensation::Command {
                command,
                completes_on,
            }) => Some((command, completes_on)),
            _ => None,
        }
    }
}
