//! The driver: one input in, one transaction's worth of effects out.
//!
//! `decide` (pure) says what happens; this module appends the events, updates the
//! snapshot, writes commands and progress events to the outbox and stores timers,
//! all on the caller's connection, inside the caller's transaction (in the
//! orchestrator that is the inbox transaction of the message that caused it).
//! [`Applied`] tells the caller what that was, the commands sent included, so
//! no caller reads them back from the bus's outbox.
//!
//! Lock order (the same on every path, so replies, timers and operators cannot
//! deadlock each other): [`apply`] and [`start`] lock the saga's `sagas` row
//! first ([`log::load_for_update`]) and only then write the saga's timers
//! ([`timeouts::clear_stale`], [`timeouts::schedule`]); the timer loop locks the
//! saga before it takes a due timer (see [`crate::timeouts`]).

use chrono::{DateTime, Utc};
use sagaflow_bus::Outgoing;
use sagaflow_bus::traceparent::MessageTrace;
use sagaflow_events::Envelope;
use sagaflow_saga_engine::{
    Action, Decision, Definition, Input, SagaEvent, SagaState, Status, decide, evolve,
};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::definitions::Definitions;
use crate::error::Error;
use crate::log;
use crate::progress;
use crate::timeouts;

/// Who a saga acts for, and the trace it belongs to; stored with the saga and
/// stamped on every command it sends.
#[derive(Debug, Clone)]
pub struct SagaContext {
    pub tenant_id: String,
    pub correlation_id: Uuid,
    pub traceparent: Option<String>,
}

/// What one input did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub state: SagaState,
    /// Events appended (0 for a duplicate or stale input).
    pub appended: usize,
    /// The commands it sent, in the order decided, exactly as written to the
    /// outbox (message id, topic, key, encoded payload); not the
    /// `SagaProgressed` / `SagaFinished` events that go with them.
    pub sent: Vec<Outgoing>,
}

/// Starts a saga on `def`. Starting an existing saga is a no-op (`None`).
pub async fn start(
    conn: &mut PgConnection,
    def: &Definition,
    saga_id: Uuid,
    input: Value,
    context: &SagaContext,
    cause: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Option<Applied>, Error> {
    if log::load_for_update(conn, saga_id).await?.is_some() {
        return Ok(None);
    }
    let decision = decide(def, None, &Input::Start { saga_id, input }, now)?;
    persist(conn, def, context, None, decision, cause, now)
        .await
        .map(Some)
}

/// Applies a reply, timer or operator input to an existing saga.
pub async fn apply(
    conn: &mut PgConnection,
    definitions: &Definitions,
    saga_id: Uuid,
    input: &Input,
    cause: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Applied, Error> {
    let loaded = log::load_for_update(conn, saga_id)
        .await?
        .ok_or(Error::NotFound(saga_id))?;
    let def = definitions
        .get(&loaded.state.definition, loaded.state.version)
        .ok_or_else(|| Error::UnknownDefinition {
            saga_id,
            name: loaded.state.definition.clone(),
            version: loaded.state.version,
        })?;
    let decision = decide(def, Some(&loaded.state), input, now)?;
    persist(
        conn,
        def,
        &loaded.context,
        Some(&loaded.state),
        decision,
        cause,
        now,
    )
    .await
}

async fn persist(
    conn: &mut PgConnection,
    def: &Definition,
    context: &SagaContext,
    before: Option<&SagaState>,
    decision: Decision,
    cause: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Applied, Error> {
    if decision.events.is_empty() {
        let state = before.cloned().ok_or(Error::Corrupt {
            saga_id: Uuid::nil(),
            reason: "a new saga decided nothing".into(),
        })?;
        return Ok(Applied {
            state,
            appended: 0,
            sent: Vec::new(),
        });
    }

    let mut entries = Vec::with_capacity(decision.events.len());
    let mut state = before.cloned();
    for event in &decision.events {
        record_step(def, state.as_ref(), event);
        let next = evolve(state.take(), event);
        entries.push(progress::entry(def, event, &next));
        state = Some(next);
    }
    let Some(after) = state else {
        return Err(Error::Corrupt {
            saga_id: Uuid::nil(),
            reason: "a decision with events folded to no state".into(),
        });
    };
    // What readers are told goes first (the decision's progress, then whether it
    // ended the saga), then the commands, as it always has.
    let mut outgoing = Vec::with_capacity(2 + decision.actions.len());
    outgoing.push(progress::progressed(context, def, &after, entries)?);
    if decision
        .actions
        .iter()
        .any(|a| matches!(a, Action::Finished { .. }))
    {
        outgoing.push(progress::finished(context, def, &after)?);
    }
    let progressed = outgoing.len();
    log::append(conn, context, before, &decision.events, &after).await?;
    if before.is_some() {
        timeouts::clear_stale(conn, after.saga_id, after.current.as_ref()).await?;
    }

    for action in &decision.actions {
        match action {
            Action::Send {
                command_id,
                message_type,
                topic,
                key,
                payload,
                ..
            } => {
                let bytes =
                    sagaflow_events::encode_json(message_type, payload).map_err(|source| {
                        Error::Encode {
                            message_type: (*message_type).to_owned(),
                            source,
                        }
                    })?;
                let mut envelope = Envelope::new(message_type, &context.tenant_id);
                envelope.message_id = *command_id;
                envelope.saga_id = Some(after.saga_id);
                envelope.correlation_id = context.correlation_id;
                envelope.causation_id = cause;
                MessageTrace::from_traceparent(context.traceparent.as_deref())
                    .child()
                    .write_to(&mut envelope);
                outgoing.push(Outgoing {
                    envelope,
                    topic: (*topic).to_owned(),
                    key: key.to_string(),
                    payload: bytes,
                });
            }
            Action::ScheduleTimeout {
                step,
                phase,
                attempt,
                at,
            } => timeouts::schedule(conn, after.saga_id, *step, *phase, *attempt, *at).await?,
            Action::Finished { status } => record_finished(def, &after, *status, now),
        }
    }
    sagaflow_bus::outbox::enqueue(conn, &outgoing).await?;
    Ok(Applied {
        appended: decision.events.len(),
        state: after,
        sent: outgoing.split_off(progressed),
    })
}

/// `sagaflow_saga_step_seconds{definition, step, outcome}`: how long the attempt
/// in flight took, from its command to the event that settled it.
fn record_step(def: &Definition, before: Option<&SagaState>, event: &SagaEvent) {
    let (step, outcome, at) = match event {
        SagaEvent::StepCompleted { step, at, .. } => (*step, "completed", *at),
        SagaEvent::StepFailed { step, at, .. } => (*step, "failed", *at),
        SagaEvent::StepTimedOut { step, at, .. } => (*step, "timed_out", *at),
        SagaEvent::StepCompensated { step, at, .. } => (*step, "compensated", *at),
        _ => return,
    };
    let Some(flight) = before.and_then(|s| s.current.as_ref()) else {
        return;
    };
    let Some(spec) = def.steps.get(step).filter(|_| flight.step == step) else {
        return;
    };
    let Ok(timeout) = chrono::Duration::from_std(spec.timeout) else {
        return;
    };
    let seconds = (at - (flight.deadline - timeout)).num_milliseconds().max(0) as f64 / 1000.0;
    metrics::histogram!(
        "sagaflow_saga_step_seconds",
        "definition" => def.name,
        "step" => spec.name,
        "outcome" => outcome,
    )
    .record(seconds);
}

fn record_finished(def: &Definition, state: &SagaState, status: Status, now: DateTime<Utc>) {
    let outcome = serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let seconds = (now - state.started_at).num_milliseconds().max(0) as f64 / 1000.0;
    metrics::histogram!("sagaflow_saga_duration_seconds", "definition" => def.name, "outcome" => outcome.clone())
        .record(seconds);
    metrics::counter!("sagaflow_sagas_finished_total", "definition" => def.name, "outcome" => outcome).increment(1);
    if status == Status::Compensated {
        metrics::counter!("sagaflow_saga_compensations_total", "definition" => def.name)
            .increment(1);
    }
}
