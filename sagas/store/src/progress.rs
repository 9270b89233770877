//! What readers are told about a decision: one `SagaProgressed` carrying the
//! decision's log entries, typed, and a `SagaFinished` when the decision ends the
//! saga. Both go to `orchestrator.events`, keyed by saga id, in the decision's
//! transaction (see [`crate::driver`]).
//!
//! The mappings from the engine's types ([`entry`], [`status`]) are exhaustive
//! `match`es: a new [`SagaEvent`] or [`Status`] does not compile until it says
//! what readers see.

use sagaflow_bus::Outgoing;
use sagaflow_bus::traceparent::MessageTrace;
use sagaflow_events::messages::{
    ProgressEntry, ProgressKind, SagaFinished, SagaProgressed, SagaResult, SagaStatus, StepPhase,
};
use sagaflow_events::{Contract, Envelope};
use sagaflow_saga_engine::{Definition, Phase, SagaEvent, SagaState, Status};

use crate::driver::SagaContext;
use crate::error::Error;

/// The wire status of an engine status.
pub fn status(status: Status) -> SagaStatus {
    match status {
        Status::Running => SagaStatus::Running,
        Status::Compensating => SagaStatus::Compensating,
        Status::Completed => SagaStatus::Completed,
        Status::Compensated => SagaStatus::Compensated,
        Status::Failed => SagaStatus::Failed,
        Status::CompensationFailed => SagaStatus::CompensationFailed,
    }
}

fn phase(phase: Phase) -> StepPhase {
    match phase {
        Phase::Forward => StepPhase::Forward,
        Phase::Compensation => StepPhase::Compensation,
    }
}

fn named(name: &str) -> Option<String> {
    Some(name.to_owned())
}

/// The typed entry of `event`, which left the saga as `after` (its seq is `after.seq`).
pub fn entry(def: &Definition, event: &SagaEvent, after: &SagaState) -> ProgressEntry {
    let mut entry = ProgressEntry {
        seq: after.seq as i64,
        kind: ProgressKind::Unknown,
        step: None,
        phase: None,
        attempt: None,
        message_type: None,
        reason: None,
        status: status(after.status),
        at_ms: event.at().timestamp_millis(),
    };
    match event {
        SagaEvent::Started { .. } => entry.kind = ProgressKind::Started,
        SagaEvent::CommandSent {
            step_name,
            phase: p,
            attempt,
            message_type,
            ..
        } => {
            entry.kind = ProgressKind::CommandSent;
            entry.step = named(step_name);
            entry.phase = Some(phase(*p));
            entry.attempt = Some(*attempt as i32);
            entry.message_type = named(message_type);
        }
        SagaEvent::StepCompleted {
            step_name,
            reply_type,
            ..
        } => {
            entry.kind = ProgressKind::StepCompleted;
            entry.step = named(step_name);
            entry.phase = Some(StepPhase::Forward);
            entry.message_type = named(reply_type);
        }
        SagaEvent::StepFailed {
            step_name, reason, ..
        } => {
            entry.kind = ProgressKind::StepFailed;
            entry.step = named(step_name);
            entry.phase = Some(StepPhase::Forward);
            entry.reason = named(reason);
        }
        SagaEvent::StepTimedOut {
            step_name,
            phase: p,
            attempt,
            ..
        } => {
            entry.kind = ProgressKind::StepTimedOut;
            entry.step = named(step_name);
            entry.phase = Some(phase(*p));
            entry.attempt = Some(*attempt as i32);
        }
        SagaEvent::StepAbandoned {
            step_name,
            attempts,
            ..
        } => {
            entry.kind = ProgressKind::StepAbandoned;
            entry.step = named(step_name);
            entry.phase = Some(StepPhase::Forward);
            entry.attempt = Some(*attempts as i32);
        }
        SagaEvent::StepCompensated {
            step_name,
            reply_type,
            ..
        } => {
            entry.kind = ProgressKind::StepCompensated;
            entry.step = named(step_name);
            entry.phase = Some(StepPhase::Compensation);
            entry.message_type = named(reply_type);
        }
        SagaEvent::StepStuck {
            step_name,
            phase: p,
            attempts,
            ..
        } => {
            entry.kind = ProgressKind::StepStuck;
            entry.step = named(step_name);
            entry.phase = Some(phase(*p));
            entry.attempt = Some(*attempts as i32);
        }
        SagaEvent::Reconciled {
            step_name,
            reply_type,
            ..
        } => {
            entry.kind = ProgressKind::Reconciled;
            entry.step = named(step_name);
            entry.phase = Some(StepPhase::Forward);
            entry.message_type = named(reply_type);
        }
        SagaEvent::Paused { reason, .. } => {
            entry.kind = ProgressKind::Paused;
            entry.reason = named(reason);
        }
        SagaEvent::Resumed { .. } => entry.kind = ProgressKind::Resumed,
        SagaEvent::RetryRequested { .. } => entry.kind = ProgressKind::RetryRequested,
        SagaEvent::AbortRequested { reason, .. } => {
            entry.kind = ProgressKind::AbortRequested;
            entry.reason = named(reason);
        }
        SagaEvent::Completed { .. } => entry.kind = ProgressKind::Completed,
        SagaEvent::Compensated { .. } => entry.kind = ProgressKind::Compensated,
        SagaEvent::Failed { reason, .. } => {
            entry.kind = ProgressKind::Failed;
            entry.reason = named(reason);
        }
        SagaEvent::CompensationFailed { step, reason, .. } => {
            entry.kind = ProgressKind::CompensationFailed;
            entry.step = def.steps.get(*step).map(|s| s.name.to_owned());
            entry.phase = Some(StepPhase::Compensation);
            entry.reason = named(reason);
        }
    }
    entry
}

fn result(def: &Definition, after: &SagaState) -> Option<SagaResult> {
    def.result_of(&after.data).map(|(name, id)| SagaResult {
        name: name.to_owned(),
        id,
    })
}

/// The `SagaProgressed` of one decision whose `entries` left the saga as `after`.
pub fn progressed(
    context: &SagaContext,
    def: &Definition,
    after: &SagaState,
    entries: Vec<ProgressEntry>,
) -> Result<Outgoing, Error> {
    let last = entries.last();
    let body = SagaProgressed {
        saga_id: after.saga_id,
        definition: after.definition.clone(),
        definition_version: after.version as i32,
        seq: after.seq as i64,
        status: status(after.status).as_str().to_owned(),
        step: last.and_then(|e| e.step.clone()),
        kind: last.map(|e| e.kind.as_str()).unwrap_or_default().to_owned(),
        detail: String::new(),
        at_ms: last.map_or(after.updated_at.timestamp_millis(), |e| e.at_ms),
        result: result(def, after),
        entries,
    };
    outgoing(context, after, &body)
}

/// The `SagaFinished` of a saga the decision ended as `after`.
pub fn finished(
    context: &SagaContext,
    def: &Definition,
    after: &SagaState,
) -> Result<Outgoing, Error> {
    let body = SagaFinished {
        saga_id: after.saga_id,
        definition: after.definition.clone(),
        definition_version: after.version as i32,
        seq: after.seq as i64,
        status: status(after.status),
        reason: (after.status != Status::Completed)
            .then(|| after.failure.clone())
            .flatten(),
        result: result(def, after),
        user_id: def.user_of(&after.data),
        started_at_ms: after.started_at.timestamp_millis(),
        finished_at_ms: after.updated_at.timestamp_millis(),
    };
    outgoing(context, after, &body)
}

fn outgoing<T: Contract>(
    context: &SagaContext,
    after: &SagaState,
    body: &T,
) -> Result<Outgoing, Error> {
    let bytes = sagaflow_events::encode(body).map_err(|source| Error::Encode {
        message_type: T::MESSAGE_TYPE.into(),
        source,
    })?;
    let mut envelope = Envelope::new(T::MESSAGE_TYPE, &context.tenant_id);
    envelope.saga_id = Some(after.saga_id);
    envelope.correlation_id = context.correlation_id;
    MessageTrace::from_traceparent(context.traceparent.as_deref())
        .child()
        .write_to(&mut envelope);
    Ok(Outgoing {
        envelope,
        topic: T::TOPIC.to_owned(),
        key: after.saga_id.to_string(),
        payload: bytes,
    })
}
