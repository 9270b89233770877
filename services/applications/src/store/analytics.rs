//! Loads the facts of [`crate::analytics::compute`] for one owner.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Error, Owner, bad_text};
use crate::analytics::{ApplicationFacts, InterviewFacts};
use crate::interview::InterviewOutcome;
use crate::status::Status;

/// The owner's applications and interviews, as analytics sees them.
pub async fn facts(
    pool: &PgPool,
    owner: &Owner,
) -> Result<(Vec<ApplicationFacts>, Vec<InterviewFacts>), Error> {
    let apps: Vec<(Uuid, String, Option<DateTime<Utc>>, bool)> = sqlx::query_as(
        "SELECT a.application_id, a.status, a.applied_at,
                EXISTS (SELECT 1 FROM status_changes c WHERE c.application_id = a.application_id
                        AND c.to_status IN ('interviewing', 'offer', 'accepted', 'rejected'))
         FROM applications a WHERE a.tenant_id = $1 AND a.user_id = $2",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_all(pool)
    .await?;
    let interviews: Vec<(Uuid, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT i.application_id, i.scheduled_at, i.outcome
         FROM interviews i JOIN applications a USING (application_id)
         WHERE a.tenant_id = $1 AND a.user_id = $2",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_all(pool)
    .await?;
    let apps = apps
        .into_iter()
        .map(|(id, status, applied_at, answered)| {
            Ok(ApplicationFacts {
                id,
                status: Status::parse(&status).ok_or_else(|| bad_text("status", &status))?,
                applied_at,
                reached_response_status: answered,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let interviews = interviews
        .into_iter()
        .map(|(application_id, scheduled_at, outcome)| {
            Ok(InterviewFacts {
                application_id,
                scheduled_at,
                outcome: InterviewOutcome::parse(&outcome)
                    .ok_or_else(|| bad_text("outcome", &outcome))?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok((apps, interviews))
}
