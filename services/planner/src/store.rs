//! The `plans` table: one row per request, with its intent, drafted steps,
//! validation and status. Audit entries are appended under the row's lock
//! ([`lock`]), which every writer takes first. Reads on behalf of a caller go
//! through [`get_owned`] / [`lock_owned`], which select by tenant and user too.
//! An unconfirmed plan (awaiting confirmation, dry run) carries `expires_at`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::Error;
use crate::intent::ParsedIntent;
use crate::shapes::{PlannedStep, Shape};
use crate::validate::Validation;

/// A plan's status.
pub mod status {
    pub const REJECTED: &str = "rejected";
    pub const DRY_RUN: &str = "dry_run";
    pub const AWAITING_CONFIRMATION: &str = "awaiting_confirmation";
    pub const RUNNING: &str = "running";
    /// Not confirmed within `PLANNER_PLAN_TTL_SECS`.
    pub const EXPIRED: &str = "expired";
    /// Statuses still waiting for a confirmation.
    pub const UNCONFIRMED: [&str; 2] = [AWAITING_CONFIRMATION, DRY_RUN];
}

/// A plan as stored.
#[derive(Debug, Clone)]
pub struct Plan {
    pub plan_id: Uuid,
    pub caller: Caller,
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
    pub text: String,
    pub dry_run: bool,
    pub intent: ParsedIntent,
    pub shape: Option<Shape>,
    pub steps: Vec<PlannedStep>,
    pub validation: Validation,
    /// See [`status`]; once the saga runs, the saga's status.
    pub status: String,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When an unconfirmed plan can no longer be confirmed.
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A plan in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub plan_id: Uuid,
    pub status: String,
    pub shape: Option<String>,
    pub intent: String,
    /// The start of the request text.
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub path: String,
}

/// Inserts a new plan.
pub async fn insert(conn: &mut PgConnection, plan: &Plan) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO plans (plan_id, tenant_id, user_id, request_id, traceparent, text, dry_run,
                            intent, shape, steps, validation, status, created_at, updated_at,
                            expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)",
    )
    .bind(plan.plan_id)
    .bind(&plan.caller.tenant_id)
    .bind(&plan.caller.user_id)
    .bind(&plan.request_id)
    .bind(&plan.traceparent)
    .bind(&plan.text)
    .bind(plan.dry_run)
    .bind(Json(&plan.intent))
    .bind(plan.shape.map(Shape::name))
    .bind(Json(&plan.steps))
    .bind(Json(&plan.validation))
    .bind(&plan.status)
    .bind(plan.created_at)
    .bind(plan.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

const COLUMNS: &str = "plan_id, tenant_id, user_id, request_id, traceparent, text, dry_run, intent,
                       shape, steps, validation, status, confirmed_at, expires_at, created_at,
                       updated_at";

fn from_row(row: &sqlx::postgres::PgRow) -> Result<Plan, Error> {
    let plan_id: Uuid = row.try_get("plan_id")?;
    let bad = |what: &str, err: sqlx::Error| Error::corrupt(plan_id, format!("{what}: {err}"));
    let Json(intent): Json<ParsedIntent> = row.try_get("intent").map_err(|e| bad("intent", e))?;
    let Json(steps): Json<Vec<PlannedStep>> = row.try_get("steps").map_err(|e| bad("steps", e))?;
    let Json(validation): Json<Validation> = row
        .try_get("validation")
        .map_err(|e| bad("validation", e))?;
    let shape: Option<String> = row.try_get("shape")?;
    let shape = match shape {
        None => None,
        Some(name) => Some(
            Shape::parse(&name)
                .ok_or_else(|| Error::corrupt(plan_id, format!("unknown shape {name}")))?,
        ),
    };
    Ok(Plan {
        plan_id,
        caller: Caller {
            tenant_id: row.try_get("tenant_id")?,
            user_id: row.try_get("user_id")?,
        },
        request_id: row.try_get("request_id")?,
        traceparent: row.try_get("traceparent")?,
        text: row.try_get("text")?,
        dry_run: row.try_get("dry_run")?,
        intent,
        shape,
        steps,
        validation,
        status: row.try_get("status")?,
        confirmed_at: row.try_get("confirmed_at")?,
        expires_at: row.try_get("expires_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Loads a plan and locks its row until the transaction ends.
pub async fn lock(conn: &mut PgConnection, plan_id: Uuid) -> Result<Option<Plan>, Error> {
    select_locked(conn, plan_id, "FOR UPDATE").await
}

/// [`lock`] without waiting: `None` when the plan is missing *or* its row is
/// locked by another transaction (tell them apart with [`get`]).
pub async fn try_lock(conn: &mut PgConnection, plan_id: Uuid) -> Result<Option<Plan>, Error> {
    select_locked(conn, plan_id, "FOR UPDATE SKIP LOCKED").await
}

async fn select_locked(
    conn: &mut PgConnection,
    plan_id: Uuid,
    locking: &str,
) -> Result<Option<Plan>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM plans WHERE plan_id = $1 {locking}"
    ))
    .bind(plan_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Loads a plan.
pub async fn get(conn: &mut PgConnection, plan_id: Uuid) -> Result<Option<Plan>, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM plans WHERE plan_id = $1"))
        .bind(plan_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Loads `caller`'s plan `plan_id` (another tenant's or user's is `None`).
pub async fn get_owned(
    conn: &mut PgConnection,
    caller: &Caller,
    plan_id: Uuid,
) -> Result<Option<Plan>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM plans WHERE plan_id = $1 AND tenant_id = $2 AND user_id = $3"
    ))
    .bind(plan_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// [`get_owned`], with the row locked until the transaction ends.
pub async fn lock_owned(
    conn: &mut PgConnection,
    caller: &Caller,
    plan_id: Uuid,
) -> Result<Option<Plan>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM plans WHERE plan_id = $1 AND tenant_id = $2 AND user_id = $3
         FOR UPDATE"
    ))
    .bind(plan_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Sets the status.
pub async fn set_status(conn: &mut PgConnection, plan_id: Uuid, status: &str) -> Result<(), Error> {
    sqlx::query("UPDATE plans SET status = $2, updated_at = now() WHERE plan_id = $1")
        .bind(plan_id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a new validation (at confirmation) and the status it leads to.
pub async fn revalidated(
    conn: &mut PgConnection,
    plan_id: Uuid,
    validation: &Validation,
    status: &str,
    confirmed: bool,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE plans SET validation = $2, status = $3, updated_at = now(),
                          confirmed_at = CASE WHEN $4 THEN now() ELSE confirmed_at END
         WHERE plan_id = $1",
    )
    .bind(plan_id)
    .bind(Json(validation))
    .bind(status)
    .bind(confirmed)
    .execute(conn)
    .await?;
    Ok(())
}

/// The caller's plans, newest first.
pub async fn list(
    conn: &mut PgConnection,
    caller: &Caller,
    limit: i64,
) -> Result<Vec<Summary>, Error> {
    let rows = sqlx::query(
        "SELECT plan_id, status, shape, intent->'intent'->>'intent' AS intent, left(text, 120) AS text,
                created_at, updated_at
         FROM plans WHERE tenant_id = $1 AND user_id = $2
         ORDER BY created_at DESC, plan_id DESC LIMIT $3",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let plan_id: Uuid = row.try_get("plan_id")?;
            Ok(Summary {
                plan_id,
                status: row.try_get("status")?,
                shape: row.try_get("shape")?,
                intent: row
                    .try_get::<Option<String>, _>("intent")?
                    .unwrap_or_default(),
                text: row.try_get("text")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                path: format!("/v1/assistant/plans/{plan_id}"),
            })
        })
        .collect()
}

/// Deletes plans with everything kept about them: the audit log, the children,
/// and the plan sagas in the saga store's tables (their input holds the
/// payloads). Returns how many plans went.
pub async fn delete_plans(conn: &mut PgConnection, plan_ids: &[Uuid]) -> Result<u64, Error> {
    if plan_ids.is_empty() {
        return Ok(0);
    }
    for statement in [
        "DELETE FROM plan_log WHERE plan_id = ANY($1)",
        "DELETE FROM plan_children WHERE plan_id = ANY($1)",
        "DELETE FROM saga_timeouts WHERE saga_id = ANY($1)",
        "DELETE FROM saga_events WHERE saga_id = ANY($1)",
        "DELETE FROM sagas WHERE saga_id = ANY($1)",
    ] {
        sqlx::query(statement)
            .bind(plan_ids)
            .execute(&mut *conn)
            .await?;
    }
    let deleted = sqlx::query("DELETE FROM plans WHERE plan_id = ANY($1)")
        .bind(plan_ids)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted)
}
