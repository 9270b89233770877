//! The decider: given the definition, the current state and one input,
//! return the events to append and the actions to execute. Pure: no I/O, no
//! clock (the caller passes `now`), no randomness (command ids are UUIDv5).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::definition::{CommandSpec, Definition, Step};
use crate::error::Rejected;
use crate::event::SagaEvent;
use crate::ids::command_id;
use crate::state::{Phase, SagaState, Status, evolve};

/// Something that happened to a saga: a command, a reply, a timer, an operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    Start {
        saga_id: Uuid,
        input: Value,
    },
    /// A participant's reply; `causation_id`, when present, must be the id of
    /// one of the in-flight step's attempts or the reply is ignored.
    Reply {
        message_type: String,
        payload: Value,
        causation_id: Option<Uuid>,
    },
    /// A timer scheduled by [`Action::ScheduleTimeout`] fired.
    Timeout {
        step: usize,
        phase: Phase,
        attempt: u32,
    },
    Pause {
        reason: String,
    },
    Resume,
    Retry,
    Abort {
        reason: String,
    },
}

/// Something the driver must do, in the same transaction that appends the
/// decision's events (commands go through an outbox).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Send {
        command_id: Uuid,
        step: usize,
        phase: Phase,
        message_type: &'static str,
        topic: &'static str,
        /// The saga id: the partition key.
        key: Uuid,
        payload: Value,
    },
    /// Deliver `Input::Timeout { step, phase, attempt }` at `at` (or later).
    /// Used for per-attempt deadlines and for retry backoff.
    ScheduleTimeout {
        step: usize,
        phase: Phase,
        attempt: u32,
        at: DateTime<Utc>,
    },
    Finished {
        status: Status,
    },
}

/// The outcome of one input. Empty for duplicate or stale inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decision {
    pub events: Vec<SagaEvent>,
    pub actions: Vec<Action>,
}

impl Decision {
    /// Nothing to append, nothing to do.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.actions.is_empty()
    }
}

/// Decide what `input` means for the saga. Does not mutate `state`; fold the
/// returned events with [`evolve`] to get the next state.
pub fn decide(
    def: &Definition,
    state: Option<&SagaState>,
    input: &Input,
    now: DateTime<Utc>,
) -> Result<Decision, Rejected> {
    let Some(state) = state else {
        return match input {
            Input::Start { saga_id, input } => {
                let started = SagaEvent::Started {
                    saga_id: *saga_id,
                    definition: def.name.to_owned(),
                    version: def.version,
                    input: input.clone(),
                    at: now,
                };
                let state = evolve(None, &started);
                let mut d = Decider::new(def, state, now);
                d.out.events.push(started);
                d.advance()?;
                Ok(d.out)
            }
            Input::Reply { .. } | Input::Timeout { .. } => Ok(Decision::default()),
            _ => Err(Rejected::UnknownSaga),
        };
    };
    if state.definition != def.name || state.version != def.version {
        return Err(Rejected::DefinitionMismatch {
            expected: format!("{} v{}", def.name, def.version),
            found: format!("{} v{}", state.definition, state.version),
        });
    }
    let mut d = Decider::new(def, state.clone(), now);
    match input {
        Input::Start { .. } => {}
        Input::Reply {
            message_type,
            payload,
            causation_id,
        } => d.reply(message_type, payload, *causation_id)?,
        Input::Timeout {
            step,
            phase,
            attempt,
        } => d.timeout(*step, *phase, *attempt)?,
        Input::Pause { reason } => d.pause(reason)?,
        Input::Resume => d.resume()?,
        Input::Retry => d.retry()?,
        Input::Abort { reason } => d.abort(reason)?,
    }
    Ok(d.out)
}

/// A scratch copy of the state that follows the events as they are emitted.
struct Decider<'d> {
    def: &'d Definition,
    now: DateTime<Utc>,
    state: SagaState,
    out: Decision,
}

impl<'d> Decider<'d> {
    fn new(def: &'d Definition, state: SagaState, now: DateTime<Utc>) -> Self {
        Self {
            def,
            now,
            state,
            out: Decision::default(),
        }
    }

    fn emit(&mut self, event: SagaEvent) {
        self.state = evolve(Some(self.state.clone()), &event);
        self.out.events.push(event);
    }

    fn finish(&mut self, event: SagaEvent) {
        self.emit(event);
        self.out.actions.push(Action::Finished {
            status: self.state.status,
        });
    }

    fn step(&self, index: usize) -> Result<&'d Step, Rejected> {
        self.def
            .steps
            .get(index)
            .ok_or_else(|| Rejected::Inconsistent(format!("no step #{index}")))
    }

    fn later(&self, delay: std::time::Duration) -> DateTime<Utc> {
        TimeDelta::from_std(delay)
            .ok()
            .and_then(|d| self.now.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The step to compensate next: the latest completed or abandoned one
    /// with a compensation command that has not been compensated yet. An
    /// abandoned step comes after every completed one, so it goes first.
    fn next_compensation(&self) -> Option<usize> {
        let mut candidates: Vec<usize> = self
            .state
            .completed
            .iter()
            .chain(&self.state.abandoned)
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().rev().find(|&i| {
            self.def.compensation_of(i).is_some() && !self.state.compensated.contains(&i)
        })
    }

    /// Send whatever is due: the next forward step, the next compensation,
    /// or the terminal event. Sends nothing while paused.
    fn advance(&mut self) -> Result<(), Rejected> {
        loop {
            if self.state.current.is_some() {
                return Ok(());
            }
            match self.state.status {
                Status::Running => {
                    let next = self.state.next_forward_step();
                    if next >= self.def.steps.len() {
                        self.finish(SagaEvent::Completed { at: self.now });
                        return Ok(());
                    }
                    if self.state.paused {
                        return Ok(());
                    }
                    self.send(next, Phase::Forward, 1)?;
                }
                Status::Compensating => match self.next_compensation() {
                    None => {
                        self.finish(SagaEvent::Compensated { at: self.now });
                        return Ok(());
                    }
                    Some(_) if self.state.paused => return Ok(()),
                    Some(step) => self.send(step, Phase::Compensation, 1)?,
                },
                _ => return Ok(()),
            }
        }
    }

    fn command_spec(&self, step: usize, phase: Phase) -> Result<&'d CommandSpec, Rejected> {
        match phase {
            Phase::Forward => Ok(&self.step(step)?.command),
            Phase::Compensation => self
                .def
                .compensation_of(step)
                .map(|(command, _)| command)
                .ok_or_else(|| Rejected::Inconsistent(format!("step #{step} has no compensation"))),
        }
    }

    /// Build and send one command. A build error fails the step for good.
    fn send(&mut self, step: usize, phase: Phase, attempt: u32) -> Result<(), Rejected> {
        let s = self.step(step)?;
        let spec = self.command_spec(step, phase)?;
        match (spec.build)(&self.state.data) {
            Ok(payload) => {
                let saga_id = self.state.saga_id;
                let command_id = command_id(saga_id, step, phase, attempt);
                let deadline = self.later(s.timeout);
                self.emit(SagaEvent::CommandSent {
                    step,
                    step_name: s.name.to_owned(),
                    phase,
                    attempt,
                    command_id,
                    message_type: spec.message_type.to_owned(),
                    deadline,
                    at: self.now,
                });
                self.out.actions.push(Action::Send {
                    command_id,
                    step,
                    phase,
                    message_type: spec.message_type,
                    topic: spec.topic,
                    key: saga_id,
                    payload,
                });
                self.out.actions.push(Action::ScheduleTimeout {
                    step,
                    phase,
                    attempt,
                    at: deadline,
                });
            }
            Err(e) => {
                let reason = format!("cannot build {}: {e}", spec.message_type);
                match phase {
                    // Earlier attempts of this step (if any) were sent.
                    Phase::Forward => self.fail_forward(step, reason, attempt.saturating_sub(1))?,
                    Phase::Compensation => self.finish(SagaEvent::CompensationFailed {
                        step,
                        reason,
                        at: self.now,
                    }),
                }
            }
        }
        Ok(())
    }

    /// A permanent forward failure: compensate (before or at the pivot) or
    /// stop as `Failed` (after it). `maybe_ran` is the number of forward
    /// attempts sent without a definitive reply: when compensating, a step
    /// given up on with `maybe_ran > 0` is abandoned (and compensated too).
    fn fail_forward(
        &mut self,
        step: usize,
        reason: String,
        maybe_ran: u32,
    ) -> Result<(), Rejected> {
        let name = self.step(step)?.name;
        self.emit(SagaEvent::StepFailed {
            step,
            step_name: name.to_owned(),
            reason: reason.clone(),
            at: self.now,
        });
        if !self.def.compensates_on_failure(step) {
            self.finish(SagaEvent::Failed {
                reason: format!("step `{name}` failed after the pivot: {reason}"),
                at: self.now,
            });
        } else if maybe_ran > 0 && self.def.pivot() == Some(step) {
            // The pivot may have committed (the order may exist): undoing the
            // earlier steps could refund a live order. Stop for an operator, who
            // retries it (participants are idempotent) once its participant is back.
            self.finish(SagaEvent::Failed {
                reason: format!("pivot `{name}` has an unknown outcome ({reason}); retry it"),
                at: self.now,
            });
        } else if maybe_ran > 0 {
            self.abandon(step, maybe_ran)?;
        }
        Ok(())
    }

    /// Record that the saga gave up on `step`'s forward command after
    /// `attempts` attempts without a definitive reply.
    fn abandon(&mut self, step: usize, attempts: u32) -> Result<(), Rejected> {
        let name = self.step(step)?.name;
        self.emit(SagaEvent::StepAbandoned {
            step,
            step_name: name.to_owned(),
            attempts,
            at: self.now,
        });
        Ok(())
    }

    fn reply(
        &mut self,
        message_type: &str,
        payload: &Value,
        causation_id: Option<Uuid>,
    ) -> Result<(), Rejected> {
        if self.state.status == Status::Failed {
            return self.reconcile(message_type, payload, causation_id);
        }
        if self.state.status.is_terminal() {
            return Ok(());
        }
        let Some(current) = self.state.current.clone() else {
            return Ok(());
        };
        if let Some(cause) = causation_id {
            let saga_id = self.state.saga_id;
            let ours = (1..=current.attempt)
                .any(|a| command_id(saga_id, current.step, current.phase, a) == cause);
            if !ours {
                return Ok(());
            }
        }
        let step = self.step(current.step)?;
        match current.phase {
            Phase::Forward if step.completes_on.contains(&message_type) => {
                self.emit(SagaEvent::StepCompleted {
                    step: current.step,
                    step_name: step.name.to_owned(),
                    reply_type: message_type.to_owned(),
                    reply: payload.clone(),
                    at: self.now,
                });
            }
            Phase::Forward if step.fails_on.contains(&message_type) => {
                let reason = match payload.get("reason").and_then(Value::as_str) {
                    Some(why) => format!("{message_type}: {why}"),
                    None => message_type.to_owned(),
                };
                // The participant said it did nothing: not abandoned.
                self.fail_forward(current.step, reason, 0)?;
            }
            Phase::Compensation
                if self
                    .def
                    .compensation_of(current.step)
                    .is_some_and(|(_, done)| done.contains(&message_type)) =>
            {
                self.emit(SagaEvent::StepCompensated {
                    step: current.step,
                    step_name: step.name.to_owned(),
                    reply_type: message_type.to_owned(),
                    at: self.now,
                });
            }
            _ => return Ok(()),
        }
        self.advance()
    }

    /// A reply to a saga stopped as `Failed`: if it is the pivot's definitive
    /// reply and the saga stopped because the pivot's outcome was unknown,
    /// settle the pivot with it and run on; anything else is stale.
    fn reconcile(
        &mut self,
        message_type: &str,
        payload: &Value,
        causation_id: Option<Uuid>,
    ) -> Result<(), Rejected> {
        let (Some(pivot), Some(last)) = (self.def.pivot(), self.state.last_command.clone()) else {
            return Ok(());
        };
        if last.step != pivot
            || last.phase != Phase::Forward
            || self.state.completed.contains(&pivot)
        {
            return Ok(());
        }
        if let Some(cause) = causation_id {
            let saga_id = self.state.saga_id;
            if !(1..=last.attempt).any(|a| command_id(saga_id, pivot, Phase::Forward, a) == cause) {
                return Ok(());
            }
        }
        let step = self.step(pivot)?;
        let completes = step.completes_on.contains(&message_type);
        if !completes && !step.fails_on.contains(&message_type) {
            return Ok(());
        }
        self.emit(SagaEvent::Reconciled {
            step: pivot,
            step_name: step.name.to_owned(),
            reply_type: message_type.to_owned(),
            at: self.now,
        });
        if completes {
            self.emit(SagaEvent::StepCompleted {
                step: pivot,
                step_name: step.name.to_owned(),
                reply_type: message_type.to_owned(),
                reply: payload.clone(),
                at: self.now,
            });
        } else {
            let reason = match payload.get("reason").and_then(Value::as_str) {
                Some(why) => format!("{message_type}: {why}"),
                None => message_type.to_owned(),
            };
            // The participant said it did nothing: compensate the earlier steps.
            self.fail_forward(pivot, reason, 0)?;
        }
        self.advance()
    }

    /// Whether a command of `step` in `phase` is re-sent for as long as it takes
    /// (a forward step after the pivot, or a compensation) instead of ending
    /// the saga when its retry policy is used up.
    fn never_gives_up(&self, step: usize, phase: Phase) -> bool {
        phase == Phase::Compensation || !self.def.compensates_on_failure(step)
    }

    fn timeout(&mut self, step: usize, phase: Phase, attempt: u32) -> Result<(), Rejected> {
        if self.state.status.is_terminal() || self.state.paused {
            return Ok(());
        }
        let Some(current) = self.state.current.clone() else {
            return Ok(());
        };
        if (current.step, current.phase, current.attempt) != (step, phase, attempt) {
            return Ok(());
        }
        if current.timed_out {
            // The backoff after this attempt has elapsed: send the next one.
            self.send(step, phase, attempt + 1)?;
            return self.advance();
        }
        let s = self.step(step)?;
        let policy = match phase {
            Phase::Forward => s.retry,
            Phase::Compensation => self.def.compensation_retry,
        };
        self.emit(SagaEvent::StepTimedOut {
            step,
            step_name: s.name.to_owned(),
            phase,
            attempt,
            at: self.now,
        });
        let exhausted = !policy.allows_another_after(attempt);
        if !exhausted || self.never_gives_up(step, phase) {
            if exhausted && self.state.stuck.is_none() {
                self.emit(SagaEvent::StepStuck {
                    step,
                    step_name: s.name.to_owned(),
                    phase,
                    attempts: attempt,
                    at: self.now,
                });
            }
            let backoff = policy.stuck_backoff(attempt);
            if backoff.is_zero() {
                self.send(step, phase, attempt + 1)?;
            } else {
                self.out.actions.push(Action::ScheduleTimeout {
                    step,
                    phase,
                    attempt,
                    at: self.later(backoff),
                });
            }
            return self.advance();
        }
        let what = self.command_spec(step, phase)?.message_type;
        let reason = format!("{what} timed out after {attempt} attempt(s)");
        match phase {
            Phase::Forward => self.fail_forward(step, reason, attempt)?,
            Phase::Compensation => self.finish(SagaEvent::CompensationFailed {
                step,
                reason,
                at: self.now,
            }),
        }
        self.advance()
    }

    fn pause(&mut self, reason: &str) -> Result<(), Rejected> {
        if self.state.status.is_terminal() {
            return Err(Rejected::Terminal {
                status: self.state.status,
            });
        }
        if self.state.paused {
            return Err(Rejected::AlreadyPaused);
        }
        self.emit(SagaEvent::Paused {
            reason: reason.to_owned(),
            at: self.now,
        });
        Ok(())
    }

    fn resume(&mut self) -> Result<(), Rejected> {
        if self.state.status.is_terminal() {
            return Err(Rejected::Terminal {
                status: self.state.status,
            });
        }
        if !self.state.paused {
            return Err(Rejected::NotPaused);
        }
        self.emit(SagaEvent::Resumed { at: self.now });
        if let Some(current) = self.state.current.clone() {
            // Timeouts were ignored while paused: re-arm the in-flight one.
            let at = if current.timed_out {
                self.now
            } else {
                current.deadline.max(self.now)
            };
            self.out.actions.push(Action::ScheduleTimeout {
                step: current.step,
                phase: current.phase,
                attempt: current.attempt,
                at,
            });
        }
        self.advance()
    }

    fn retry(&mut self) -> Result<(), Rejected> {
        if let (Some(_), Some(current)) = (&self.state.stuck, self.state.current.clone()) {
            // A stuck command: send its next attempt now instead of after the backoff.
            if self.state.paused {
                return Err(Rejected::AlreadyPaused);
            }
            self.emit(SagaEvent::RetryRequested { at: self.now });
            self.send(current.step, current.phase, current.attempt + 1)?;
            return self.advance();
        }
        let (step, phase) = match self.state.status {
            Status::Failed => (self.state.next_forward_step(), Phase::Forward),
            Status::CompensationFailed => (
                self.next_compensation().ok_or_else(|| {
                    Rejected::Inconsistent("nothing left to compensate".to_owned())
                })?,
                Phase::Compensation,
            ),
            status => return Err(Rejected::NotRetriable { status }),
        };
        self.step(step)?;
        let attempt = match &self.state.last_command {
            Some(last) if last.step == step && last.phase == phase => last.attempt + 1,
            _ => 1,
        };
        self.emit(SagaEvent::RetryRequested { at: self.now });
        self.send(step, phase, attempt)?;
        self.advance()
    }

    fn abort(&mut self, reason: &str) -> Result<(), Rejected> {
        match self.state.status {
            Status::Running => {}
            Status::Compensating => return Err(Rejected::AlreadyCompensating),
            status => return Err(Rejected::Terminal { status }),
        }
        if let Some(pivot) = self.def.pivot() {
            let pivot_sent = self
                .state
                .current
                .as_ref()
                .is_some_and(|c| c.phase == Phase::Forward && c.step >= pivot);
            if pivot_sent || self.state.completed.contains(&pivot) {
                return Err(Rejected::PastPivot {
                    pivot: self.step(pivot)?.name.to_owned(),
                });
            }
        }
        let in_flight = self.state.current.clone();
        self.emit(SagaEvent::AbortRequested {
            reason: reason.to_owned(),
            at: self.now,
        });
        // Running, so anything in flight is a forward command (possibly
        // waiting for its backoff): the participant may run it anyway.
        if let Some(c) = in_flight.filter(|c| c.phase == Phase::Forward) {
            self.abandon(c.step, c.attempt)?;
        }
        self.advance()
    }
}
