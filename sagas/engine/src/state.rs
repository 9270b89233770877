//! Saga state is a pure fold over its events: `evolve` one event at a time,
//! `replay` a whole log. Folding never re-runs actions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::data::SagaData;
use crate::event::SagaEvent;

/// Where a saga is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Compensating,
    Completed,
    Compensated,
    /// A step after the pivot failed for good: needs an operator (`Retry`).
    Failed,
    /// A compensation exhausted its retries: needs an operator (`Retry`).
    CompensationFailed,
}

impl Status {
    /// No further progress without an operator (or ever, for the successes).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Compensated | Status::Failed | Status::CompensationFailed
        )
    }
}

/// Which command of a step: the forward one or its compensation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Forward,
    Compensation,
}

/// The command the saga is waiting on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    pub step: usize,
    pub phase: Phase,
    pub attempt: u32,
    pub command_id: Uuid,
    pub deadline: DateTime<Utc>,
    /// The attempt timed out and the next one waits for its backoff; a reply
    /// to this (or an earlier) attempt is still accepted meanwhile.
    #[serde(default)]
    pub timed_out: bool,
}

/// The state of one saga instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SagaState {
    pub saga_id: Uuid,
    pub definition: String,
    pub version: u32,
    pub status: Status,
    pub paused: bool,
    pub data: SagaData,
    /// Number of events applied.
    pub seq: u64,
    /// The command awaiting a reply, if any.
    pub current: Option<InFlight>,
    /// The most recently sent command, kept after it settles; `Retry` re-sends
    /// a stuck command with this attempt + 1.
    pub last_command: Option<InFlight>,
    /// Completed forward steps, in completion order.
    pub completed: Vec<usize>,
    /// Steps whose forward command was abandoned without a definitive reply
    /// (see [`SagaEvent::StepAbandoned`]); the participant may have run it, so
    /// those with a compensation command are compensated like completed ones.
    #[serde(default)]
    pub abandoned: Vec<usize>,
    /// Compensated steps, in compensation order (an abandoned step first).
    pub compensated: Vec<usize>,
    /// The latest failure or abort reason.
    pub failure: Option<String>,
    /// The command that used up its retry policy and keeps being re-sent (see
    /// [`SagaEvent::StepStuck`]); cleared when its step settles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stuck: Option<Stuck>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A command being re-sent past its retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stuck {
    pub step: usize,
    pub phase: Phase,
    pub since: DateTime<Utc>,
}

impl SagaState {
    /// The first forward step that has not completed (steps complete in order).
    pub fn next_forward_step(&self) -> usize {
        (0..=self.completed.len())
            .find(|i| !self.completed.contains(i))
            .unwrap_or(self.completed.len())
    }

    fn corrupt(event: &SagaEvent) -> SagaState {
        let at = event.at();
        SagaState {
            saga_id: Uuid::nil(),
            definition: String::new(),
            version: 0,
            status: Status::Failed,
            paused: false,
            data: SagaData {
                saga_id: Uuid::nil(),
                input: serde_json::Value::Null,
                results: BTreeMap::new(),
            },
            seq: 1,
            current: None,
            last_command: None,
            completed: Vec::new(),
            abandoned: Vec::new(),
            compensated: Vec::new(),
            failure: Some("corrupt event log: first event is not `started`".to_owned()),
            stuck: None,
            started_at: at,
            updated_at: at,
        }
    }
}

/// Apply one event. Pure: the same events always fold to the same state.
///
/// A log whose first event is not `Started` folds to a `Failed` placeholder
/// with a nil saga id and a `failure` saying the log is corrupt.
pub fn evolve(state: Option<SagaState>, event: &SagaEvent) -> SagaState {
    let Some(mut s) = state else {
        return match event {
            SagaEvent::Started {
                saga_id,
                definition,
                version,
                input,
                at,
            } => SagaState {
                saga_id: *saga_id,
                definition: definition.clone(),
                version: *version,
                status: Status::Running,
                paused: false,
                data: SagaData {
                    saga_id: *saga_id,
                    input: input.clone(),
                    results: BTreeMap::new(),
                },
                seq: 1,
                current: None,
                last_command: None,
                completed: Vec::new(),
                abandoned: Vec::new(),
                compensated: Vec::new(),
                failure: None,
                stuck: None,
                started_at: *at,
                updated_at: *at,
            },
            other => SagaState::corrupt(other),
        };
    };
    s.seq += 1;
    s.updated_at = event.at();
    match event {
        // A second `Started` is never decided; folding it changes nothing.
        SagaEvent::Started { .. } => {}
        SagaEvent::CommandSent {
            step,
            phase,
            attempt,
            command_id,
            deadline,
            ..
        } => {
            let sent = InFlight {
                step: *step,
                phase: *phase,
                attempt: *attempt,
                command_id: *command_id,
                deadline: *deadline,
                timed_out: false,
            };
            s.current = Some(sent.clone());
            s.last_command = Some(sent);
        }
        SagaEvent::StepCompleted {
            step,
            step_name,
            reply,
            ..
        } => {
            s.data.results.insert(step_name.clone(), reply.clone());
            if !s.completed.contains(step) {
                s.completed.push(*step);
            }
            s.current = None;
            s.stuck = None;
        }
        SagaEvent::StepFailed { reason, .. } => {
            // Before or at the pivot this starts compensation; after it, the
            // decider appends `Failed` in the same decision.
            s.failure = Some(reason.clone());
            s.status = Status::Compensating;
            s.current = None;
            s.stuck = None;
        }
        SagaEvent::StepTimedOut {
            step,
            phase,
            attempt,
            ..
        } => {
            if let Some(c) = s.current.as_mut()
                && c.step == *step
                && c.phase == *phase
                && c.attempt == *attempt
            {
                c.timed_out = true;
            }
        }
        SagaEvent::StepAbandoned { step, .. } => {
            if !s.abandoned.contains(step) {
                s.abandoned.push(*step);
            }
            s.current = None;
        }
        SagaEvent::StepCompensated { step, .. } => {
            if !s.compensated.contains(step) {
                s.compensated.push(*step);
            }
            s.current = None;
            s.stuck = None;
        }
        SagaEvent::StepStuck {
            step, phase, at, ..
        } => {
            s.stuck = Some(Stuck {
                step: *step,
                phase: *phase,
                since: *at,
            });
        }
        SagaEvent::Reconciled { .. } => {
            s.status = Status::Running;
            s.failure = None;
        }
        SagaEvent::Paused { .. } => s.paused = true,
        SagaEvent::Resumed { .. } => s.paused = false,
        SagaEvent::RetryRequested { .. } => {
            s.status = match s.status {
                Status::CompensationFailed => Status::Compensating,
                Status::Failed => Status::Running,
                other => other,
            };
        }
        SagaEvent::AbortRequested { reason, .. } => {
            s.failure = Some(reason.clone());
            s.status = Status::Compensating;
            s.current = None;
            s.stuck = None;
        }
        SagaEvent::Completed { .. } => finish(&mut s, Status::Completed),
        SagaEvent::Compensated { .. } => finish(&mut s, Status::Compensated),
        SagaEvent::Failed { reason, .. } => {
            s.failure = Some(reason.clone());
            finish(&mut s, Status::Failed);
        }
        SagaEvent::CompensationFailed { reason, .. } => {
            s.failure = Some(reason.clone());
            finish(&mut s, Status::CompensationFailed);
        }
    }
    s
}

fn finish(s: &mut SagaState, status: Status) {
    s.status = status;
    s.current = None;
    s.paused = false;
    s.stuck = None;
}

/// Fold a whole log; `None` for an empty one.
pub fn replay<'a>(events: impl IntoIterator<Item = &'a SagaEvent>) -> Option<SagaState> {
    events
        .into_iter()
        .fold(None, |state, event| Some(evolve(state, event)))
}
