//! What `GET /v1/assistant/plans/{id}` shows: everything about a plan — the
//! request, the intent, the steps and where each is, the validation and budget,
//! the confirmation, what would be emitted, what was emitted, the sagas (the plan's
//! own and the ones it started, with their `/v1/sagas/{id}` paths) and the log.

use chrono::{DateTime, Utc};
use sagaflow_saga_engine::{Phase, SagaState};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::audit::kind;
use crate::caller::Caller;
use crate::children::{self, Child};
use crate::error::Error;
use crate::intent::ParsedIntent;
use crate::shapes::Command;
use crate::store::{self, Plan};
use crate::validate::Validation;

/// The whole plan.
#[derive(Debug, Serialize)]
pub struct PlanView {
    pub plan_id: Uuid,
    pub status: String,
    pub shape: Option<&'static str>,
    pub request: RequestView,
    pub intent: ParsedIntent,
    pub steps: Vec<StepView>,
    pub validation: Validation,
    pub confirmation: ConfirmationView,
    /// The forward commands, in order, as they would be (or were first) emitted.
    pub would_emit: Vec<Command>,
    /// Every command emitted so far (forward and compensations, retries included).
    pub emitted: Vec<EmittedView>,
    /// The plan's own saga and the sagas it started.
    pub sagas: Vec<SagaLink>,
    pub log: Vec<LogEntry>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct RequestView {
    pub text: String,
    pub dry_run: bool,
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StepView {
    pub index: usize,
    pub name: String,
    /// `not_started`, `pending`, `running`, `completed`, `failed`, `abandoned`,
    /// `compensating`, `compensated`.
    pub status: &'static str,
    pub command: Command,
    pub compensation: Option<Command>,
    pub starts_saga: Option<SagaLink>,
}

#[derive(Debug, Serialize)]
pub struct ConfirmationView {
    pub required: bool,
    pub reason: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When an unconfirmed plan expires.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct EmittedView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub detail: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct SagaLink {
    pub saga_id: Uuid,
    pub definition: String,
    /// `plan` (this plan's saga) or the step that started it.
    pub role: String,
    /// Known status, if the saga has started.
    pub status: Option<String>,
    pub requested: bool,
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct LogEntry {
    pub seq: i64,
    pub kind: String,
    pub detail: Value,
    pub at: DateTime<Utc>,
}

/// The view of `caller`'s plan `plan_id`, if it exists.
pub async fn load(
    conn: &mut PgConnection,
    caller: &Caller,
    plan_id: Uuid,
) -> Result<Option<(Plan, PlanView)>, Error> {
    let Some(plan) = store::get_owned(conn, caller, plan_id).await? else {
        return Ok(None);
    };
    let log: Vec<LogEntry> = sqlx::query(
        "SELECT seq, kind, detail, at FROM plan_log
             WHERE plan_id = $1 AND tenant_id = $2 AND user_id = $3 ORDER BY seq",
    )
    .bind(plan_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        let Json(detail): Json<Value> = row.try_get("detail")?;
        Ok(LogEntry {
            seq: row.try_get("seq")?,
            kind: row.try_get("kind")?,
            detail,
            at: row.try_get("at")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    let state: Option<SagaState> = sqlx::query("SELECT state FROM sagas WHERE saga_id = $1")
        .bind(plan_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<Json<SagaState>, _>("state").map(|Json(s)| s))
        .transpose()
        .map_err(|e| Error::corrupt(plan_id, format!("saga state: {e}")))?;
    let kids = children::of_plan(conn, plan_id).await?;
    let link = |child: &Child| SagaLink {
        saga_id: child.saga_id,
        definition: child.definition.clone(),
        role: child.step_name.clone(),
        status: child.status.clone(),
        requested: child.requested_at.is_some(),
        path: child.path(),
    };
    let failed_step = log
        .iter()
        .rev()
        .find(|e| e.kind == "step_failed")
        .and_then(|e| e.detail.get("step").and_then(Value::as_u64))
        .map(|s| s as usize);
    let steps = plan
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| StepView {
            index,
            name: step.name.clone(),
            status: step_status(state.as_ref(), index, failed_step),
            command: step.command.clone(),
            compensation: step.compensation.clone(),
            starts_saga: step
                .starts_saga
                .as_ref()
                .and_then(|c| kids.iter().find(|k| k.saga_id == c.saga_id))
                .map(link),
        })
        .collect();
    let emitted = log
        .iter()
        .filter(|e| e.kind == kind::COMMAND_EMITTED)
        .map(|e| EmittedView {
            seq: e.seq,
            at: e.at,
            detail: e.detail.clone(),
        })
        .collect();
    let mut sagas = Vec::new();
    if let Some(state) = &state {
        sagas.push(SagaLink {
            saga_id: plan_id,
            definition: state.definition.clone(),
            role: "plan".to_owned(),
            status: Some(sagaflow_saga_store::log::status_text(state)),
            requested: true,
            path: children::path(plan_id),
        });
    }
    sagas.extend(kids.iter().filter(|k| k.requested_at.is_some()).map(link));
    let view = PlanView {
        plan_id,
        status: plan.status.clone(),
        shape: plan.shape.map(|s| s.name()),
        request: RequestView {
            text: plan.text.clone(),
            dry_run: plan.dry_run,
            request_id: plan.request_id.clone(),
        },
        intent: plan.intent.clone(),
        steps,
        validation: plan.validation.clone(),
        confirmation: ConfirmationView {
            required: plan.validation.needs_confirmation,
            reason: plan.validation.confirmation_reason.clone(),
            confirmed_at: plan.confirmed_at,
            expires_at: plan.expires_at,
        },
        would_emit: plan.steps.iter().map(|s| s.command.clone()).collect(),
        emitted,
        sagas,
        log,
        created_at: plan.created_at,
        updated_at: plan.updated_at,
    };
    Ok(Some((plan, view)))
}

fn step_status(state: Option<&SagaState>, index: usize, failed: Option<usize>) -> &'static str {
    let Some(state) = state else {
        return "not_started";
    };
    if state.compensated.contains(&index) {
        return "compensated";
    }
    if let Some(current) = state.current.as_ref().filter(|c| c.step == index) {
        return match current.phase {
            Phase::Forward => "running",
            Phase::Compensation => "compensating",
        };
    }
    if state.completed.contains(&index) {
        return "completed";
    }
    if state.abandoned.contains(&index) {
        return "abandoned";
    }
    if failed == Some(index) {
        return "failed";
    }
    "pending"
}
