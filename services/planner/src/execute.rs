//! Running a plan: the plan is a saga on its shape's definition, driven by the
//! saga store (`start` / `apply`) in the caller's transaction, which also holds
//! the plan's row lock. After every decision the new saga events are mirrored
//! into the audit log (a `command_sent` becomes `command_emitted` with the topic
//! and payload of the command the driver sent, from [`Applied::sent`]), the plan's status
//! follows the saga's, and a step waiting on a child saga that has already
//! settled is settled at once (a compensation `CancelSaga` sent to a finished
//! generation gets no further progress event).
//!
//! Every plan command carries the plan id as its causation and correlation id,
//! and the caller's tenant in its envelope (the saga context).

use chrono::Utc;
use sagaflow_saga_engine::{Input, Phase, SagaEvent};
use sagaflow_saga_store::{Applied, Definitions, SagaContext};
use serde_json::{Value, json};
use sqlx::PgConnection;
use tracing::debug;
use uuid::Uuid;

use crate::audit::{self, kind};
use crate::children;
use crate::error::Error;
use crate::shapes::PlanInput;
use crate::store::{self, Plan};

/// How many child settlements one input may chain (a plan has at most two steps).
const MAX_SETTLEMENTS: usize = 4;

/// Starts the plan's saga (the plan's row is locked or was just inserted).
pub async fn start(
    conn: &mut PgConnection,
    definitions: &Definitions,
    plan: &Plan,
) -> Result<(), Error> {
    let shape = plan
        .shape
        .ok_or_else(|| Error::corrupt(plan.plan_id, "a plan without a shape cannot run"))?;
    let def = definitions
        .latest(shape.name())
        .ok_or_else(|| Error::corrupt(plan.plan_id, format!("{} is not deployed", shape.name())))?;
    let input = PlanInput {
        plan_id: plan.plan_id,
        tenant_id: plan.caller.tenant_id.clone(),
        user_id: plan.caller.user_id.clone(),
        shape,
        steps: plan.steps.clone(),
    };
    let input =
        serde_json::to_value(&input).map_err(|e| Error::corrupt(plan.plan_id, e.to_string()))?;
    let context = SagaContext {
        tenant_id: plan.caller.tenant_id.clone(),
        correlation_id: plan.plan_id,
        traceparent: plan.traceparent.clone(),
    };
    audit::record(
        conn,
        plan,
        kind::PLAN_STARTED,
        json!({
            "saga_id": plan.plan_id,
            "definition": def.name,
            "version": def.version,
            "path": children::path(plan.plan_id),
        }),
    )
    .await?;
    let started = sagaflow_saga_store::start(
        conn,
        def,
        plan.plan_id,
        input,
        &context,
        Some(plan.plan_id),
        Utc::now(),
    )
    .await?;
    if let Some(applied) = started {
        after(conn, definitions, plan, applied).await?;
    }
    Ok(())
}

/// Applies `input` to the plan saga `plan_id`. Returns false when there is no
/// such plan saga or the saga refused the input (stale, duplicate).
pub async fn apply(
    conn: &mut PgConnection,
    definitions: &Definitions,
    plan_id: Uuid,
    input: &Input,
) -> Result<bool, Error> {
    let Some(plan) = store::lock(conn, plan_id).await? else {
        return Ok(false);
    };
    apply_locked(conn, definitions, &plan, input).await
}

/// [`apply`] to a plan whose row the caller has locked.
pub(crate) async fn apply_locked(
    conn: &mut PgConnection,
    definitions: &Definitions,
    plan: &Plan,
    input: &Input,
) -> Result<bool, Error> {
    match decide(conn, definitions, plan.plan_id, input).await? {
        Some(applied) => {
            after(conn, definitions, plan, applied).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

async fn decide(
    conn: &mut PgConnection,
    definitions: &Definitions,
    plan_id: Uuid,
    input: &Input,
) -> Result<Option<Applied>, Error> {
    match sagaflow_saga_store::apply(conn, definitions, plan_id, input, Some(plan_id), Utc::now())
        .await
    {
        Ok(applied) if applied.appended > 0 => Ok(Some(applied)),
        Ok(_) => Ok(None),
        Err(sagaflow_saga_store::Error::NotFound(_)) => Ok(None),
        Err(sagaflow_saga_store::Error::Rejected(reason)) => {
            debug!(%plan_id, %reason, "plan input refused");
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// Mirrors what `applied` appended, then settles a step waiting on a settled child.
async fn after(
    conn: &mut PgConnection,
    definitions: &Definitions,
    plan: &Plan,
    mut applied: Applied,
) -> Result<(), Error> {
    for _ in 0..MAX_SETTLEMENTS {
        mirror(conn, plan, &applied).await?;
        let Some(current) = applied.state.current.clone() else {
            break;
        };
        let Some(child) = children::of_step(conn, plan.plan_id, current.step).await? else {
            break;
        };
        let Some(reply) = child.reply() else { break };
        let input = Input::Reply {
            message_type: reply.to_owned(),
            payload: child.reply_payload(),
            causation_id: None,
        };
        match decide(conn, definitions, plan.plan_id, &input).await? {
            Some(next) => applied = next,
            None => break,
        }
    }
    Ok(())
}

/// Audits the saga events `applied` appended and sets the plan's status.
async fn mirror(conn: &mut PgConnection, plan: &Plan, applied: &Applied) -> Result<(), Error> {
    let first = applied.state.seq as i64 - applied.appended as i64;
    let events = sagaflow_saga_store::log::events(conn, plan.plan_id).await?;
    for (_, event) in events.into_iter().filter(|(seq, _)| *seq > first) {
        match &event {
            SagaEvent::CommandSent {
                step,
                step_name,
                phase,
                attempt,
                command_id,
                message_type,
                ..
            } => {
                let sent = applied
                    .sent
                    .iter()
                    .find(|sent| sent.envelope.message_id == *command_id)
                    .ok_or_else(|| {
                        Error::corrupt(
                            plan.plan_id,
                            format!("command {command_id} was logged but not sent"),
                        )
                    })?;
                let topic = &sent.topic;
                let (_, payload) = sagaflow_events::decode_json(&sent.payload)?;
                let starts = match phase {
                    Phase::Forward => plan.steps.get(*step).and_then(|s| s.starts_saga.clone()),
                    Phase::Compensation => None,
                };
                if let Some(child) = &starts {
                    children::requested(conn, child.saga_id).await?;
                }
                audit::record(
                    conn,
                    plan,
                    kind::COMMAND_EMITTED,
                    json!({
                        "step": step,
                        "step_name": step_name,
                        "phase": phase,
                        "attempt": attempt,
                        "command_id": command_id,
                        "topic": topic,
                        "message_type": message_type,
                        "tenant_id": plan.caller.tenant_id,
                        "causation_id": plan.plan_id,
                        "payload": payload,
                        "starts_saga": starts.map(|c| json!({
                            "saga_id": c.saga_id,
                            "definition": c.definition,
                            "path": children::path(c.saga_id),
                        })),
                    }),
                )
                .await?;
            }
            other => {
                let detail = serde_json::to_value(other).unwrap_or(Value::Null);
                audit::record(conn, plan, &sagaflow_saga_store::log::kind(other), detail).await?;
            }
        }
    }
    store::set_status(
        conn,
        plan.plan_id,
        &sagaflow_saga_store::log::status_text(&applied.state),
    )
    .await?;
    Ok(())
}
