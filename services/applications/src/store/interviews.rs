//! The `interviews` table: interviews of an owned application (each with its
//! reminder, see [`reminders::sync_interview`]).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Error, Owner, bad_text, reminders};
use crate::interview::{
    Interview, InterviewFields, InterviewInput, InterviewKind, InterviewOutcome,
};

const COLUMNS: &str = "i.interview_id, i.application_id, i.kind, i.scheduled_at, \
     i.duration_minutes, i.interviewer, i.location, i.notes, i.outcome, i.created_at, i.updated_at";

#[derive(sqlx::FromRow)]
struct Row {
    interview_id: Uuid,
    application_id: Uuid,
    kind: String,
    scheduled_at: DateTime<Utc>,
    duration_minutes: Option<i32>,
    interviewer: Option<String>,
    location: Option<String>,
    notes: Option<String>,
    outcome: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Interview {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, sqlx::Error> {
        Ok(Interview {
            id: r.interview_id,
            application_id: r.application_id,
            fields: InterviewFields {
                kind: InterviewKind::parse(&r.kind).ok_or_else(|| bad_text("kind", &r.kind))?,
                scheduled_at: r.scheduled_at,
                duration_minutes: r.duration_minutes,
                interviewer: r.interviewer,
                location: r.location,
                notes: r.notes,
                outcome: InterviewOutcome::parse(&r.outcome)
                    .ok_or_else(|| bad_text("outcome", &r.outcome))?,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Locks the owner's application `id` (so it is not deleted meanwhile); NotFound
/// if it is not theirs.
pub(super) async fn owned(
    tx: &mut PgConnection,
    owner: &Owner,
    application_id: Uuid,
) -> Result<(), Error> {
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM applications
         WHERE application_id = $1 AND tenant_id = $2 AND user_id = $3 FOR KEY SHARE",
    )
    .bind(application_id)
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_optional(&mut *tx)
    .await?;
    found.map(|_| ()).ok_or(Error::NotFound("application"))
}

/// The interviews of the owner's application, earliest first.
pub async fn list(
    pool: &PgPool,
    owner: &Owner,
    application_id: Uuid,
) -> Result<Vec<Interview>, Error> {
    let mut tx = pool.begin().await?;
    owned(&mut tx, owner, application_id).await?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM interviews i WHERE i.application_id = $1
         ORDER BY i.scheduled_at, i.interview_id"
    ))
    .bind(application_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(Interview::try_from)
        .collect::<Result<_, _>>()?)
}

/// Adds an interview to the owner's application, with its reminder.
pub async fn create(
    pool: &PgPool,
    owner: &Owner,
    application_id: Uuid,
    fields: InterviewFields,
) -> Result<Interview, Error> {
    let mut tx = pool.begin().await?;
    owned(&mut tx, owner, application_id).await?;
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO interviews AS i (interview_id, application_id, kind, scheduled_at,
             duration_minutes, interviewer, location, notes, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(application_id)
    .bind(fields.kind.as_str())
    .bind(fields.scheduled_at)
    .bind(fields.duration_minutes)
    .bind(&fields.interviewer)
    .bind(&fields.location)
    .bind(&fields.notes)
    .bind(fields.outcome.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let interview = Interview::try_from(row)?;
    reminders::sync_interview(&mut tx, owner, &interview, Utc::now()).await?;
    tx.commit().await?;
    Ok(interview)
}

/// Applies `input` to an interview of the owner's application, moving or cancelling
/// its reminder to match.
pub async fn update(
    pool: &PgPool,
    owner: &Owner,
    application_id: Uuid,
    interview_id: Uuid,
    input: InterviewInput,
) -> Result<Interview, Error> {
    let mut tx = pool.begin().await?;
    owned(&mut tx, owner, application_id).await?;
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM interviews i
         WHERE i.interview_id = $1 AND i.application_id = $2 FOR UPDATE"
    ))
    .bind(interview_id)
    .bind(application_id)
    .fetch_optional(&mut *tx)
    .await?;
    let current = Interview::try_from(row.ok_or(Error::NotFound("interview"))?)?;
    let mut fields = current.fields;
    input.apply(&mut fields)?;
    let row: Row = sqlx::query_as(&format!(
        "UPDATE interviews AS i SET kind = $2, scheduled_at = $3, duration_minutes = $4,
             interviewer = $5, location = $6, notes = $7, outcome = $8, updated_at = now()
         WHERE i.interview_id = $1
         RETURNING {COLUMNS}"
    ))
    .bind(interview_id)
    .bind(fields.kind.as_str())
    .bind(fields.scheduled_at)
    .bind(fields.duration_minutes)
    .bind(&fields.interviewer)
    .bind(&fields.location)
    .bind(&fields.notes)
    .bind(fields.outcome.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let interview = Interview::try_from(row)?;
    reminders::sync_interview(&mut tx, owner, &interview, Utc::now()).await?;
    tx.commit().await?;
    Ok(interview)
}

/// Deletes an interview of the owner's application.
pub async fn delete(
    pool: &PgPool,
    owner: &Owner,
    application_id: Uuid,
    interview_id: Uuid,
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    owned(&mut tx, owner, application_id).await?;
    let done =
        sqlx::query("DELETE FROM interviews WHERE interview_id = $1 AND application_id = $2")
            .bind(interview_id)
            .bind(application_id)
            .execute(&mut *tx)
            .await?;
    tx.commit().await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::NotFound("interview"))
    }
}
