//! The sagas a plan starts (`plan_children`): registered when the plan is made
//! (their ids are in the stored commands), marked requested when the start
//! command is emitted, and followed through their `SagaFinished` events (typed:
//! status, reason, result). A child's outcome becomes an input of the plan saga
//! (see `crate::shapes` for the reply names).

use chrono::{DateTime, Utc};
use sagaflow_events::messages::SagaFinished;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::caller::Caller;
use crate::shapes::{CHILD_COMPENSATED, CHILD_COMPLETED, CHILD_NEEDS_OPERATOR, PlannedStep};

/// A child saga of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Child {
    pub saga_id: Uuid,
    pub plan_id: Uuid,
    pub step: i32,
    pub step_name: String,
    pub definition: String,
    pub requested_at: Option<DateTime<Utc>>,
    pub status: Option<String>,
    pub failure: Option<String>,
    pub document_id: Option<Uuid>,
}

impl Child {
    /// The plan-saga input this child's status means, once it has settled.
    pub fn reply(&self) -> Option<&'static str> {
        match self.status.as_deref()? {
            "completed" => Some(CHILD_COMPLETED),
            "compensated" => Some(CHILD_COMPENSATED),
            "failed" | "compensation_failed" => Some(CHILD_NEEDS_OPERATOR),
            _ => None,
        }
    }

    /// The payload of that input (the step's result in the plan saga's data).
    pub fn reply_payload(&self) -> Value {
        json!({
            "saga_id": self.saga_id,
            "definition": self.definition,
            "status": self.status,
            "reason": self.failure,
            "document_id": self.document_id,
        })
    }

    /// The gateway path of the child saga.
    pub fn path(&self) -> String {
        path(self.saga_id)
    }
}

/// The gateway path of a saga.
pub fn path(saga_id: Uuid) -> String {
    format!("/v1/sagas/{saga_id}")
}

const COLUMNS: &str =
    "saga_id, plan_id, step, step_name, definition, requested_at, status, failure, document_id";

fn from_row(row: &sqlx::postgres::PgRow) -> Result<Child, sqlx::Error> {
    Ok(Child {
        saga_id: row.try_get("saga_id")?,
        plan_id: row.try_get("plan_id")?,
        step: row.try_get("step")?,
        step_name: row.try_get("step_name")?,
        definition: row.try_get("definition")?,
        requested_at: row.try_get("requested_at")?,
        status: row.try_get("status")?,
        failure: row.try_get("failure")?,
        document_id: row.try_get("document_id")?,
    })
}

/// Registers the sagas `steps` of `caller`'s plan start.
pub async fn register(
    conn: &mut PgConnection,
    caller: &Caller,
    plan_id: Uuid,
    steps: &[PlannedStep],
) -> Result<(), sqlx::Error> {
    for (index, step) in steps.iter().enumerate() {
        if let Some(child) = &step.starts_saga {
            sqlx::query(
                "INSERT INTO plan_children (saga_id, plan_id, step, step_name, definition,
                                            tenant_id, user_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (saga_id) DO NOTHING",
            )
            .bind(child.saga_id)
            .bind(plan_id)
            .bind(index as i32)
            .bind(&step.name)
            .bind(&child.definition)
            .bind(&caller.tenant_id)
            .bind(&caller.user_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Marks the child as requested (its start command was emitted).
pub async fn requested(conn: &mut PgConnection, saga_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE plan_children SET requested_at = coalesce(requested_at, now()), updated_at = now()
         WHERE saga_id = $1",
    )
    .bind(saga_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The child started by step `step` of the plan, if any.
pub async fn of_step(
    conn: &mut PgConnection,
    plan_id: Uuid,
    step: usize,
) -> Result<Option<Child>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM plan_children WHERE plan_id = $1 AND step = $2"
    ))
    .bind(plan_id)
    .bind(step as i32)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every child of the plan, in step order.
pub async fn of_plan(conn: &mut PgConnection, plan_id: Uuid) -> Result<Vec<Child>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM plan_children WHERE plan_id = $1 ORDER BY step"
    ))
    .bind(plan_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The plan that started saga `saga_id`, if a plan did.
pub async fn plan_of(conn: &mut PgConnection, saga_id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT plan_id FROM plan_children WHERE saga_id = $1")
        .bind(saga_id)
        .fetch_optional(conn)
        .await
}

/// Applies a child's `SagaFinished` to it. Returns the child when its status
/// changed (a finish older than the last one seen is skipped).
pub async fn observe(
    conn: &mut PgConnection,
    event: &SagaFinished,
) -> Result<Option<(Child, Option<String>)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, last_seq FROM plan_children WHERE saga_id = $1 FOR UPDATE"
    ))
    .bind(event.saga_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut child = from_row(&row)?;
    let last_seq: i64 = row.try_get("last_seq")?;
    if event.seq <= last_seq {
        return Ok(None);
    }
    let before = child.status.clone();
    child.status = Some(event.status.as_str().to_owned());
    child.failure = event.reason.clone().or(child.failure);
    child.document_id = event
        .result
        .as_ref()
        .filter(|r| r.name == sagaflow_saga_generation::steps::RESULT_DOCUMENT_ID)
        .map(|r| r.id)
        .or(child.document_id);
    sqlx::query(
        "UPDATE plan_children SET status = $2, last_seq = $3, failure = $4,
                                  document_id = $5, updated_at = now()
         WHERE saga_id = $1",
    )
    .bind(child.saga_id)
    .bind(&child.status)
    .bind(event.seq)
    .bind(&child.failure)
    .bind(child.document_id)
    .execute(&mut *conn)
    .await?;
    if child.status == before {
        return Ok(None);
    }
    Ok(Some((child, before)))
}
